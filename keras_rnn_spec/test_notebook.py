"""Chapter 1: the notebook, cell by cell.

The notes (shared/notes/seed-notebook.txt) run LSTM(5) on N(0, 1) data of shape (2, 10, 3) through
`Model(...).predict`, with `reset_graph(2)` before each cell, and print what comes back. Each test
here asserts what one cell printed: the structure and shapes, and the equalities visible between
the printed arrays. The printed values themselves came from TensorFlow 1's initialisers and are not
expected to reproduce. The notebook's LSTM generalises to SimpleRNN and GRU, which return one state
where the LSTM returns h and c.
"""

import numpy as np

from keras_rnn_spec.catalogue import DEFAULT, FLAGS, LSTM, SEQUENCES, SEQUENCES_STATE, STATE
from keras_rnn_spec.cases import reproduced_by
from keras_rnn_spec.observe import NOTES_DIMS, Case, observe
from keras_rnn_spec.parameters import each_layer, or_skipped, over_layers
from keras_rnn_spec.semantics import returned_names

NOTES_SEED = 2  # reset_graph(seed=2)
CELL_5_FORMAT = ": shape {} values \n {}\n"  # In [5] prints each array as print("_h" + CELL_5_FORMAT.format(...))



def notebook_case(layer, flags) -> Case:
    """The notebook's cell for these flags: seeded default initialisers, predict, the notes' sizes."""
    return Case(layer, flags, "predict", NOTES_DIMS, keras_seed=NOTES_SEED)


def cell(layer, flags):
    """What the notebook's cell for these flags printed, recomputed."""
    return observe(notebook_case(layer, flags))


def in_cell(flags):
    """Mark a claim about the notebook's cell for these flags: that cell is its case."""
    return reproduced_by(lambda layer: notebook_case(layer, flags))


@each_layer
@in_cell(DEFAULT)
def test_cell_3_default_output_is_batch_by_units(layer, verify):
    """In [3]: with neither flag, predict returns one array of shape (batch, units) = (2, 5).

    ```python
    assert output.shape == (2, 5)
    ```
    """
    verify.structure(cell(layer, DEFAULT).outputs, [(2, 5)], names=["output"])


@each_layer
@in_cell(SEQUENCES)
def test_cell_4_sequences_is_batch_by_steps_by_units(layer, verify):
    """In [4]: with return_sequences=True, predict returns one array of shape (2, 10, 5).

    ```python
    assert sequence.shape == (2, 10, 5)
    ```
    """
    verify.structure(cell(layer, SEQUENCES).outputs, [(2, 10, 5)], names=["output"])


@each_layer
@in_cell(SEQUENCES)
def test_cell_4_last_row_is_cell_3_output(layer, verify):
    """In [4]: the last step of each printed sequence is the row In [3] printed for that sample.

    ```python
    keras.utils.set_random_seed(2)  # In [3]: the same seed, neither flag
    layer = keras.layers.SimpleRNN(5)
    inputs = keras.Input(shape=(10, 3))
    output = keras.Model(inputs, layer(inputs)).predict(x, verbose=0)
    np.testing.assert_array_equal(sequence[:, -1], output)
    ```
    """
    verify.equal(cell(layer, SEQUENCES).output[:, -1], cell(layer, DEFAULT).output, what="In [4] sequence[:, -1] against In [3] output")


@each_layer
@in_cell(STATE)
def test_cell_5_returns_output_then_states(layer, verify, request):
    """In [5]: with return_state=True, predict returns [_h, h, c] for LSTM ([_h, h] with one state), each (2, 5).

    ```python
    assert output.shape == h.shape == (2, 5)
    ```
    """
    names = returned_names(Case(layer, STATE, "predict"))
    verify.structure(cell(layer, STATE).outputs, [(2, 5)] * len(names), names=names)
    if layer is LSTM:
        request.node.user_properties.append(("notebook example", notebook_example()))


@each_layer
@in_cell(STATE)
def test_cell_5_output_is_h(layer, verify):
    """In [5]: _h and h print the same numbers.

    ```python
    np.testing.assert_array_equal(output, h)
    ```
    """
    observed = cell(layer, STATE)
    verify.equal(observed.output, observed.states[0], what="In [5] _h against h")


@each_layer
@in_cell(STATE)
def test_cell_5_output_is_cell_3_output(layer, verify):
    """In [5]: _h prints what In [3] printed (same seed, same weights, same data).

    ```python
    keras.utils.set_random_seed(2)  # In [3]: the same seed, neither flag
    layer = keras.layers.SimpleRNN(5)
    inputs = keras.Input(shape=(10, 3))
    np.testing.assert_array_equal(output, keras.Model(inputs, layer(inputs)).predict(x, verbose=0))
    ```
    """
    verify.equal(cell(layer, STATE).output, cell(layer, DEFAULT).output, what="In [5] _h against In [3] output")


@over_layers("layer", lambda selected: or_skipped([layer for layer in selected.layers if "c" in layer.state_names], "a cell state c", selected))
@in_cell(STATE)
def test_cell_5_c_differs_from_h(layer, verify):
    """In [5]: c prints other numbers than h.

    ```python
    assert np.abs(c - h).max() >= 1e-3
    ```
    """
    h, c = cell(layer, STATE).states
    verify.differ(c, h, what="In [5] c against h", at_least=1e-3)


@each_layer
@in_cell(SEQUENCES_STATE)
def test_cell_6_returns_sequence_then_states(layer, verify):
    """In [6]: with both flags, predict returns [sequence (2, 10, 5), h (2, 5), c (2, 5)] (LSTM).

    ```python
    assert sequence.shape == (2, 10, 5) and h.shape == (2, 5)
    ```
    """
    names = returned_names(Case(layer, SEQUENCES_STATE, "predict"))
    shapes = [(2, 10, 5)] + [(2, 5)] * len(layer.state_names)
    verify.structure(cell(layer, SEQUENCES_STATE).outputs, shapes, names=names)


@each_layer
@in_cell(SEQUENCES_STATE)
def test_cell_6_last_row_is_h(layer, verify):
    """In [6]: the last step of the printed sequence is the printed h.

    ```python
    np.testing.assert_array_equal(sequence[:, -1], h)
    ```
    """
    observed = cell(layer, SEQUENCES_STATE)
    verify.equal(observed.output[:, -1], observed.states[0], what="In [6] sequence[:, -1] against h")


@each_layer
@in_cell(SEQUENCES_STATE)
def test_cell_6_states_are_cell_5_states(layer, verify):
    """In [6]: h and c print what In [5] printed for them.

    ```python
    keras.utils.set_random_seed(2)  # In [5]: the same seed, return_state alone
    cell_5 = layer.from_config({**layer.get_config(), "return_sequences": False})
    inputs = keras.Input(shape=(10, 3))
    _, h_of_cell_5, *_ = keras.Model(inputs, cell_5(inputs)).predict(x, verbose=0)  # output, h (, c)
    np.testing.assert_array_equal(h, h_of_cell_5)
    ```
    """
    for name, both, state_only in zip(layer.state_names, cell(layer, SEQUENCES_STATE).states, cell(layer, STATE).states, strict=True):
        verify.equal(both, state_only, what=f"In [6] {name} against In [5] {name}")


def notebook_example() -> dict:
    """In [5] as this run computed it, for the report's opening: the Keras code, what it printed, the
    equalities the notes point out, each with its largest difference, what each of the four
    configurations returned (In [3] to [6]: the flags, names and shapes) and the first sample's numbers
    (In [6]'s sequence, In [5]'s output, h and c), which the report prints and draws."""
    returned = dict(zip(("output", "h", "c"), cell(LSTM, STATE).outputs, strict=True))
    sequence, sequence_h, _ = cell(LSTM, SEQUENCES_STATE).outputs
    snippet = notebook_case(LSTM, STATE).snippet().splitlines()
    prints = [f"print({(name + CELL_5_FORMAT)!r}.format({name}.shape, {name}))" for name in returned]
    with np.printoptions(suppress=True):  # the notes' In [1]
        printed = [(name + CELL_5_FORMAT).format(array.shape, array) for name, array in returned.items()]
    output, h, c = returned.values()
    returns = [
        {"flags": flags.kwargs(), "names": returned_names(Case(LSTM, flags, "predict")), "shapes": [list(a.shape) for a in cell(LSTM, flags).outputs]}
        for flags in FLAGS
    ]
    sample = {"sequence": sequence[0], "output": output[0], "h": h[0], "c": c[0]}
    return {
        "returns": returns,
        "sample": {name: np.asarray(array, np.float64).tolist() for name, array in sample.items()},
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
