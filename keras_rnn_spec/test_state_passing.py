"""Chapter 12: passing state. initial_state starts the recurrence; return_state hands it on.

Source: the RNN docstrings. "You can specify the initial state of RNN layers symbolically by
calling them with the keyword argument `initial_state`. The value of `initial_state` should be a
tensor or list of tensors representing the initial state of the RNN layer." And return_state:
"Whether to return the last state in addition to the output", which is what an encoder hands to a
decoder (the notebook's cell In [5] returns h and c for this purpose).

The states go in, and come out, in the layer's order: h for SimpleRNN and GRU, [h, c] for LSTM.
Numbers are checked against the float64 reference (keras_rnn_spec/reference.py) started from the same states.
That an LSTM given h alone is refused, not completed with a zero c, is chapter 21's claim
(keras_rnn_spec/test_bad_input.py), with the error each Keras raises.
"""

import numpy as np

from keras_rnn_spec.catalogue import reference_of
from keras_rnn_spec.observe import Dims, reproduced, reproduced_once, snippet_names
from keras_rnn_spec.parameters import or_skipped, over_layers
from keras_rnn_spec.passing import EncoderDecoderCase, scenario_cases, with_cell_state
from keras_rnn_spec.subject import as_list, to_numpy
from keras_rnn_spec.verify import reference_tolerance


@over_layers("case", lambda selected: scenario_cases("initial-state", selected.layers))
def test_initial_state_is_where_the_recurrence_starts(case, verify):
    """With initial_state, the sequence and the final states are those of the recurrence started from it.

    SimpleRNN and GRU take [h]; LSTM takes [h, c], in that order, and its c matters as much as h:
    the reference starts from the given non-zero h and c.

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    expected, (expected_h, *_) = reference.simple_rnn(layer.get_weights(), x, given)  # started from the given h
    np.testing.assert_allclose(sequence, expected, atol=4 * 10 * (3 + 5 + 1) * 2**-23)  # 10 steps' rounding
    np.testing.assert_allclose(h, expected_h, atol=4 * 10 * (3 + 5 + 1) * 2**-23)
    ```
    """
    bound = reproduced_once(case)
    sequence, *final_states = (to_numpy(bound[name]) for name in snippet_names(case.flags, case.layer.state_names))
    expected_sequence, expected_states = reference_of(case.layer)(bound["layer"].get_weights(), bound["x"], bound["given"])
    atol = reference_tolerance(case.dims)
    why = "float32 rounding over T steps"
    verify.equal(sequence, expected_sequence, what="sequence against the reference from the state", atol=atol, why=why)
    names = list(case.layer.state_names)
    verify.each_equal(final_states, expected_states, names=names, what="final state {name} against the reference", atol=atol, why=why)


@over_layers("case", lambda selected: or_skipped(scenario_cases("initial-state", with_cell_state(selected)), "states h, c", selected))
def test_lstm_initial_cell_state_changes_the_output(case, verify):
    """LSTM: the c of initial_state is used: the same h with another c gives another sequence.

    ```python
    given_h, given_c = given
    from_zero_c = model([x, given_h, np.zeros_like(given_c)])[0]
    assert np.abs(np.asarray(sequence) - np.asarray(from_zero_c)).max() >= 1e-2  # the given c moved the sequence
    ```
    """
    bound = reproduced_once(case)
    x, (h, c) = bound["x"], bound["given"]
    with_c = to_numpy(bound["sequence"])
    with_zero_c = as_list(bound["model"]([x, h, np.zeros_like(c)]))[0]
    # c enters the first step as f * c with the forget gate f in (0, 1), here near 0.5, and c ~ U(-1, 1):
    # the first outputs move by O(0.1); 1e-2 is far below that and far above rounding.
    verify.differ(with_c, with_zero_c, what="sequence from [h, c] against sequence from [h, zeros]", at_least=1e-2)


@over_layers("case", lambda selected: scenario_cases("chunks", selected.layers))
def test_two_chunks_with_carried_state_equal_one_pass(case, verify):
    """Running x[:, :k] and then x[:, k:] from the returned states gives exactly the one-pass sequence and states.

    ```python
    np.testing.assert_array_equal(np.concatenate([first[0], second[0]], axis=1), whole[0])  # the sequences
    np.testing.assert_array_equal(second[1], whole[1])  # h after the second chunk is the one-pass h
    ```
    """
    # The returned states are handed on as the tensors they are (Keras 2 refuses numpy states here).
    bound = reproduced(case)
    (first_sequence, *_), (second_sequence, *final_states) = as_list(bound["first"]), as_list(bound["second"])
    whole_sequence, *whole_states = as_list(bound["whole"])
    # The same float32 operations on the same numbers in the same order: exact.
    joined = np.concatenate([first_sequence, second_sequence], axis=1)
    verify.equal(joined, whole_sequence, what="the two chunks' sequences, joined, against the one-pass sequence")
    for name, got, want in zip(case.layer.state_names, final_states, whole_states, strict=True):
        verify.equal(got, want, what=f"final state {name} after the second chunk against the one-pass state {name}")


@over_layers("case", lambda selected: [EncoderDecoderCase(layer) for layer in selected.layers])
def test_encoder_states_start_the_decoder(case, verify):
    """The encoder's returned states, as the decoder's initial_state, start the decoder where the encoder stopped.

    The hand-off return_state exists for: a functional model whose decoder is called with
    initial_state=the encoder's states. Its output equals the reference decoder started from the
    reference encoder's final states, chained by hand.

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    _, handed_over = reference.simple_rnn(encoder.get_weights(), x)  # the encoder's final states
    expected, _ = reference.simple_rnn(decoder.get_weights(), y, handed_over)
    np.testing.assert_allclose(sequence, expected, atol=4 * (10 + 4) * (3 + 5 + 1) * 2**-23)  # both runs' steps
    ```
    """
    e, d = case.encoder_dims, case.decoder_dims
    bound = reproduced(case)
    reference = reference_of(case.layer)
    _, handed_over = reference(bound["encoder"].get_weights(), bound["x"])
    expected, _ = reference(bound["decoder"].get_weights(), bound["y"], handed_over)
    decoded = to_numpy(bound["sequence"])
    # The encoder's rounding error is carried into the decoder with its states: the bound of
    # reference_tolerance over both runs' steps, with the wider of the two inputs.
    both = Dims(e.batch, e.timesteps + d.timesteps, max(e.features, d.features), e.units)
    verify.equal(
        decoded, expected, what="decoder sequence against the reference chained by hand",
        atol=reference_tolerance(both), why="float32 rounding over the encoder's and the decoder's steps",
    )
