"""Chapter 15's cases: RNN over a built-in cell, over a list of cells (a stack), and around the spec's
own cell (TwiceHCountingCell), with the float64 reference of each.
"""

import functools
from dataclasses import dataclass, replace

import numpy as np
import pytest

from keras_rnn_spec import reference
from keras_rnn_spec.catalogue import DEFAULT, FLAGS, GRU, LSTM, SIMPLE_RNN, Flags, RecurrentLayer
from keras_rnn_spec.observe import Case, Dims, Observation
from keras_rnn_spec.subject import keras, to_numpy

CELL_OF = {SIMPLE_RNN: keras.layers.SimpleRNNCell, GRU: keras.layers.GRUCell, LSTM: keras.layers.LSTMCell}
STEP_OF = {SIMPLE_RNN: reference.simple_rnn_step, GRU: reference.gru_step, LSTM: reference.lstm_step}


def class_code(cls: type) -> str:
    """How a reader reaches a class: keras.layers.LSTMCell, or the module that defines it."""
    public = getattr(keras.layers, cls.__name__, None)
    return f"{'keras.layers' if public is cls else cls.__module__}.{cls.__name__}"


def flags_code(flags: Flags) -> str:
    return "".join(f", {name}=True" for name, on in flags.kwargs().items() if on)


@dataclass(frozen=True, eq=False)
class CellInRNN(RecurrentLayer):
    """keras.layers.RNN around one cell of `layer_class` (a cell class) with the case's units."""

    def make(self, units: int, flags: Flags):
        return keras.layers.RNN(self.layer_class(units, **self.options), **flags.kwargs())

    def constructor_code(self, units: int, flags: Flags) -> str:
        return f"keras.layers.RNN({class_code(self.layer_class)}({units}){flags_code(flags)})"


def cell_list_code(cells) -> str:
    return "[" + ", ".join(f"{class_code(CELL_OF[layer])}({width})" for layer, width in cells) + "]"


@dataclass(frozen=True, eq=False)
class StackInRNN(RecurrentLayer):
    """keras.layers.RNN around a list of cells, each of its own width (the case's units are unused).

    `spelled_out`: the caller wraps the list in keras.layers.StackedRNNCells, instead of RNN.
    """

    cells: tuple[tuple[RecurrentLayer, int], ...] = ()
    spelled_out: bool = False

    def make(self, units: int, flags: Flags):
        cells = [CELL_OF[layer](width) for layer, width in self.cells]
        return keras.layers.RNN(keras.layers.StackedRNNCells(cells) if self.spelled_out else cells, **flags.kwargs())

    def constructor_code(self, units: int, flags: Flags) -> str:
        cells = cell_list_code(self.cells)
        cells = f"keras.layers.StackedRNNCells({cells})" if self.spelled_out else cells
        return f"keras.layers.RNN({cells}{flags_code(flags)})"


def chained_reference(cells, weights, inputs):
    """A stack in float64: at each step, cell after cell, each cell's output the next one's input.

    Returns the last cell's output sequence and the final states as one list per cell, in the
    cells' order.
    """
    steps, counts, states, offset = [], [], [], 0
    for layer, width in cells:
        steps.append(STEP_OF[layer](weights[offset : offset + 3]))  # every built-in cell has 3 weights
        counts.append(len(layer.state_names))
        states += [np.zeros((np.shape(inputs)[0], width)) for _ in layer.state_names]
        offset += 3

    def step(x_t, flat_states):
        new_states, start = [], 0
        for cell_step, count in zip(steps, counts, strict=True):
            x_t, cell_states = cell_step(x_t, flat_states[start : start + count])
            new_states += cell_states
            start += count
        return x_t, new_states

    sequence, flat = reference.scan(step, inputs, states)
    ends = np.cumsum(counts)
    return sequence, [flat[end - count : end] for count, end in zip(counts, ends, strict=True)]


def stack(*cells: tuple[RecurrentLayer, int], spelled_out: bool = False) -> StackInRNN:
    """The catalogue entry of RNN around these (layer kind, width) cells, named as Keras code reads."""
    listed = cell_list_code(cells).replace("keras.layers.", "").replace(" ", "")
    name = f"RNN(StackedRNNCells({listed}))" if spelled_out else f"RNN({listed})"
    reference_of_stack = functools.partial(chained_reference, cells)
    return StackInRNN(name, keras.layers.RNN, (), reference_of_stack, cells=cells, spelled_out=spelled_out)


class TwiceHCountingCell(keras.layers.Layer):
    """A user's cell whose output is not its state: a SimpleRNN cell that outputs 2 * h.

    Its states are h (units wide) and the number of steps taken so far (1 wide): a second state of
    another size than the output.
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.inner = keras.layers.SimpleRNNCell(units)
        self.state_size = [units, 1]
        self.output_size = units

    def build(self, input_shape):
        self.inner.build(input_shape)

    def call(self, inputs, states):
        h, count = states
        h, _ = self.inner(inputs, [h])
        return 2 * h, [h, count + 1]


def twice_h_counting_reference(weights, inputs):
    """TwiceHCountingCell in float64: the sequence of 2 * h, then the states h and the step count."""
    sequence, (h,) = reference.simple_rnn(weights, inputs)
    count = np.full((inputs.shape[0], 1), float(inputs.shape[1]))
    return 2 * sequence, [h, count]


# Each RNN(cell) entry, and the layer under test it should behave like: the catalogue names each
# layer's cell (SPEC_LAYERS: the user's own). A layer that names none is listed, skipped.
@functools.cache  # one entry per layer: the observation cache compares entries by identity
def cell_in_rnn(layer: RecurrentLayer) -> CellInRNN:
    return CellInRNN(f"RNN({layer.cell.__name__})", layer.cell, layer.state_names, layer.reference, derived_from=layer)


def cell_cases(selected) -> list:
    return [Case(cell_in_rnn(layer), flags, "call") for layer in selected.layers if layer.cell is not None for flags in FLAGS] + [
        pytest.param(Case(layer, DEFAULT, "call"), id=str(layer), marks=pytest.mark.skip(reason=f"{layer} names no cell"))
        for layer in selected.layers
        if layer.cell is None
    ]

# Cells of different kinds and widths, so that a state given to the wrong cell, or states in the
# wrong order, show in the shapes as well as in the numbers. The one-cell list shows that a list
# nests its states even when there is nothing to tell apart.
STACKS = (
    stack((LSTM, 5), (GRU, 4)),
    stack((SIMPLE_RNN, 5), (LSTM, 4), spelled_out=True),
    stack((GRU, 5)),
)
# Stacks and the custom cell run on a shorter sequence than the notes' (an eager call costs per step
# and per cell); five steps carry the recurrence through every state.
SHORT_DIMS = Dims(batch=2, timesteps=5, features=3, units=5)


@dataclass(frozen=True)
class StackedCellsCase(Case):
    """RNN over a list of cells: what it returns nests the states, one list per cell."""

    def observation(self, namespace: dict) -> Observation:
        returned = namespace[self.names()[0]]  # the whole list: a stack's entry names no state
        outputs = nested_numpy(returned) if isinstance(returned, (list, tuple)) else [to_numpy(returned)]
        return Observation(outputs, [np.asarray(w) for w in namespace["layer"].get_weights()], namespace["x"])


STACK_CASES = [StackedCellsCase(entry, flags, "call", SHORT_DIMS) for entry in STACKS for flags in FLAGS]

CUSTOM = CellInRNN("RNN(TwiceHCountingCell)", TwiceHCountingCell, ("h", "count"), twice_h_counting_reference)
CUSTOM_CASES = [Case(CUSTOM, flags, "call", SHORT_DIMS) for flags in FLAGS]


def nested_numpy(value):
    """What a layer returned, as numpy arrays in lists that keep its nesting."""
    if isinstance(value, (list, tuple)):
        return [nested_numpy(item) for item in value]
    return to_numpy(value)


def shapes_of(value):
    """The nesting of a returned structure with each array replaced by its shape."""
    if isinstance(value, list):
        return [shapes_of(item) for item in value]
    return tuple(np.shape(value))


def cell_sizes(entry: StackInRNN, dims: Dims) -> list[Dims]:
    """The sizes each cell of the stack runs at: its input is the previous cell's output."""
    widths = [width for _, width in entry.cells]
    return [replace(dims, features=features, units=width) for features, width in zip([dims.features, *widths], widths)]


def states_of_each_cell(returned_states: list) -> list[list]:
    """Each cell's returned states as a list, whether the layer wrapped a one-state cell's or not."""
    return [item if isinstance(item, list) else [item] for item in returned_states]
