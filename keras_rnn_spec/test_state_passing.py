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

from dataclasses import dataclass

import numpy as np

from keras_rnn_spec.catalogue import SEQUENCES, SEQUENCES_STATE, STATE, Flags, RecurrentLayer, reference_of
from keras_rnn_spec.observe import (
    DATA_SEED,
    NOTES_DIMS,
    WEIGHT_SEED,
    Dims,
    data_code,
    given_states,
    given_states_code,
    inputs_for,
    preamble,
    returned_code,
    seed_weights,
    seeding_code,
    snippet_names,
)
from keras_rnn_spec.parameters import or_skipped, over_layers
from keras_rnn_spec.subject import as_list, keras
from keras_rnn_spec.verify import reference_tolerance

DECODER_WEIGHT_SEED = WEIGHT_SEED + 1  # the decoder has weights of its own
DECODER_DIMS = Dims(batch=NOTES_DIMS.batch, timesteps=4, features=2, units=NOTES_DIMS.units)
SPLIT = 4  # the chunks are x[:, :4] and x[:, 4:]

# What each scenario runs, as the lines that follow the layer's construction in a reproducer.
SCENARIOS = {
    "initial-state": [
        "sequences = keras.Input(shape=(TIMESTEPS, FEATURES))",
        "states = [keras.Input(shape=(UNITS,)) for _ in STATE_NAMES]",
        "model = keras.Model([sequences, *states], layer(sequences, initial_state=states))",
        "SEED_WEIGHTS",
        "GIVEN_STATES",
        "RETURNED = model([x, *given])",
    ],
    "chunks": [
        "layer.build(SHAPE)",
        "SEED_WEIGHTS",
        f"first = layer(x[:, :{SPLIT}])",
        f"second = layer(x[:, {SPLIT}:], initial_state=list(first[1:]))",
        "whole = layer(x)",
    ],
}


@dataclass(frozen=True)
class PassingCase:
    """One layer (with return_sequences and return_state) in one scenario of this chapter."""

    layer: RecurrentLayer
    scenario: str
    flags: Flags = SEQUENCES_STATE
    dims: Dims = NOTES_DIMS

    def __str__(self) -> str:
        return f"{self.layer}-{self.scenario}"

    def describe(self) -> str:
        code = self.layer.constructor_code(self.dims.units, self.flags)
        via = "a Model taking initial_state as Inputs" if self.scenario == "initial-state" else "direct layer calls"
        return f"{code} via {via} ({self.scenario}), input {self.dims.input_shape}, seeded uniform weights"

    def snippet(self) -> str:
        d = self.dims
        words = {
            "TIMESTEPS": d.timesteps, "FEATURES": d.features, "UNITS": d.units, "BATCH": d.batch,
            "SHAPE": d.input_shape, "STATE_NAMES": list(self.layer.state_names),
            "SEED_WEIGHTS": seeding_code(),
            "GIVEN_STATES": given_states_code("given", len(self.layer.state_names), d),
            "RETURNED": ", ".join(snippet_names(self.flags, self.layer.state_names)),
        }
        lines = [
            *preamble(d.input_shape, self.layer),
            f"layer = {self.layer.constructor_code(d.units, self.flags)}",
        ]
        for line in SCENARIOS[self.scenario]:
            for word, value in words.items():
                line = line.replace(word, str(value))
            lines.append(line)
        return "\n".join(lines)


def started_from_inputs(case: PassingCase):
    """(layer, model): Model([x, *states], layer(x, initial_state=states)), the layer seeded.

    The states enter as Inputs: Keras 2 takes initial_state in a direct call only as tensors, and
    what the spec has are numpy arrays. The model is called directly, not through predict.
    """
    d = case.dims
    layer = case.layer.make(d.units, case.flags)
    sequences = keras.Input(shape=(d.timesteps, d.features))
    states = [keras.Input(shape=(d.units,)) for _ in case.layer.state_names]
    model = keras.Model([sequences, *states], layer(sequences, initial_state=states))
    seed_weights(layer)
    return layer, model


def states_given_to(case: PassingCase) -> list[np.ndarray]:
    """One initial state per state of the layer."""
    return given_states(len(case.layer.state_names), case.dims)


def scenario_cases(scenario: str, layers) -> list[PassingCase]:
    return [PassingCase(layer, scenario) for layer in layers]


def with_cell_state(selected) -> list:
    return [layer for layer in selected.layers if layer.state_names == ("h", "c")]


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
    layer, model = started_from_inputs(case)
    x, states = inputs_for(case.dims), states_given_to(case)
    sequence, *final_states = as_list(model([x, *states]))
    expected_sequence, expected_states = reference_of(case.layer)(layer.get_weights(), x, states)
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
    _, model = started_from_inputs(case)
    x, (h, c) = inputs_for(case.dims), states_given_to(case)
    with_c = as_list(model([x, h, c]))[0]
    with_zero_c = as_list(model([x, h, np.zeros_like(c)]))[0]
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
    layer = case.layer.make(case.dims.units, case.flags)
    layer.build(case.dims.input_shape)
    seed_weights(layer)
    x = inputs_for(case.dims)
    first = layer(x[:, :SPLIT])
    # The returned states are handed on as the tensors they are (Keras 2 refuses numpy states here).
    second_sequence, *final_states = as_list(layer(x[:, SPLIT:], initial_state=list(first[1:])))
    first_sequence = as_list(first)[0]
    whole_sequence, *whole_states = as_list(layer(x))
    # The same float32 operations on the same numbers in the same order: exact.
    joined = np.concatenate([first_sequence, second_sequence], axis=1)
    verify.equal(joined, whole_sequence, what="the two chunks' sequences, joined, against the one-pass sequence")
    for name, got, want in zip(case.layer.state_names, final_states, whole_states, strict=True):
        verify.equal(got, want, what=f"final state {name} after the second chunk against the one-pass state {name}")


@dataclass(frozen=True)
class EncoderDecoderCase:
    """encoder = layer(return_state=True) on x; decoder = layer(return_sequences=True) on y from its states."""

    layer: RecurrentLayer
    encoder_dims: Dims = NOTES_DIMS
    decoder_dims: Dims = DECODER_DIMS

    def __str__(self) -> str:
        return f"{self.layer}-encoder-decoder"

    def describe(self) -> str:
        encoder = self.layer.constructor_code(self.encoder_dims.units, STATE)
        decoder = self.layer.constructor_code(self.decoder_dims.units, SEQUENCES)
        return (
            f"encoder {encoder} on {self.encoder_dims.input_shape}, its states the initial_state of decoder "
            f"{decoder} on {self.decoder_dims.input_shape}, in a functional Model called directly; "
            "seeded uniform weights"
        )

    def snippet(self) -> str:
        e, d = self.encoder_dims, self.decoder_dims
        return "\n".join(
            [
                *preamble(e.input_shape, self.layer),
                data_code(d.input_shape, "y", DATA_SEED + 1),
                f"encoder = {self.layer.constructor_code(e.units, STATE)}",
                f"decoder = {self.layer.constructor_code(d.units, SEQUENCES)}",
                f"x_in = keras.Input(shape=({e.timesteps}, {e.features}))",
                f"y_in = keras.Input(shape=({d.timesteps}, {d.features}))",
                "_, *states = encoder(x_in)",
                "model = keras.Model([x_in, y_in], decoder(y_in, initial_state=states))",
                seeding_code("encoder"),
                seeding_code("decoder", DECODER_WEIGHT_SEED),
                *returned_code(["sequence"], "model([x, y])"),
            ]
        )


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
    encoder = case.layer.make(e.units, STATE)
    decoder = case.layer.make(d.units, SEQUENCES)
    encoder_inputs = keras.Input(shape=(e.timesteps, e.features))
    decoder_inputs = keras.Input(shape=(d.timesteps, d.features))
    _, *encoder_states = encoder(encoder_inputs)
    model = keras.Model([encoder_inputs, decoder_inputs], decoder(decoder_inputs, initial_state=encoder_states))
    seed_weights(encoder)
    seed_weights(decoder, seed=DECODER_WEIGHT_SEED)
    x, y = inputs_for(e), inputs_for(d, seed=DATA_SEED + 1)
    (decoded,) = as_list(model([x, y]))

    reference = reference_of(case.layer)
    _, handed_over = reference(encoder.get_weights(), x)
    expected, _ = reference(decoder.get_weights(), y, handed_over)
    # The encoder's rounding error is carried into the decoder with its states: the bound of
    # reference_tolerance over both runs' steps, with the wider of the two inputs.
    both = Dims(e.batch, e.timesteps + d.timesteps, max(e.features, d.features), e.units)
    verify.equal(
        decoded, expected, what="decoder sequence against the reference chained by hand",
        atol=reference_tolerance(both), why="float32 rounding over the encoder's and the decoder's steps",
    )
