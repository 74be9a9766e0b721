"""Chapter 9: go_backwards. The layer reads the input from its last step to its first.

Source: the RNN docstrings ("go_backwards: Boolean (default False). If True, process the input
sequence backwards and return the reversed sequence."). "The reversed sequence" is the sequence in
processing order: its step 0 is the output after the input's last step, and it is not flipped back
to the input's order (keras-team/keras#1431, #3448). A go_backwards layer is therefore the forward
layer on the input reversed in time.
"""

import numpy as np

from keras_rnn_spec.catalogue import DEFAULT, SEQUENCES, SEQUENCES_STATE, STATE
from keras_rnn_spec.masks import ROW_NAMES, VALID_LENGTHS, backward, masked_cases, reference_outputs, reference_run
from keras_rnn_spec.observe import Case, Dims, cases, observe, run
from keras_rnn_spec.parameters import over_layers
from keras_rnn_spec.semantics import final_output, returned_names
from keras_rnn_spec.verify import reference_tolerance

PATHS = ("call",)  # go_backwards does not depend on the run path; the cheap one is enough
# Fewer steps than the notes' 10 (an eager loop costs per step); enough to tell the orders apart.
DIMS = Dims(batch=2, timesteps=6, features=3, units=5)


@over_layers("case", lambda selected: cases(backward(selected.layers), paths=PATHS, dims=DIMS))
def test_every_returned_tensor_matches_the_backward_reference(case, verify):
    """With go_backwards=True every returned tensor matches the float64 reference run from the last step to the first.

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    expected, _ = reference.simple_rnn(layer.get_weights(), x, go_backwards=True)  # reads x[:, 5] first
    np.testing.assert_allclose(output, expected[:, -1], atol=4 * 6 * (3 + 5 + 1) * 2**-23)  # float32 rounding, 6 steps
    ```
    """
    observed = observe(case)
    names, expected = reference_outputs(case, observed)
    verify.count(observed.outputs, expected, names=names)
    verify.match_reference(observed.outputs, expected, names=names, dims=case.dims)


@over_layers("case", lambda selected: cases(backward(selected.layers), flags=[SEQUENCES, SEQUENCES_STATE], paths=PATHS, dims=DIMS))
def test_returned_sequence_is_in_processing_order(case, verify):
    """With go_backwards=True the returned sequence is in processing order: step 0 follows the input's last step.

    Step t is the output after reading input steps T-1 down to T-1-t; the sequence is not flipped
    back to the input's order.

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    expected, _ = reference.simple_rnn(layer.get_weights(), x, go_backwards=True)  # step 0: after reading x[:, 5]
    np.testing.assert_allclose(sequence, expected, atol=4 * 6 * (3 + 5 + 1) * 2**-23)  # float32 rounding, 6 steps
    assert not np.allclose(sequence, expected[:, ::-1], atol=4 * 6 * (3 + 5 + 1) * 2**-23)  # not in input order
    ```
    """
    observed = observe(case)
    processing_order, _ = reference_run(case.layer, observed.weights, observed.inputs)
    # The two orders must tell apart on this data, or the comparison below would prove nothing.
    verify.differ(processing_order, processing_order[:, ::-1], what="the reference in both orders", at_least=1e-2)
    atol = reference_tolerance(case.dims)
    verify.equal(
        observed.output,
        processing_order,
        what="sequence against the reference in processing order",
        atol=atol,
        why="float32 rounding over T steps",
    )


@over_layers("case", lambda selected: cases(backward(selected.layers), flags=[SEQUENCES, STATE, SEQUENCES_STATE], paths=PATHS, dims=DIMS))
def test_last_step_is_the_default_output_and_h(case, verify):
    """With go_backwards=True the last step, the output after reading input step 0, is the default output and h.

    The last step of the returned sequence (return_sequences=True), or the output (return_state=True
    alone), equals the output of the same layer without either flag and, with return_state=True,
    the state h: the same numbers.

    ```python
    # The same go_backwards layer without return_sequences, with the same weights:
    default = layer.from_config({**layer.get_config(), "return_sequences": False})
    default.build(x.shape)
    default.set_weights(layer.get_weights())
    output = default(x)  # after reading x[:, 0], the last input step it reads
    np.testing.assert_array_equal(sequence[:, -1], output)
    ```
    """
    observed = observe(case)
    last = final_output(observed.output, case.flags)
    # Computed once and returned in several places (chapter 3), so exact.
    verify.equal(last, observe(case.with_flags(DEFAULT)).output, what="final output against the default output")
    if case.flags.return_state:
        verify.equal(last, observed.states[0], what="final output against state h")


@over_layers("case", lambda selected: cases(backward(selected.layers), paths=PATHS, dims=DIMS))
def test_equals_the_forward_layer_on_the_reversed_input(case, verify):
    """A go_backwards layer returns exactly what the forward layer with the same weights returns on x[:, ::-1].

    ```python
    # The same layer reading forwards, with the same weights, on the input reversed in time:
    forward = layer.from_config({**layer.get_config(), "go_backwards": False})
    forward.build(x.shape)
    forward.set_weights(layer.get_weights())
    np.testing.assert_array_equal(output, forward(x[:, ::-1].copy()))
    ```
    """
    observed = observe(case)
    forward_case = Case(case.layer.derived_from, case.flags, case.path, case.dims)
    forward = run(forward_case, np.ascontiguousarray(observed.inputs[:, ::-1]))
    check = verify.about(forward_case)
    for index, (backward_weight, forward_weight) in enumerate(zip(observed.weights, forward.weights, strict=True)):
        check.equal(forward_weight, backward_weight, what=f"weight {index} (the two layers must share weights)")
    check.holds(
        len(forward.outputs) == len(observed.outputs),
        what="number of returned tensors",
        details=f"forward layer returned {len(forward.outputs)}, go_backwards layer {len(observed.outputs)}",
    )
    # Keras reverses the input and runs the same steps on the same numbers: exact.
    names = returned_names(case)
    check.each_equal(observed.outputs, forward.outputs, names=names, what="{name} against the forward layer's on the reversed input")


@over_layers("case", lambda selected: masked_cases(backward(selected.layers), flags=[SEQUENCES_STATE]))
def test_a_mask_still_marks_input_steps(case, verify):
    """With go_backwards=True a mask still refers to the input's steps; the backward pass skips them where they are.

    A right-padded row's padded steps are read first, so its returned sequence starts with zeros
    (no output yet), and its states are those after its valid steps read backwards.

    ```python
    # Right padding is read first going backwards: no output yet at those steps of the sequence.
    for row, length in enumerate(lengths[:, 0]):
        np.testing.assert_array_equal(np.asarray(sequence)[row, : 6 - length], 0)
    ```
    """
    observed = observe(case)
    if case.padding == "right":
        for row, length in enumerate(VALID_LENGTHS):
            padded = observed.output[row, : case.dims.timesteps - length]
            verify.equal(padded, np.zeros_like(padded), what=f"row {row} ({ROW_NAMES[row]}): the padded steps read first")
    names, expected = reference_outputs(case, observed, observed.mask)
    verify.match_reference(observed.outputs, expected, names=names, dims=case.dims)
