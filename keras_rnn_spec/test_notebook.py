"""Chapter 1: the notebook, cell by cell.

The notes (shared/notes/seed-notebook.txt) run LSTM(5) on N(0, 1) data of shape (2, 10, 3) through
`Model(...).predict`, with `reset_graph(2)` before each cell, and print what comes back. Each test
here asserts what one cell printed: the structure and shapes, and the equalities visible between
the printed arrays. The printed values themselves came from TensorFlow 1's initialisers and are not
expected to reproduce. The notebook's LSTM generalises to SimpleRNN and GRU, which return one state
where the LSTM returns h and c.
"""

import numpy as np
import pytest

from keras_rnn_spec.catalogue import DEFAULT, LAYERS, LSTM, SEQUENCES, SEQUENCES_STATE, STATE
from keras_rnn_spec.observe import NOTES_DIMS, Case, observe
from keras_rnn_spec.parameters import or_skipped
from keras_rnn_spec.semantics import returned_names

NOTES_SEED = 2  # reset_graph(seed=2)
CELL_5_FORMAT = ": shape {} values \n {}\n"  # In [5] prints each array as print("_h" + CELL_5_FORMAT.format(...))

layers = pytest.mark.parametrize("layer", LAYERS, ids=str)


def cell(layer, flags):
    """What the notebook's cell for these flags printed, recomputed: seeded default initialisers, predict."""
    return observe(Case(layer, flags, "predict", NOTES_DIMS, keras_seed=NOTES_SEED))


@pytest.fixture
def on(verify, layer):
    """The verify helper, bound to the notebook case of `layer` under the given flags."""
    return lambda flags: verify.about(Case(layer, flags, "predict", NOTES_DIMS, keras_seed=NOTES_SEED))


@layers
def test_cell_3_default_output_is_batch_by_units(layer, on):
    """In [3]: with neither flag, predict returns one array of shape (batch, units) = (2, 5)."""
    on(DEFAULT).structure(cell(layer, DEFAULT).outputs, [(2, 5)], names=["output"])


@layers
def test_cell_4_sequences_is_batch_by_steps_by_units(layer, on):
    """In [4]: with return_sequences=True, predict returns one array of shape (2, 10, 5)."""
    on(SEQUENCES).structure(cell(layer, SEQUENCES).outputs, [(2, 10, 5)], names=["output"])


@layers
def test_cell_4_last_row_is_cell_3_output(layer, on):
    """In [4]: the last step of each printed sequence is the row In [3] printed for that sample."""
    on(SEQUENCES).equal(cell(layer, SEQUENCES).output[:, -1], cell(layer, DEFAULT).output, what="In [4] sequence[:, -1] against In [3] output")


@layers
def test_cell_5_returns_output_then_states(layer, on, request):
    """In [5]: with return_state=True, predict returns [_h, h, c] for LSTM ([_h, h] with one state), each (2, 5)."""
    names = returned_names(Case(layer, STATE, "predict"))
    on(STATE).structure(cell(layer, STATE).outputs, [(2, 5)] * len(names), names=names)
    if layer is LSTM:
        request.node.user_properties.append(("notebook example", notebook_example()))


@layers
def test_cell_5_output_is_h(layer, on):
    """In [5]: _h and h print the same numbers."""
    observed = cell(layer, STATE)
    on(STATE).equal(observed.output, observed.states[0], what="In [5] _h against h")


@layers
def test_cell_5_output_is_cell_3_output(layer, on):
    """In [5]: _h prints what In [3] printed (same seed, same weights, same data)."""
    on(STATE).equal(cell(layer, STATE).output, cell(layer, DEFAULT).output, what="In [5] _h against In [3] output")


@pytest.mark.parametrize("layer", or_skipped([layer for layer in LAYERS if "c" in layer.state_names], "a cell state c"), ids=str)
def test_cell_5_c_differs_from_h(layer, on):
    """In [5]: c prints other numbers than h."""
    h, c = cell(layer, STATE).states
    on(STATE).differ(c, h, what="In [5] c against h", at_least=1e-3)


@layers
def test_cell_6_returns_sequence_then_states(layer, on):
    """In [6]: with both flags, predict returns [sequence (2, 10, 5), h (2, 5), c (2, 5)] (LSTM)."""
    names = returned_names(Case(layer, SEQUENCES_STATE, "predict"))
    shapes = [(2, 10, 5)] + [(2, 5)] * len(layer.state_names)
    on(SEQUENCES_STATE).structure(cell(layer, SEQUENCES_STATE).outputs, shapes, names=names)


@layers
def test_cell_6_last_row_is_h(layer, on):
    """In [6]: the last step of the printed sequence is the printed h."""
    observed = cell(layer, SEQUENCES_STATE)
    on(SEQUENCES_STATE).equal(observed.output[:, -1], observed.states[0], what="In [6] sequence[:, -1] against h")


@layers
def test_cell_6_states_are_cell_5_states(layer, on):
    """In [6]: h and c print what In [5] printed for them."""
    for name, both, state_only in zip(layer.state_names, cell(layer, SEQUENCES_STATE).states, cell(layer, STATE).states):
        on(SEQUENCES_STATE).equal(both, state_only, what=f"In [6] {name} against In [5] {name}")


def notebook_example() -> dict:
    """In [5] as this run computed it, for the report's opening: the Keras code, what it printed, and
    the equalities the notes point out, each with its largest difference."""
    returned = dict(zip(("output", "h", "c"), cell(LSTM, STATE).outputs))
    sequence, sequence_h, _ = cell(LSTM, SEQUENCES_STATE).outputs
    snippet = Case(LSTM, STATE, "predict", NOTES_DIMS, keras_seed=NOTES_SEED).snippet().splitlines()
    prints = [f"print({(name + CELL_5_FORMAT)!r}.format({name}.shape, {name}))" for name in returned]
    with np.printoptions(suppress=True):  # the notes' In [1]
        printed = [(name + CELL_5_FORMAT).format(array.shape, array) for name, array in returned.items()]
    output, h, c = returned.values()
    return {
        "code": "\n".join([*snippet[:-1], "np.set_printoptions(suppress=True)", *prints]),  # [:-1]: its own print
        "printed": "\n".join(printed).rstrip("\n"),
        "equalities": [
            ["output and h are the same numbers", "max |output - h|", largest_difference(output, h)],
            ["c is not h", "max |c - h|", largest_difference(c, h)],
            [
                "with return_sequences=True as well (In [6]), the last step of the sequence is h",
                "max |sequence[:, -1] - h|",
                largest_difference(sequence[:, -1], sequence_h),
            ],
        ],
    }


def largest_difference(first, second) -> float:
    return float(np.abs(np.asarray(first, np.float64) - np.asarray(second, np.float64)).max())
