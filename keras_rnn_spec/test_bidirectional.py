"""Chapter 11: Bidirectional. What the wrapper returns with return_state, and how its two halves line up.

Source: the `keras.layers.Bidirectional` docstring. "merge_mode: Mode by which outputs of the
forward and backward RNNs will be combined. One of {"sum", "mul", "concat", "ave", None}. If None,
the outputs will not be combined, they will be returned as a list." On `initial_state`: "the first
half in the list ... will be passed to the forward RNN call and the last half ... to the backward
RNN call." The docstring does not say in which order the states come back, nor how the backward
sequence lines up in time; both were found by running the layer (Keras 3) and reading tf-keras'
`Bidirectional.call` (the same logic), and are asserted here:

- returned: the merged output (two outputs with merge_mode=None), then the forward layer's final
  states, then the backward layer's, whatever the merge_mode;
- the backward layer is a copy of the wrapped layer with go_backwards=True; its sequence is flipped
  back into input order before merging, so step t of both halves belongs to input step t;
- `get_weights()` holds the forward layer's weights, then the backward layer's.

Every number is checked against the float64 reference (keras_rnn_spec/reference.py) run forward on the first
half of the weights and with go_backwards on the second half, merged as merge_mode documents.
"""

from keras_rnn_spec.bidirectional import (
    SEPARABLE,
    BidirectionalCase,
    all_cases,
    backward_h,
    backward_output,
    bidirectional_cases,
    documented_merge,
    last_cases,
    merged_tolerance,
    output_count,
    reference_directions,
)
from keras_rnn_spec.observe import observe
from keras_rnn_spec.parameters import over_layers
from keras_rnn_spec.semantics import output_shape


@over_layers("case", all_cases)
def test_returns_the_outputs_then_forward_states_then_backward_states(case, verify):
    """With return_state=True, Bidirectional returns its output(s), then the forward states, then the backward states.

    One merged output (two with merge_mode=None, forward then backward), then 2 x the wrapped layer's
    states: [output, h_fw, h_bw] for SimpleRNN and GRU, [output, h_fw, c_fw, h_bw, c_bw] for LSTM.
    The output is (batch, [timesteps,] units), twice as wide with concat; each state is (batch, units).

    ```python
    assert sequence.shape == (2, 5, 10)  # concat: twice the units
    assert h_forward.shape == h_backward.shape == (2, 5)
    ```
    """
    d = case.dims
    width = 2 * d.units if case.merge_mode == "concat" else d.units
    output = output_shape((d.batch, width), d.timesteps, case.return_sequences)
    output_names = ["output"] if case.merge_mode is not None else ["forward output", "backward output"]
    state_names = [f"{way} {name}" for way in ("forward", "backward") for name in case.layer.state_names]
    shapes = [output] * len(output_names) + [(d.batch, d.units)] * len(state_names)
    verify.structure(observe(case).outputs, shapes, names=output_names + state_names)


@over_layers("case", all_cases)
def test_states_are_the_forward_layers_then_the_backward_layers(case, verify):
    """The returned states are the forward layer's final states, then the go_backwards layer's, for any merge_mode.

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    weights = layer.get_weights()
    half = len(weights) // 2  # the forward layer's weights, then the backward layer's
    _, (expected_forward, *_) = reference.simple_rnn(weights[:half], x)
    _, (expected_backward, *_) = reference.simple_rnn(weights[half:], x, go_backwards=True)
    np.testing.assert_allclose(h_forward, expected_forward, atol=4 * 5 * (3 + 5 + 1) * 2**-23)  # 5 steps' rounding
    np.testing.assert_allclose(h_backward, expected_backward, atol=4 * 5 * (3 + 5 + 1) * 2**-23)
    ```
    """
    run = observe(case)
    directions = reference_directions(case, run)
    expected = directions.forward_states + directions.backward_states
    names = [f"{way} state {name}" for way in ("forward", "backward") for name in case.layer.state_names]
    returned = run.outputs[output_count(case) :]
    verify.holds(
        len(returned) == len(expected),
        what="number of returned states",
        details=f"{len(returned)} states returned, expected {len(expected)} ({', '.join(names)})",
    )
    verify.match_reference(returned, expected, names=names, dims=case.dims)


@over_layers("case", all_cases)
def test_output_is_a_forward_and_a_go_backwards_layer_merged_by_merge_mode(case, verify):
    """The output is a forward and a go_backwards layer, on the two halves of the weights, merged as merge_mode says.

    concat: [forward, backward] along the last axis; sum, ave, mul: elementwise; None: both, forward
    first. The backward sequence enters in input order (flipped back), and without
    return_sequences the backward output is the go_backwards layer's final output.

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    weights = layer.get_weights()
    half = len(weights) // 2  # the forward layer's weights, then the backward layer's
    forward, _ = reference.simple_rnn(weights[:half], x)
    backward, _ = reference.simple_rnn(weights[half:], x, go_backwards=True)
    merged = np.concatenate([forward, backward[:, ::-1]], axis=-1)  # concat; the backward sequence in input order
    np.testing.assert_allclose(sequence, merged, atol=4 * 5 * (3 + 5 + 1) * 2**-23)  # 5 steps' rounding
    ```
    """
    run = observe(case)
    expected = documented_merge(case, reference_directions(case, run))
    names = ["output"] if len(expected) == 1 else ["forward output", "backward output"]
    verify.each_equal(
        run.outputs[: len(expected)],  # the merged output(s); the states after them are the next claims'
        expected,
        names=names,
        what="{name} against the merged reference",
        atol=merged_tolerance(case),
        why="float32 rounding over T steps, per direction",
    )


@over_layers("case", lambda selected: bidirectional_cases(selected.layers, SEPARABLE))
def test_backward_sequence_is_flipped_back_into_input_order(case, verify):
    """With return_sequences=True the backward sequence is in input order: its step 0, not its last, is backward h.

    The go_backwards layer reads x[:, T-1] first and x[:, 0] last, so its final state belongs to
    input step 0; Bidirectional flips its sequence back so that step t lines up with x[:, t].

    ```python
    backward = np.asarray(sequence)[..., 5:]  # concat: the backward layer's 5 units come second
    np.testing.assert_array_equal(backward[:, 0], h_backward)  # step 0, not the last step, is the backward h
    assert np.abs(backward[:, -1] - h_backward).max() >= 1e-3
    ```
    """
    run = observe(case)
    backward = backward_output(case, run)
    # The flip moves numbers without computing them: exact.
    verify.equal(backward[:, 0], backward_h(case, run), what="backward sequence[:, 0] against the backward state h")
    # Left in processing order, the last step would be h instead; with random weights the two ends
    # of the sequence differ by O(0.1).
    last = "backward sequence[:, -1] against the backward state h"
    verify.differ(backward[:, -1], backward_h(case, run), what=last, at_least=1e-3)


@over_layers("case", last_cases)
def test_backward_last_output_is_the_backward_final_state(case, verify):
    """Without return_sequences the backward output is the go_backwards layer's final output: backward h, exactly.

    ```python
    np.testing.assert_array_equal(backward_output, h_backward)
    ```
    """
    run = observe(case)
    verify.equal(backward_output(case, run), backward_h(case, run), what="backward output against backward state h")


@over_layers("case", lambda selected: [BidirectionalCase(layer, None, True, with_initial_state=True) for layer in selected.layers])
def test_initial_state_first_half_is_forward_second_half_is_backward(case, verify):
    """initial_state is split in half: the first half starts the forward layer, the second half the backward layer.

    For LSTM: [h_fw, c_fw, h_bw, c_bw]. Checked on every returned tensor against the reference
    started from those states; the four (two) states are drawn independently, so a swap shows.

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    weights = layer.get_weights()
    half = len(weights) // 2  # the forward layer's weights, then the backward layer's
    _, (expected_forward, *_) = reference.simple_rnn(weights[:half], x, given[:len(given) // 2])  # its first half
    _, (expected_backward, *_) = reference.simple_rnn(weights[half:], x, given[len(given) // 2:], go_backwards=True)  # second half
    np.testing.assert_allclose(h_forward, expected_forward, atol=4 * 5 * (3 + 5 + 1) * 2**-23)  # 5 steps' rounding
    np.testing.assert_allclose(h_backward, expected_backward, atol=4 * 5 * (3 + 5 + 1) * 2**-23)
    ```
    """
    run = observe(case)
    directions = reference_directions(case, run)
    expected = [directions.forward_sequence, directions.backward_sequence]
    expected += directions.forward_states + directions.backward_states
    names = ["forward output", "backward output"]
    names += [f"{way} state {name}" for way in ("forward", "backward") for name in case.layer.state_names]
    verify.holds(
        len(run.outputs) == len(expected),
        what="number of returned tensors",
        details=f"{len(run.outputs)} returned, expected {len(expected)} ({', '.join(names)})",
    )
    verify.match_reference(
        run.outputs, expected, names=names, dims=case.dims, what="{name} against the reference from the given initial state"
    )
