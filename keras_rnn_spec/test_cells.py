"""Chapter 15: cells.

`keras.layers.RNN(cell)` runs one step of a cell over time; the layers SimpleRNN, GRU and LSTM are
RNN around SimpleRNNCell, GRUCell and LSTMCell. Sources: the RNN docstring ("cell: A RNN cell
instance or a list of RNN cell instances ... In the case that `cell` is a list of RNN cell
instances, the cells will be stacked on top of each other in the RNN"; "If `return_state`: a list
of tensors. The first tensor is the output. The remaining tensors are the last states") and the
StackedRNNCells docstring ("Wrapper allowing a stack of RNN cells to behave as a single cell").

What a stack returns as its states is not documented; Keras 3 nests them: one list per cell, in
the order of the cells, even for a cell with a single state and even for a one-cell list (Keras 2
returns a one-state cell's state bare: see keras_rnn_spec/known_differences.toml). A user's cell may output
something other than its state; RNN returns what the cell outputs as the output, and the cell's
states, each of its own size, as the states.

Under SPEC_LAYERS the first two claims run on the cells the user's catalogue entries name; the
stacks of built-in cells and the spec's own custom cell are Keras' classes, and skip.
"""

import functools
from dataclasses import dataclass, replace

import numpy as np
import pytest

from keras_rnn_spec import reference
from keras_rnn_spec.catalogue import (
    DEFAULT,
    FLAGS,
    GRU,
    LSTM,
    SIMPLE_RNN,
    Flags,
    RecurrentLayer,
    about_keras_own_classes,
    reference_outputs,
)
from keras_rnn_spec.observe import Case, Dims, Observation, build, inputs_for, observe
from keras_rnn_spec.parameters import over_layers
from keras_rnn_spec.semantics import final_output, output_of, returned_names
from keras_rnn_spec.subject import keras, to_numpy
from keras_rnn_spec.verify import chained_tolerance, reference_tolerance, same_function_tolerance

CELL_OF = {SIMPLE_RNN: keras.layers.SimpleRNNCell, GRU: keras.layers.GRUCell, LSTM: keras.layers.LSTMCell}
STEP_OF = {SIMPLE_RNN: reference.simple_rnn_step, GRU: reference.gru_step, LSTM: reference.lstm_step}


def class_code(cls: type) -> str:
    """How a reader reaches a class: keras.layers.LSTMCell, or the module that defines it."""
    public = getattr(keras.layers, cls.__name__, None)
    return f"{'keras.layers' if public is cls else cls.__module__}.{cls.__name__}"


def flags_code(flags: Flags) -> str:
    return "".join(f", {name}=True" for name, on in flags.kwargs().items() if on)


@dataclass(frozen=True, eq=False)
class CellInRNN(RecurrentLayer):
    """keras.layers.RNN around one cell of `layer_class` (a cell class) with the case's units."""

    def make(self, units: int, flags: Flags):
        return keras.layers.RNN(self.layer_class(units, **self.options), **flags.kwargs())

    def constructor_code(self, units: int, flags: Flags) -> str:
        return f"keras.layers.RNN({class_code(self.layer_class)}({units}){flags_code(flags)})"


def cell_list_code(cells) -> str:
    return "[" + ", ".join(f"{class_code(CELL_OF[layer])}({width})" for layer, width in cells) + "]"


@dataclass(frozen=True, eq=False)
class StackInRNN(RecurrentLayer):
    """keras.layers.RNN around a list of cells, each of its own width (the case's units are unused).

    `spelled_out`: the caller wraps the list in keras.layers.StackedRNNCells, instead of RNN.
    """

    cells: tuple[tuple[RecurrentLayer, int], ...] = ()
    spelled_out: bool = False

    def make(self, units: int, flags: Flags):
        cells = [CELL_OF[layer](width) for layer, width in self.cells]
        return keras.layers.RNN(keras.layers.StackedRNNCells(cells) if self.spelled_out else cells, **flags.kwargs())

    def constructor_code(self, units: int, flags: Flags) -> str:
        cells = cell_list_code(self.cells)
        cells = f"keras.layers.StackedRNNCells({cells})" if self.spelled_out else cells
        return f"keras.layers.RNN({cells}{flags_code(flags)})"


def chained_reference(cells, weights, inputs):
    """A stack in float64: at each step, cell after cell, each cell's output the next one's input.

    Returns the last cell's output sequence and the final states as one list per cell, in the
    cells' order.
    """
    steps, counts, states, offset = [], [], [], 0
    for layer, width in cells:
        steps.append(STEP_OF[layer](weights[offset : offset + 3]))  # every built-in cell has 3 weights
        counts.append(len(layer.state_names))
        states += [np.zeros((np.shape(inputs)[0], width)) for _ in layer.state_names]
        offset += 3

    def step(x_t, flat_states):
        new_states, start = [], 0
        for cell_step, count in zip(steps, counts, strict=True):
            x_t, cell_states = cell_step(x_t, flat_states[start : start + count])
            new_states += cell_states
            start += count
        return x_t, new_states

    sequence, flat = reference.scan(step, inputs, states)
    ends = np.cumsum(counts)
    return sequence, [flat[end - count : end] for count, end in zip(counts, ends, strict=True)]


def stack(*cells: tuple[RecurrentLayer, int], spelled_out: bool = False) -> StackInRNN:
    """The catalogue entry of RNN around these (layer kind, width) cells, named as Keras code reads."""
    listed = cell_list_code(cells).replace("keras.layers.", "").replace(" ", "")
    name = f"RNN(StackedRNNCells({listed}))" if spelled_out else f"RNN({listed})"
    reference_of_stack = functools.partial(chained_reference, cells)
    return StackInRNN(name, keras.layers.RNN, (), reference_of_stack, cells=cells, spelled_out=spelled_out)


class TwiceHCountingCell(keras.layers.Layer):
    """A user's cell whose output is not its state: a SimpleRNN cell that outputs 2 * h.

    Its states are h (units wide) and the number of steps taken so far (1 wide): a second state of
    another size than the output.
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.inner = keras.layers.SimpleRNNCell(units)
        self.state_size = [units, 1]
        self.output_size = units

    def build(self, input_shape):
        self.inner.build(input_shape)

    def call(self, inputs, states):
        h, count = states
        h, _ = self.inner(inputs, [h])
        return 2 * h, [h, count + 1]


def twice_h_counting_reference(weights, inputs):
    """TwiceHCountingCell in float64: the sequence of 2 * h, then the states h and the step count."""
    sequence, (h,) = reference.simple_rnn(weights, inputs)
    count = np.full((inputs.shape[0], 1), float(inputs.shape[1]))
    return 2 * sequence, [h, count]


# Each RNN(cell) entry, and the layer under test it should behave like: the catalogue names each
# layer's cell (SPEC_LAYERS: the user's own). A layer that names none is listed, skipped.
@functools.cache  # one entry per layer: the observation cache compares entries by identity
def cell_in_rnn(layer: RecurrentLayer) -> CellInRNN:
    return CellInRNN(f"RNN({layer.cell.__name__})", layer.cell, layer.state_names, layer.reference, derived_from=layer)


def cell_cases(selected) -> list:
    return [Case(cell_in_rnn(layer), flags, "call") for layer in selected.layers if layer.cell is not None for flags in FLAGS] + [
        pytest.param(Case(layer, DEFAULT, "call"), id=str(layer), marks=pytest.mark.skip(reason=f"{layer} names no cell"))
        for layer in selected.layers
        if layer.cell is None
    ]

# Cells of different kinds and widths, so that a state given to the wrong cell, or states in the
# wrong order, show in the shapes as well as in the numbers. The one-cell list shows that a list
# nests its states even when there is nothing to tell apart.
STACKS = (
    stack((LSTM, 5), (GRU, 4)),
    stack((SIMPLE_RNN, 5), (LSTM, 4), spelled_out=True),
    stack((GRU, 5)),
)
# Stacks and the custom cell run on a shorter sequence than the notes' (an eager call costs per step
# and per cell); five steps carry the recurrence through every state.
SHORT_DIMS = Dims(batch=2, timesteps=5, features=3, units=5)
STACK_CASES = [Case(entry, flags, "call", SHORT_DIMS) for entry in STACKS for flags in FLAGS]

CUSTOM = CellInRNN("RNN(TwiceHCountingCell)", TwiceHCountingCell, ("h", "count"), twice_h_counting_reference)
CUSTOM_CASES = [Case(CUSTOM, flags, "call", SHORT_DIMS) for flags in FLAGS]


def nested_numpy(value):
    """What a layer returned, as numpy arrays in lists that keep its nesting."""
    if isinstance(value, (list, tuple)):
        return [nested_numpy(item) for item in value]
    return to_numpy(value)


def shapes_of(value):
    """The nesting of a returned structure with each array replaced by its shape."""
    if isinstance(value, list):
        return [shapes_of(item) for item in value]
    return tuple(np.shape(value))


@functools.cache
def observe_nested(case: Case) -> Observation:
    """A stack's returned structure as nested numpy arrays, with its weights and inputs."""
    layer, forward = build(case)
    inputs = inputs_for(case.dims)
    returned = forward(inputs)
    outputs = nested_numpy(returned) if isinstance(returned, (list, tuple)) else [to_numpy(returned)]
    return Observation(outputs, [np.asarray(w) for w in layer.get_weights()], inputs)


def cell_sizes(entry: StackInRNN, dims: Dims) -> list[Dims]:
    """The sizes each cell of the stack runs at: its input is the previous cell's output."""
    widths = [width for _, width in entry.cells]
    return [replace(dims, features=features, units=width) for features, width in zip([dims.features, *widths], widths)]


@over_layers("case", cell_cases)
def test_rnn_of_a_cell_returns_what_the_layer_returns(case, verify):
    """RNN(SimpleRNNCell / GRUCell / LSTMCell) returns what SimpleRNN / GRU / LSTM return.

    With the same weights (the same list of arrays, set from the same seeded generator), the
    structure and the numbers agree within float32 rounding, under each of the four flag
    configurations.

    ```python
    # The layer of that cell, with the same weights:
    simple_rnn = keras.layers.SimpleRNN(5)
    simple_rnn.build(x.shape)
    simple_rnn.set_weights(layer.get_weights())
    np.testing.assert_allclose(output, simple_rnn(x), atol=2 * 4 * 10 * (3 + 5 + 1) * 2**-23)  # two float32 evaluations
    ```
    """
    layer = case.layer.derived_from
    observed, expected = observe(case), observe(Case(layer, case.flags, case.path))
    weight_shapes = [w.shape for w in observed.weights], [w.shape for w in expected.weights]
    verify.holds(
        weight_shapes[0] == weight_shapes[1],
        what=f"weight shapes against {layer}'s",
        details=f"RNN(cell) has weights {weight_shapes[0]}, {layer} has {weight_shapes[1]}",
    )
    names = returned_names(case)
    verify.structure(observed.outputs, [item.shape for item in expected.outputs], names=names)
    verify.each_equal(
        observed.outputs,
        expected.outputs,
        names=names,
        what="{name} against " + f"{layer}'s",
        atol=same_function_tolerance(case.dims),
        why="two float32 evaluations of the same equations",
    )


@over_layers("case", cell_cases)
def test_rnn_of_a_cell_matches_the_float64_reference(case, verify):
    """RNN(cell) with a built-in cell matches the float64 reference of the matching layer.

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    expected, _ = reference.simple_rnn(layer.get_weights(), x)
    np.testing.assert_allclose(output, expected[:, -1], atol=4 * 10 * (3 + 5 + 1) * 2**-23)  # 10 steps' rounding
    ```
    """
    observed = observe(case)
    names, expected = reference_outputs(case, observed.weights, observed.inputs)
    verify.structure(observed.outputs, [item.shape for item in expected], names=names)
    verify.match_reference(observed.outputs, expected, names=names, dims=case.dims)


def states_of_each_cell(returned_states: list) -> list[list]:
    """Each cell's returned states as a list, whether the layer wrapped a one-state cell's or not."""
    return [item if isinstance(item, list) else [item] for item in returned_states]


@about_keras_own_classes("RNN over lists of SimpleRNNCell, GRUCell and LSTMCell")
@pytest.mark.parametrize("case", STACK_CASES, ids=str)
def test_stacked_cells_return_their_states_nested_per_cell(case, verify, known):
    """RNN([cells]) returns the last cell's output, then one list of states per cell, in the cells' order.

    Each cell's list holds that cell's states in its own order (LSTMCell: [h, c]; SimpleRNNCell
    and GRUCell: [h]), also when the list has a single cell; each state is (batch, that cell's
    width). Without return_state, only the output.

    ```python
    assert output.shape == (2, 4)  # the last cell's output only: GRUCell(4) is 4 wide
    ```
    """
    # Keras 2 returns a one-state cell's state bare, not in a list (known differences table).
    one_state_in_a_list = known.value(True)
    outputs = observe_nested(case).outputs
    dims, last_width = case.dims, case.layer.cells[-1][1]
    output = (dims.batch, dims.timesteps, last_width) if case.flags.return_sequences else (dims.batch, last_width)
    expected = [output]
    if case.flags.return_state:
        for layer, width in case.layer.cells:
            states = [(dims.batch, width)] * len(layer.state_names)
            expected.append(states if len(states) > 1 or one_state_in_a_list else states[0])
    verify.holds(
        shapes_of(outputs) == expected,
        what="the returned structure, as shapes",
        details=f"observed {shapes_of(outputs)}; expected {expected}",
    )


@about_keras_own_classes("RNN over lists of SimpleRNNCell, GRUCell and LSTMCell")
@pytest.mark.parametrize("case", STACK_CASES, ids=str)
def test_stacked_cells_match_the_reference_chained_cell_after_cell(case, verify):
    """RNN([cells]) computes the cells one after the other at each step, as the float64 reference does.

    The output (or sequence) is the last cell's, and each cell's returned states are its own.

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    weights = layer.get_weights()  # LSTMCell's 3 arrays, then GRUCell's 3
    lstm_sequence, _ = reference.lstm(weights[:3], x)
    gru_sequence, _ = reference.gru(weights[3:], lstm_sequence)  # the second cell reads the first one's output
    # Each cell's float32 rounding, the first cell's carried through the second (keras_rnn_spec/verify.py, chained_tolerance):
    atol = (4 * 5 * (5 + 4 + 1) + 5 * 5 * 0.5 * 4 * 5 * (3 + 5 + 1)) * 2**-23
    np.testing.assert_allclose(output, gru_sequence[:, -1], atol=atol)
    ```
    """
    observed = observe_nested(case)
    outputs = observed.outputs
    sequence, states = case.layer.reference(observed.weights, observed.inputs)
    atol = chained_tolerance(cell_sizes(case.layer, case.dims))
    why = "float32 rounding of each cell, passed on to the next"
    expected_output = output_of(sequence, case.flags)
    verify.equal(outputs[0], expected_output, what="output against the reference", atol=atol, why=why)
    if case.flags.return_state:
        verify.holds(
            len(outputs) == 1 + len(states),
            what="number of returned entries",
            details=f"{len(outputs)} returned; expected the output and the states of {len(states)} cells",
        )
        cells = zip(case.layer.cells, states_of_each_cell(outputs[1:]), states, strict=True)
        for index, ((layer, _), got, want) in enumerate(cells):
            for name, got_state, want_state in zip(layer.state_names, got, want, strict=True):
                what = f"cell {index} state {name} against the reference"
                verify.equal(got_state, want_state, what=what, atol=atol, why=why)


@about_keras_own_classes("RNN around the spec's TwiceHCountingCell")
@pytest.mark.parametrize("case", CUSTOM_CASES, ids=str)
def test_a_custom_cell_returns_its_output_then_its_states(case, verify):
    """RNN(user's cell) returns the cell's output (of output_size), then each state of state_size, in order.

    For TwiceHCountingCell(5): output (batch, 5), or (batch, timesteps, 5) with return_sequences;
    with return_state, h (batch, 5) then the step count (batch, 1).

    ```python
    assert output.shape == (2, 5)  # the cell's output_size
    ```
    """
    dims = case.dims
    output = (dims.batch, dims.timesteps, dims.units) if case.flags.return_sequences else (dims.batch, dims.units)
    names, shapes = ["output"], [output]
    if case.flags.return_state:
        names += ["state h", "state count"]
        shapes += [(dims.batch, dims.units), (dims.batch, 1)]
    verify.structure(observe(case).outputs, shapes, names=names)


@about_keras_own_classes("RNN around the spec's TwiceHCountingCell")
@pytest.mark.parametrize("case", [case for case in CUSTOM_CASES if case.flags.return_state], ids=str)
def test_a_custom_cells_output_is_its_output_not_its_state(case, verify):
    """The returned output is what the cell outputs (2 * h), not its state: exactly twice the returned h.

    ```python
    np.testing.assert_array_equal(output, 2 * np.asarray(h))  # the cell's output, 2 * h, not h
    ```
    """
    observed = observe(case)
    h = observed.states[0]
    # Doubling a float32 is exact, and the layer returns the tensors the cell returned.
    verify.equal(final_output(observed.output, case.flags), 2 * h, what="final output against 2 * state h")


@about_keras_own_classes("RNN around the spec's TwiceHCountingCell")
@pytest.mark.parametrize("case", CUSTOM_CASES, ids=str)
def test_a_custom_cell_matches_its_float64_reference(case, verify):
    """RNN(user's cell) returns, at each step, what the cell's equations give in float64.

    The sequence holds every step's 2 * h, h is the last step's h, and the count is the number of
    timesteps.

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    expected, _ = reference.simple_rnn(layer.get_weights(), x)  # the inner SimpleRNNCell's h
    np.testing.assert_allclose(output, 2 * expected[:, -1], atol=2 * 4 * 5 * (3 + 5 + 1) * 2**-23)  # twice h's rounding
    ```
    """
    observed = observe(case)
    sequence, (h, count) = twice_h_counting_reference(observed.weights, observed.inputs)
    tolerance = reference_tolerance(case.dims)
    why = "float32 rounding over T steps"
    # (name, expected, tolerance): the output is 2 * h, so twice h's rounding; T additions of 1.0
    # in float32 are exact for any T below 2**24.
    expected = [("output", output_of(sequence, case.flags), 2 * tolerance)]
    if case.flags.return_state:
        expected += [("state h", h, tolerance), ("state count", count, 0.0)]
    verify.structure(observed.outputs, [want.shape for _, want, _ in expected], names=[name for name, _, _ in expected])
    for (name, want, atol), got in zip(expected, observed.outputs, strict=True):
        verify.equal(got, want, what=f"{name} against the reference", atol=atol, why=why)
