"""A pytest plugin that plants faults in Keras' own classes, for the claims that no user's layer can break.

Chapters 14 (GRU's and LSTM's implementation setting, SimpleRNN's constructor), 15 (RNN around the
spec's custom cell and around lists of cells) and 17 (ConvLSTM1D and ConvLSTM2D) run Keras' own
classes whatever SPEC_LAYERS says; three claims of chapters 13, 18 and 21 are about keras.Model and
keras.Sequential, which decide them before or around any layer. So a fault goes where a chapter reads the class. Loaded with `-p broken_keras`, each
`--keras-fault NAME` replaces one Keras class, before the chapters are imported, with the subclass
of that name below, which breaks one behaviour:

    PYTHONPATH=tests pytest -p broken_keras --keras-fault SwappedStatesConvLSTM2D keras_rnn_spec/test_convlstm.py

Two faults in one class would be indistinguishable, so a run takes at most one per class.
"""

import sys

import pytest

from keras_rnn_spec.subject import keras
from rewritten_returns import ReturnedTensorsRewritten

ops, tree = keras.ops, keras.tree
StackedRNNCells = keras.layers.StackedRNNCells
# RNN([cells]) wraps its list in the StackedRNNCells of Keras' own rnn module, not keras.layers'.
RNN_MODULE = sys.modules[keras.layers.RNN.__module__]


class HAsOutputRNN(keras.layers.RNN):
    """Returns its cell's h, the cell's first state (a stack's: its last cell's), as the last output,
    instead of what the cell output. Keras' cells output their h, so only a cell that outputs
    something else shows it."""

    def inner_loop(self, *args, **kwargs):
        _, outputs, states = super().inner_loop(*args, **kwargs)
        cell_states = states[-1] if isinstance(self.cell, StackedRNNCells) else states
        return tree.flatten(cell_states)[0], outputs, states


class FirstWidthInitialStatesRNN(keras.layers.RNN):
    """For a cell that makes no initial states of its own (Keras' cells and StackedRNNCells do), makes
    each one as wide as the first state, state_size[0], instead of its own width."""

    def get_initial_state(self, batch_size):
        if getattr(self.cell, "get_initial_state", None):
            return super().get_initial_state(batch_size)
        return [ops.zeros((batch_size, self.state_size[0]), dtype=self.cell.compute_dtype) for _ in self.state_size]


class LaggingStackedRNNCells(StackedRNNCells):
    """Feeds each cell after the first the output of the cell before it from the previous step (that
    cell's h before this step), instead of its output at this step."""

    def call(self, inputs, states, training=False, **kwargs):
        new_states = []
        for index, (cell, cell_states) in enumerate(zip(self.cells, states)):
            step_input = inputs if index == 0 else tree.flatten(states[index - 1])[0]
            output, cell_states = cell(step_input, cell_states, training=training)
            new_states.append(cell_states)
        return output, new_states


class BareOneStateStackedRNNCells(StackedRNNCells):
    """Hands a cell that has one state that state bare, not in a list, so that it comes back bare (as
    Keras 2's stacks return it)."""

    def get_initial_state(self, batch_size=None):
        return [states[0] if len(states) == 1 else states for states in super().get_initial_state(batch_size)]


class SwappedStatesConvLSTM2D(ReturnedTensorsRewritten, keras.layers.ConvLSTM2D):
    """With return_state=True, returns [output, c, h]."""

    def rewrite(self, output, states):
        return output, states[::-1]


class HForCConvLSTM2D(ReturnedTensorsRewritten, keras.layers.ConvLSTM2D):
    """With return_state=True, returns h where c belongs: [output, h, h]."""

    def rewrite(self, output, states):
        return output, states[:1] * 2


class ReversedWithSequencesConvLSTM1D(keras.layers.ConvLSTM1D):
    """With return_sequences=True, reads the input from its last step to its first."""

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if self.return_sequences:
            sequences = ops.flip(sequences, axis=1)
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)


class SamePaddingConvLSTM1D(keras.layers.ConvLSTM1D):
    """Pads "same" whatever `padding` says, so the default "valid" no longer shrinks the rows."""

    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(filters, kernel_size, **{**kwargs, "padding": "same"})


class UncheckedInputModel(keras.Model):
    """Skips the check of an input against the model's Input, so a wrong feature size reaches the layers."""

    def _assert_input_compatibility(self, *args):
        return None


class ResetStateModel(keras.Model):
    """Has a reset_state() that resets each stateful layer, as keras-team/keras#17440 asks of Keras 3."""

    def reset_state(self):
        for layer in self.layers:
            if getattr(layer, "stateful", False):
                layer.reset_state()


class LastStateDroppedSequential(keras.Sequential):
    """Returns the list its last layer returns without its last tensor: [output, h] for [output, h, c]."""

    def call(self, inputs, training=None, mask=None):
        returned = super().call(inputs, training=training, mask=mask)
        return list(returned[:-1]) if isinstance(returned, (list, tuple)) else returned


class Implementation1LSTM(keras.layers.LSTM):
    """Defaults to implementation=1."""

    def __init__(self, units, implementation=1, **kwargs):
        super().__init__(units, implementation=implementation, **kwargs)


class ImplementationIgnoredSimpleRNN(keras.layers.SimpleRNN):
    """Accepts an implementation argument and ignores it, as Keras 2 does."""

    def __init__(self, units, implementation=None, **kwargs):
        super().__init__(units, **kwargs)


BROKEN = {
    broken.__name__: broken
    for broken in (
        HAsOutputRNN,
        FirstWidthInitialStatesRNN,
        LaggingStackedRNNCells,
        BareOneStateStackedRNNCells,
        SwappedStatesConvLSTM2D,
        HForCConvLSTM2D,
        ReversedWithSequencesConvLSTM1D,
        SamePaddingConvLSTM1D,
        UncheckedInputModel,
        ResetStateModel,
        LastStateDroppedSequential,
        Implementation1LSTM,
        ImplementationIgnoredSimpleRNN,
    )
}


def pytest_addoption(parser):
    parser.addoption(
        "--keras-fault",
        action="append",
        default=[],
        choices=sorted(BROKEN),
        help="replace the Keras class this subclass of it breaks (repeatable, one per class)",
    )


def replaced(broken: type) -> type:
    """The Keras class a broken class stands in for: its last base (a mixin may come before it)."""
    return broken.__bases__[-1]


def plant(broken: type) -> None:
    """Put `broken` where the chapters look the class up (keras.layers, or keras for the models), and
    where Keras does itself."""
    original = replaced(broken)
    setattr(keras.layers if hasattr(keras.layers, original.__name__) else keras, original.__name__, broken)
    if original is StackedRNNCells:
        RNN_MODULE.StackedRNNCells = broken


def pytest_load_initial_conftests(early_config):
    """Plant the faults before anything imports the chapters or keras_rnn_spec.catalogue, which binds
    keras.layers.LSTM and SimpleRNN as it is imported (the spec's plugin does, configuring the run)."""
    names = early_config.known_args_namespace.keras_fault
    classes = [replaced(BROKEN[name]).__name__ for name in names]
    twice = sorted({name for name in classes if classes.count(name) > 1})
    if twice:
        raise pytest.UsageError(f"--keras-fault: one fault per class in a run; {', '.join(twice)} was given more")
    for name in names:
        plant(BROKEN[name])
