"""Chapter 13's cases: a stateful layer on a fixed batch along each path in each scenario the chapter
runs, and the written cases of its other claims.
"""

from dataclasses import dataclass

import numpy as np

from keras_rnn_spec.cases import WrittenCase
from keras_rnn_spec.catalogue import SEQUENCES, RecurrentLayer
from keras_rnn_spec.observe import NOTES_DIMS, TO_NUMPY_CODE, Dims, data_code, preamble, seeding_code
from keras_rnn_spec.parameters import over_layers
from keras_rnn_spec.refusals import Refusal
from keras_rnn_spec.subject import KERAS_MAJOR, to_numpy

DIMS = NOTES_DIMS
HALF = DIMS.timesteps // 2  # two chunks of equal length: the second predict reuses the first one's trace
OTHER_BATCH = 1  # a single sample: broadcast against the states, it would run unnoticed
# The chapter's refusals: a ValueError, whatever its message, from a call or from making the model.
REFUSED, REFUSED_WHEN_BUILT = Refusal("builtins.ValueError", "", step="call"), Refusal("builtins.ValueError", "", step="build")


def layer_id(layer: RecurrentLayer) -> str:
    """The layer's own name (every layer in this chapter is stateful): LSTM, not LSTM(stateful=True)."""
    return str(layer.derived_from)


def made_stateful(layers) -> list[RecurrentLayer]:
    return [layer.with_options(stateful=True) for layer in layers]


each_stateful_layer = over_layers("layer", lambda selected: made_stateful(selected.layers), ids=layer_id)


def refused_lines(call: str, comment: str) -> list[str]:
    """A reproducer's lines that make `call`, which the claim expects refused: what it returned in
    `returned`, the ValueError in `refused` (None where it returned). Another exception type raises.
    Caught, so that the claim's printed check can continue the reproducer (refusals.check_bound)."""
    return [
        "try:",
        f"    returned, refused = {call}, None  # {comment}",
        "except ValueError as error:",
        "    returned, refused = None, error",
        "print(refused)",
    ]


@dataclass(frozen=True)
class StatefulCase:
    """A stateful layer (return_sequences=True) on a fixed batch, run along one path in one scenario."""

    layer: RecurrentLayer
    path: str  # "predict": a Model with Input(shape=(None, features), batch_size=batch); "call": the layer itself
    scenario: str
    dims: Dims = DIMS

    def __str__(self) -> str:
        return f"{layer_id(self.layer)}-{self.path}"

    def describe(self) -> str:
        code = self.layer.constructor_code(self.dims.units, SEQUENCES)
        via = "a direct layer call" if self.path == "call" else f"Model.predict, Input batch_size={self.dims.batch}"
        return f"{code} via {via} ({self.scenario}), input {self.dims.input_shape}, seeded uniform weights"

    def snippet(self) -> str:
        d = self.dims
        lines = [
            *preamble(d.input_shape, self.layer),
            f"layer = {self.layer.constructor_code(d.units, SEQUENCES)}",
        ]
        if self.path == "predict":
            lines += [
                f"inputs = keras.Input(shape=(None, {d.features}), batch_size={d.batch})",
                "model = keras.Model(inputs, layer(inputs))",
                "run = lambda chunk: model.predict(chunk, verbose=0)",
            ]
        else:
            lines += [f"layer.build(({d.batch}, None, {d.features}))", "run = layer"]
        return "\n".join([*lines, seeding_code(), *self.scenario_lines()])

    def scenario_lines(self) -> list[str]:
        """What the scenario runs after the set-up, binding what its claim reads."""
        batch, other = self.dims.batch, OTHER_BATCH
        first_half, second_half, other_half = f"x[:, :{HALF}]", f"x[:, {HALF}:]", f"x[:{other}, :{HALF}]"
        states = f"states = [{TO_NUMPY_CODE}(state) for state in layer.states]"
        return {
            "two-calls": [f"first = run({first_half})", f"second = run({second_half})  # continues first", "print(first, second)"],
            "one-predict": [
                f"chunks = np.concatenate([{first_half}, {second_half}], axis=0)  # batch 1: first halves; batch 2: second",
                f"predicted = model.predict(chunks, batch_size={batch}, verbose=0)",
                "print(predicted)",
            ],
            "reset": [
                f"first = run({first_half})",
                f"run({second_half})",
                "layer.reset_states()",
                states,
                f"again = run({first_half})",
                "print(states, again, first)",
            ],
            "reset-state": [f"run({first_half})", "layer.reset_state()", states, "print(states)"],
            "other-batch": refused_lines(f"run({other_half})", f"on a {'layer' if self.path == 'call' else 'model'} built for batch {batch}"),
            "batch-after-predict": [
                f"run({first_half})",
                *refused_lines(f"run({other_half})", f"after a predict on batch {batch}"),
            ],
        }[self.scenario]


def check_zeros(verify, layer: RecurrentLayer, states: list, *, after: str) -> None:
    """Every one of the layer's `states` is exactly zero."""
    __tracebackhide__ = True
    for name, state in zip(layer.state_names, states, strict=True):
        verify.equal(to_numpy(state), np.zeros((DIMS.batch, DIMS.units)), what=f"state {name} after {after}")


def over_scenario(scenario: str, paths=("predict", "call")):
    """The scenario on each layer under test, stateful, by each path: an `over_layers` mark."""
    return over_layers(
        "case", lambda selected: [StatefulCase(layer, path, scenario) for layer in made_stateful(selected.layers) for path in paths]
    )


def model_reset_case(layer: RecurrentLayer) -> WrittenCase:
    """The claim's model: on Keras 3 its reset methods looked up; on Keras 2 run on a chunk, then reset."""
    made = layer.constructor_code(DIMS.units, SEQUENCES)
    in_a_model = f"{made} in a keras.Model on Input batch_size={DIMS.batch}"
    model = [
        f"layer = {made}",
        f"inputs = keras.Input(shape=(None, {DIMS.features}), batch_size={DIMS.batch})",
        "model = keras.Model(inputs, layer(inputs))",
    ]
    if KERAS_MAJOR >= 3:
        return WrittenCase(
            layer, f"{in_a_model}: the Model's reset methods",
            "\n".join([
                *model,
                "found = [name for name in ('reset_state', 'reset_states') if hasattr(model, name)]",
                "print(found)",
            ]),
        )
    return WrittenCase(
        layer,
        f"{in_a_model}, called on x[:, :{HALF}] of {DIMS.input_shape}, seeded uniform weights, then model.reset_states()",
        "\n".join([
            data_code(DIMS.input_shape),
            *model,
            seeding_code(),
            f"model(x[:, :{HALF}])",
            "model.reset_states()",
            f"states = [{TO_NUMPY_CODE}(state) for state in layer.states]",
            "print(states)",
        ]),
    )


def no_batch_size_case(layer: RecurrentLayer) -> WrittenCase:
    made = layer.constructor_code(DIMS.units, SEQUENCES)
    unbatched = f"keras.Input(shape=(None, {DIMS.features}))"
    return WrittenCase(
        layer, f"{made} called on {unbatched}, which has no batch size",
        "\n".join([f"layer = {made}", *refused_lines(f"layer({unbatched})", "no batch size to give its states")]),
    )


# keras.Input's arguments, per way of giving the batch size.
BATCH_SIZE_WAYS = {
    "batch_size": {"shape": (None, DIMS.features), "batch_size": DIMS.batch},
    "batch_shape": {"batch_shape": (DIMS.batch, None, DIMS.features)},
}


def batch_size_case(layer: RecurrentLayer, way: str) -> WrittenCase:
    made = layer.constructor_code(DIMS.units, SEQUENCES)
    given = "keras.Input(" + ", ".join(f"{name}={value!r}" for name, value in BATCH_SIZE_WAYS[way].items()) + ")"
    return WrittenCase(
        layer, f"{made} called on {given}: the shapes of its states",
        "\n".join([
            f"layer = {made}",
            f"layer({given})",
            f"states = [{TO_NUMPY_CODE}(state) for state in layer.states]",
            "print([state.shape for state in states])",
        ]),
    )


BATCH_INPUT_SHAPE = (DIMS.batch, None, DIMS.features)


def batch_input_shape_case(layer: RecurrentLayer) -> WrittenCase:
    made = layer.with_options(batch_input_shape=BATCH_INPUT_SHAPE).constructor_code(DIMS.units, SEQUENCES)
    return WrittenCase(
        layer, f"{made} as the only layer of keras.Sequential: its states' shapes, or the ValueError",
        "\n".join([
            "try:",
            f"    layer = {made}",
            "    keras.Sequential([layer])",
            f"    outcome = [{TO_NUMPY_CODE}(state).shape for state in layer.states]",
            "except ValueError as error:",
            "    outcome = error",
            "print(outcome)",
        ]),
    )


def shape_returned(bound: dict) -> str:
    """What a call the claim expected refused returned, for its failure ("" where it was refused)."""
    return "" if bound["returned"] is None else f"shape {tuple(bound['returned'].shape)} for {OTHER_BATCH} sample(s)"
