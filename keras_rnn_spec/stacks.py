"""Chapter 16's cases: two recurrent layers stacked, the first with return_sequences=True, and stacks
refused without it.
"""

from dataclasses import dataclass, replace

import numpy as np

from keras_rnn_spec.cases import SteppedCase
from keras_rnn_spec.catalogue import DEFAULT, SEQUENCES, Flags, RecurrentLayer
from keras_rnn_spec.observe import WEIGHT_SCALE, WEIGHT_SEED, Dims, Observation, data_code, preamble, returned_code, snippet_names
from keras_rnn_spec.subject import to_numpy

TOP_UNITS = 4  # the top layer is narrower than the one below it, so a mixed-up width shows
# A shorter sequence than the notes' (an eager call costs per step and per layer); five steps
# carry the recurrence through every state.
SHORT_DIMS = Dims(batch=2, timesteps=5, features=3, units=5)


@dataclass(frozen=True)
class StackCase:
    """Two layers of one kind: the first with return_sequences=True, the top one with `flags`."""

    layer: RecurrentLayer
    flags: Flags
    dims: Dims = SHORT_DIMS

    @property
    def top_dims(self) -> Dims:
        """The top layer's sizes: its features are the first layer's units."""
        return replace(self.dims, features=self.dims.units, units=TOP_UNITS)

    def __str__(self) -> str:
        return f"{self.layer}-on-{self.layer}-{self.flags}"

    def layers_code(self) -> tuple[str, str]:
        return (
            self.layer.constructor_code(self.dims.units, SEQUENCES),
            self.layer.constructor_code(TOP_UNITS, self.flags),
        )

    def describe(self) -> str:
        first, top = self.layers_code()
        return f"{top} on {first}, direct layer calls, input {self.dims.input_shape}, seeded uniform weights"

    def snippet(self) -> str:
        first, top = self.layers_code()
        return "\n".join(
            [
                *preamble(self.dims.input_shape, self.layer),
                f"first, top = {first}, {top}",
                f"first.build({self.dims.input_shape})",
                f"top.build({self.top_dims.input_shape})",
                f"rng = np.random.default_rng({WEIGHT_SEED})",
                "for layer in (first, top):",
                f"    layer.set_weights([rng.uniform(-{WEIGHT_SCALE}, {WEIGHT_SCALE}, w.shape).astype('float32')"
                " for w in layer.get_weights()])",
                *returned_code(self.names(), "top(first(x))"),
            ]
        )

    def names(self) -> list[str]:
        return snippet_names(self.flags, self.layer.state_names)

    def observation(self, namespace: dict) -> Observation:
        """The top layer's returned tensors, both layers' weights (drawn from one generator: the first
        layer's, then the top layer's) and x."""
        weights = [np.asarray(w) for layer in (namespace["first"], namespace["top"]) for w in layer.get_weights()]
        return Observation([to_numpy(namespace[name]) for name in self.names()], weights, namespace["x"])


# Both layers of the refused stack are one width: the refusal comes before the top layer is built.
def stack_without_sequences_case(layer: RecurrentLayer, how: str) -> SteppedCase:
    """Two layers, the first without return_sequences, stacked on arrays (`call`, the step "call"), on
    an Input (`functional`) or in a Sequential model (both build a model: the step "build")."""
    made = layer.constructor_code(SHORT_DIMS.units, DEFAULT)
    shape = SHORT_DIMS.input_shape
    ways = {
        "call": ([data_code(shape)], "top(first(x))"),
        "functional": ([], f"top(first(keras.Input(shape={shape[1:]})))"),
        "Sequential": ([], f"keras.Sequential([keras.Input(shape={shape[1:]}), first, top])"),
    }
    data, stack = ways[how]
    steps = (("build", "\n".join([*data, f"first, top = {made}, {made}"])), ("call" if how == "call" else "build", stack))
    return SteppedCase(layer, f"{made} on {made}, stacked by {stack}", steps)
