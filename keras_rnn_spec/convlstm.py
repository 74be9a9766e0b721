"""Chapter 17's cases: ConvLSTM1D and ConvLSTM2D in each flag configuration, what their reproducers
print and bind, and their float64 reference.
"""

from dataclasses import dataclass

from keras_rnn_spec.catalogue import FLAGS, Flags
from keras_rnn_spec.observe import preamble, returned_code, seeding_code, snippet_names
from keras_rnn_spec.subject import keras

FILTERS = 3
KERNEL_SIZE = 3


@dataclass(frozen=True)
class ConvCase:
    """A ConvLSTM layer in one flag configuration, called directly on channels-last input."""

    name: str  # where the reproducer finds the class: keras.layers.ConvLSTM1D or ConvLSTM2D
    flags: Flags
    input_shape: tuple[int, ...]  # (batch, timesteps, *spatial, channels)

    @property
    def layer_class(self) -> type:
        return getattr(keras.layers, self.name)

    def __str__(self) -> str:
        # The class's own name: a class the self-tests plant in keras.layers names its tests.
        return f"{self.layer_class.__name__}-{self.flags}"

    def with_flags(self, flags: Flags) -> "ConvCase":
        return ConvCase(self.name, flags, self.input_shape)

    def constructor_code(self) -> str:
        flags = "".join(f", {name}=True" for name, on in self.flags.kwargs().items() if on)
        return f"keras.layers.{self.name}({FILTERS}, {KERNEL_SIZE}{flags})"

    def describe(self) -> str:
        return f"{self.constructor_code()} via a direct layer call, input {self.input_shape}, seeded uniform weights"

    def snippet(self) -> str:
        return "\n".join(
            [
                *preamble(self.input_shape),
                f"layer = {self.constructor_code()}",
                f"layer.build({self.input_shape})",
                seeding_code(),
                *returned_code(self.names(), "layer(x)"),
            ]
        )

    def names(self) -> list[str]:
        return snippet_names(self.flags, ("h", "c"))


# Spatial sizes unequal and larger than the kernel, so that rows and cols cannot be confused and
# "valid" padding visibly shrinks them. Three timesteps make the last step differ from the first,
# which is all the relations need (each step is an eager call of two convolutions per gate).
INPUT_SHAPES = {
    "ConvLSTM1D": (2, 3, 7, 2),  # (batch, timesteps, rows, channels)
    "ConvLSTM2D": (2, 3, 6, 5, 2),  # (batch, timesteps, rows, cols, channels)
}


def cases(flags=FLAGS) -> list[ConvCase]:
    return [ConvCase(name, flag, shape) for name, shape in INPUT_SHAPES.items() for flag in flags]
