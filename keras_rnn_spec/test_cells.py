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

import pytest

from keras_rnn_spec.catalogue import about_keras_own_classes
from keras_rnn_spec.cells import (
    CUSTOM_CASES,
    STACK_CASES,
    cell_cases,
    cell_sizes,
    shapes_of,
    states_of_each_cell,
    twice_h_counting_reference,
)
from keras_rnn_spec.observe import Case, observe
from keras_rnn_spec.parameters import over_layers
from keras_rnn_spec.semantics import final_output, output_of, output_shape, returned_names
from keras_rnn_spec.verify import chained_tolerance, reference_tolerance, same_function_tolerance


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
    verify.matches_its_reference(case, observed.outputs, observed.weights, observed.inputs)


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
    outputs = observe(case).outputs
    dims, last_width = case.dims, case.layer.cells[-1][1]
    output = output_shape((dims.batch, last_width), dims.timesteps, case.flags.return_sequences)
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
    observed = observe(case)
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
    output = output_shape((dims.batch, dims.units), dims.timesteps, case.flags.return_sequences)
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
