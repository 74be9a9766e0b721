"""Chapter 12's cases: a layer started from given initial states, run in two chunks, and an encoder
handing its states to a decoder.
"""

from dataclasses import dataclass

from keras_rnn_spec.catalogue import SEQUENCES, SEQUENCES_STATE, STATE, Flags, RecurrentLayer
from keras_rnn_spec.observe import (
    DATA_SEED,
    NOTES_DIMS,
    WEIGHT_SEED,
    Dims,
    data_code,
    given_states_code,
    preamble,
    returned_code,
    seeding_code,
    snippet_names,
)

DECODER_WEIGHT_SEED = WEIGHT_SEED + 1  # the decoder has weights of its own
DECODER_DIMS = Dims(batch=NOTES_DIMS.batch, timesteps=4, features=2, units=NOTES_DIMS.units)
SPLIT = 4  # the chunks are x[:, :4] and x[:, 4:]


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
        lines = [*preamble(d.input_shape, self.layer), f"layer = {self.layer.constructor_code(d.units, self.flags)}"]
        if self.scenario == "initial-state":
            lines += [
                f"sequences = keras.Input(shape=({d.timesteps}, {d.features}))",
                f"states = [keras.Input(shape=({d.units},)) for _ in {list(self.layer.state_names)}]",
                "model = keras.Model([sequences, *states], layer(sequences, initial_state=states))",
                seeding_code(),
                given_states_code("given", len(self.layer.state_names), d),
                *returned_code(snippet_names(self.flags, self.layer.state_names), "model([x, *given])"),
            ]
        else:  # chunks
            lines += [
                f"layer.build({d.input_shape})",
                seeding_code(),
                f"first = layer(x[:, :{SPLIT}])",
                f"second = layer(x[:, {SPLIT}:], initial_state=list(first[1:]))",
                "whole = layer(x)",
            ]
        return "\n".join(lines)


def scenario_cases(scenario: str, layers) -> list[PassingCase]:
    return [PassingCase(layer, scenario) for layer in layers]


def with_cell_state(selected) -> list:
    return [layer for layer in selected.layers if layer.state_names == ("h", "c")]


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
