"""Chapter 10: masking. Masked steps are skipped: states carry over, and the output repeats.

Source: the RNN docstrings ("mask: Binary tensor of shape [batch_size, timesteps] indicating
whether a given timestep should be masked ... a False entry indicates that the corresponding
timestep should be ignored"; "zero_output_for_mask: Whether the output should use zeros for the
masked timesteps"; "This layer supports masking for input data with a variable number of
timesteps") and `RNN.compute_mask`, which passes the mask on only with return_sequences=True.

Every batch holds a full row, two padded rows of different lengths and a fully masked row
(keras_rnn_spec/masks.py), padded on the right or on the left; the mask comes from `mask=`, a Masking layer
or Embedding(mask_zero=True). What the next layer receives is read by an identity layer after the
RNN whose `call` takes `mask`: the public route by which any user's layer gets it, in Keras 2 and 3.
"""

from dataclasses import replace

import numpy as np

from keras_rnn_spec.catalogue import DEFAULT, FLAGS, SEQUENCES, SEQUENCES_STATE, STATE
from keras_rnn_spec.masks import (
    FULLY_MASKED_ROW,
    ROW_NAMES,
    VALID_LENGTHS,
    backward,
    masked_cases,
    masks_passed_on,
    padding_mask,
    reference_outputs,
    unpadded_rows,
)
from keras_rnn_spec.observe import observe
from keras_rnn_spec.parameters import over_layers
from keras_rnn_spec.semantics import final_output, returned_names
from keras_rnn_spec.verify import reference_tolerance


def zero_output(layers) -> list:
    """The zero_output_for_mask=True variants of `layers` (each one's `derived_from` is the default layer)."""
    return [layer.with_options(zero_output_for_mask=True) for layer in layers]


# The mask= argument in every configuration; the two other sources where the mask's arrival and
# its propagation along a functional model are the point.
def argument_cases(selected) -> list:
    return masked_cases(selected.layers, FLAGS)


def source_cases(selected) -> list:
    return masked_cases(selected.layers, [SEQUENCES_STATE], sources=["Masking", "Embedding"])


def source_cases_without_sequences(selected) -> list:
    return masked_cases(selected.layers, [DEFAULT], paddings=["right"], sources=["Masking"])


def row(index: int) -> str:
    return f"row {index} ({ROW_NAMES[index]})"


@over_layers("case", argument_cases)
def test_masked_run_matches_the_reference(case, verify):
    """Under a mask every returned tensor matches the float64 reference that skips the masked steps.

    At a masked step the states are carried over unchanged and the output repeats the previous
    output (zeros before the row's first valid step).

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    expected, _ = reference.simple_rnn(layer.get_weights(), x, mask=mask)  # skips the masked steps
    np.testing.assert_allclose(output, expected[:, -1], atol=4 * 6 * (3 + 5 + 1) * 2**-23)  # float32 rounding, 6 steps
    ```
    """
    observed = observe(case)
    names, expected = reference_outputs(case, observed, observed.mask)
    verify.holds(
        len(observed.outputs) == len(expected),
        what="number of returned tensors",
        details=f"{len(observed.outputs)} returned, the reference has {len(expected)}",
    )
    verify.match_reference(observed.outputs, expected, names=names, dims=case.dims)


@over_layers("case", source_cases)
def test_masking_and_embedding_mask_like_the_mask_argument(case, verify):
    """Masking(0.0) and Embedding(mask_zero=True) mask the layer's input: it matches the reference under their mask.

    Masking masks the steps whose features all equal 0.0; Embedding masks the steps whose token
    id is 0. Both reach the layer through a functional model without any mask= argument.

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    expected, (expected_h, *_) = reference.simple_rnn(layer.get_weights(), x, mask=mask)  # Masking(0.0): the zero steps
    np.testing.assert_allclose(sequence, expected, atol=4 * 6 * (3 + 5 + 1) * 2**-23)  # float32 rounding, 6 steps
    np.testing.assert_allclose(h, expected_h, atol=4 * 6 * (3 + 5 + 1) * 2**-23)
    ```
    """
    observed = observe(case)
    names, expected = reference_outputs(case, observed, observed.mask)
    verify.match_reference(observed.outputs, expected, names=names, dims=case.dims)


@over_layers("case", lambda selected: masked_cases(selected.layers, [SEQUENCES, SEQUENCES_STATE]))
def test_masked_steps_repeat_the_previous_output(case, verify):
    """By default a masked step of the returned sequence repeats the previous step's output; before any valid step it is zero.

    ```python
    sequence = np.asarray(sequence)
    for row, length in enumerate(lengths[:, 0]):  # right padding: the steps from `length` on are masked
        last_valid = sequence[row, length - 1] if length else np.zeros(5)
        np.testing.assert_array_equal(sequence[row, length:], np.broadcast_to(last_valid, (6 - length, 5)))
    ```
    """
    observed = observe(case)
    sequence = observed.output
    for index in range(case.dims.batch):
        previous = np.zeros_like(sequence[index, 0])
        for t in range(case.dims.timesteps):
            if not observed.mask[index, t]:
                # Keras selects the previous output at a masked step: a copy, so exact.
                before = f"step {t - 1}" if t else "zeros (no step before)"
                verify.equal(sequence[index, t], previous, what=f"{row(index)}, masked step {t}, against {before}")
            previous = sequence[index, t]


# Left padding is left out below: there a masked step precedes every valid one, so it is zero
# with either setting and could not tell them apart.
@over_layers("case", lambda selected: masked_cases(zero_output(selected.layers), [SEQUENCES_STATE], paddings=["right"]))
def test_zero_output_for_mask_gives_zeros_at_masked_steps(case, verify):
    """With zero_output_for_mask=True masked steps of the returned sequence are zeros; valid steps and states are unchanged.

    ```python
    np.testing.assert_array_equal(np.asarray(sequence)[~mask], 0)
    # Valid steps and h: those of the same layer without the option.
    default = layer.from_config({**layer.get_config(), "zero_output_for_mask": False})
    default.build(x.shape)
    default.set_weights(layer.get_weights())
    default_sequence, default_h, *_ = default(x, mask=mask)
    np.testing.assert_array_equal(np.asarray(sequence)[mask], np.asarray(default_sequence)[mask])
    np.testing.assert_array_equal(h, default_h)
    ```
    """
    observed = observe(case)
    default = observe(replace(case, layer=case.layer.derived_from))
    masked = ~observed.mask
    verify.equal(observed.output[masked], np.zeros_like(observed.output[masked]), what="masked steps against zeros")
    # Two runs of the same steps; on TensorFlow they agree exactly, but an XLA backend (JAX)
    # compiles each layer's loop on its own and may round differently, each within the reference
    # tolerance of the exact value.
    atol = 2 * reference_tolerance(case.dims)
    why = "two separately compiled runs of the same steps"
    verify.equal(
        observed.output[observed.mask], default.output[default.mask], what="valid steps against the default's", atol=atol, why=why
    )
    for name, state, default_state in zip(case.layer.state_names, observed.states, default.states, strict=True):
        verify.equal(state, default_state, what=f"state {name} against the default's", atol=atol, why=why)


@over_layers("case", lambda selected: masked_cases(zero_output(selected.layers), [STATE], paddings=["right"]))
def test_zero_output_for_mask_also_zeroes_the_final_output(case, verify):
    """With zero_output_for_mask=True and return_sequences=False, a row whose last step is masked outputs zeros, not h.

    The docstring says the option "is only used when return_sequences is True"; the layer applies
    it to the final output too (the last step of the sequence it did not return), while h stays
    the state after the row's last valid step (keras-team/keras#17596 reports it with go_backwards).

    ```python
    output, h, last_step_valid = np.asarray(output), np.asarray(h), mask[:, -1]
    np.testing.assert_array_equal(output[~last_step_valid], 0)  # zeros, though h is not
    np.testing.assert_array_equal(output[last_step_valid], h[last_step_valid])
    assert np.abs(h[~last_step_valid]).max() > 0
    ```
    """
    observed = observe(case)
    output, h = observed.output, observed.states[0]
    # The same step's value, selected once for the output and once for the state: exact on
    # TensorFlow; JAX's compiler may round the two copies apart, within the reference tolerance.
    atol, why = reference_tolerance(case.dims), "one value selected twice, possibly compiled apart"
    for index in range(case.dims.batch):
        if observed.mask[index, -1]:
            verify.equal(output[index], h[index], what=f"{row(index)}: output against h (last step valid)", atol=atol, why=why)
        else:
            verify.equal(output[index], np.zeros_like(output[index]), what=f"{row(index)}: output against zeros")
    default = observe(replace(case, layer=case.layer.derived_from))
    verify.equal(h, default.states[0], what="h against the h of zero_output_for_mask=False", atol=atol, why=why)


@over_layers("case", argument_cases)
def test_final_output_and_states_come_from_the_last_valid_step(case, verify):
    """A padded row's final output and states are those of the same layer run on its valid steps alone.

    ```python
    for row, length in enumerate(lengths[:, 0]):
        if length:  # the same layer on the row's valid steps alone; two float32 runs, twice the tolerance
            alone = layer(x[row : row + 1, :length])
            np.testing.assert_allclose(output[row : row + 1], alone, atol=2 * 4 * 6 * (3 + 5 + 1) * 2**-23)
    ```
    """
    observed = observe(case)
    final = final_output(observed.output, case.flags)
    returned = [("final output", final)]
    state_names = case.layer.state_names if case.flags.return_state else ()
    returned += list(zip([f"state {name}" for name in state_names], observed.states, strict=True))
    # Two float32 runs of the same steps in batches of different sizes, each within the reference
    # tolerance of the exact value: within twice that of each other.
    atol = 2 * reference_tolerance(case.dims)
    for index, alone in enumerate(unpadded_rows(case.layer, case.padding)):
        if alone is None:
            continue  # no valid step: test_fully_masked_row_returns_zeros
        sequence, *states = alone
        expected = [sequence[:, -1], *(states if case.flags.return_state else [])]
        for (name, got), want in zip(returned, expected, strict=True):
            verify.equal(
                got[index : index + 1],
                want,
                what=f"{row(index)}: {name} against the layer on its {VALID_LENGTHS[index]} valid steps",
                atol=atol,
                why="float32 rounding over T steps, two runs",
            )


@over_layers("case", argument_cases)
def test_fully_masked_row_returns_zeros(case, verify):
    """A fully masked row returns zeros: every step of its sequence, its output, and its states (the initial states).

    ```python
    assert lengths[3, 0] == 0  # row 3: every step masked
    np.testing.assert_array_equal(np.asarray(output)[3], 0)
    ```
    """
    observed = observe(case)
    for name, tensor in zip(returned_names(case), observed.outputs, strict=True):
        values = tensor[FULLY_MASKED_ROW]
        verify.equal(values, np.zeros_like(values), what=f"{row(FULLY_MASKED_ROW)}: {name} against zeros")


@over_layers("case", lambda selected: argument_cases(selected) + source_cases(selected) + source_cases_without_sequences(selected))
def test_mask_is_passed_on_only_with_return_sequences(case, verify):
    """With return_sequences=True the next layer receives the input's mask unchanged; otherwise, and from a state, none.

    ```python
    assert layer.compute_mask(x, mask) is None  # the mask the next layer would receive: none without the sequence
    ```
    """
    for index, (name, received) in enumerate(zip(returned_names(case), masks_passed_on(case), strict=True)):
        if index == 0 and case.flags.return_sequences:
            verify.holds(received is not None, what="mask passed on with the sequence", details="none was passed on")
            verify.equal(received, padding_mask(case.padding), what="mask passed on with the sequence against the input's mask")
        else:
            verify.holds(
                received is None,
                what=f"mask passed on with the {name}",
                details=f"a mask was passed on: {None if received is None else received.astype(int).tolist()}",
            )


@over_layers("case", lambda selected: masked_cases(backward(selected.layers), [SEQUENCES_STATE]))
def test_go_backwards_passes_the_mask_on_in_input_order(case, verify):
    """With go_backwards=True the mask passed on is the input's, in input order, though the sequence is in processing order.

    So for a padded row the mask marks the wrong steps of the sequence it travels with
    (keras-team/keras#3737, #6022, closed unfixed). A layer that reversed it would fail here.

    ```python
    passed_on = layer.compute_mask(x, mask)[0]  # the mask that travels with the sequence (none with the states)
    np.testing.assert_array_equal(passed_on, mask)  # the input's order, though the sequence is in processing order
    ```
    """
    received, mask = masks_passed_on(case)[0], padding_mask(case.padding)
    verify.holds(received is not None, what="mask passed on with the sequence", details="none was passed on")
    # Padded rows make the two orders differ; otherwise the comparison below could not fail.
    verify.holds(
        not np.array_equal(mask, mask[:, ::-1]),
        what="the input's mask in both orders",
        details="the mask reads the same reversed",
    )
    verify.equal(received, mask, what="mask passed on against the input's mask, unreversed")
