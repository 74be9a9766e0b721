"""Deliberately broken recurrent layers: each a subclass of a Keras layer that breaks one behaviour.

The self-tests (tests/test_planted_faults.py) run the whole spec on them, all at once, with
`SPEC_LAYERS=broken_layers:UNDER_TEST`, and check that each fails exactly the claims its fault
breaks; beside them runs Keras' own LSTM without a float64 reference, which must skip exactly the
claims that need one.

Every layer here is otherwise Keras' own: same weights, same equations, same arguments (one also
takes Keras 2's batch_input_shape=, as part of its fault). Each is
registered for serialization, as a user's layer must be (Bidirectional rebuilds the layer from
its config, and chapter 20 saves and loads it).

`call` keeps the signature of Keras' own layers, `(sequences, initial_state=None, mask=None,
training=False)`: Keras reads the argument names to decide what to pass, a mask included.
"""

import numpy as np

from keras_rnn_spec import reference
from keras_rnn_spec.catalogue import RecurrentLayer
from keras_rnn_spec.subject import KERAS_MAJOR, keras
from rewritten_returns import ReturnedTensorsRewritten, output_and_states

serializable = keras.saving.register_keras_serializable(package="broken_layers")
cast = keras.ops.cast if KERAS_MAJOR >= 3 else keras.backend.cast


# Returned structure and order.


@serializable
class DroppedCellStateLSTM(ReturnedTensorsRewritten, keras.layers.LSTM):
    """With return_state=True, returns [output, h]: the cell state c is left out."""

    def rewrite(self, output, states):
        return output, states[:1]

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        shapes = super().compute_output_shape(sequences_shape, initial_state_shape)
        return shapes[:2] if self.return_state else shapes


@serializable
class SwappedStatesLSTM(ReturnedTensorsRewritten, keras.layers.LSTM):
    """With return_state=True, returns [output, c, h]: the states in the wrong order."""

    def rewrite(self, output, states):
        return output, states[::-1]


@serializable
class KeptTimeAxisSimpleRNN(ReturnedTensorsRewritten, keras.layers.SimpleRNN):
    """With neither flag, the output keeps a time axis of one step: (batch, 1, units), not (batch, units)."""

    def rewrite(self, output, states):
        if not (self.return_sequences or self.return_state):
            return output[:, None], states
        return output, states

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        shape = super().compute_output_shape(sequences_shape, initial_state_shape)
        if not (self.return_sequences or self.return_state):
            return (shape[0], 1, shape[1])
        return shape


@serializable
class LeadingZeroStepGRU(ReturnedTensorsRewritten, keras.layers.GRU):
    """With return_sequences=True, the sequence starts with a step of zeros: timesteps + 1 steps, the last still h."""

    def rewrite(self, output, states):
        if self.return_sequences:
            return keras.ops.concatenate([keras.ops.zeros_like(output[:, :1]), output], axis=1), states
        return output, states

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        shapes = super().compute_output_shape(sequences_shape, initial_state_shape)
        if not self.return_sequences:
            return shapes
        batch, timesteps, units = shapes[0] if self.return_state else shapes
        longer = (batch, None if timesteps is None else timesteps + 1, units)
        return (longer, *shapes[1:]) if self.return_state else longer


@serializable
class StatesUndeclaredGRU(keras.layers.GRU):
    """compute_output_shape declares the output alone, whatever return_state: a symbolic call (Input,
    Model, Sequential) sees one tensor, while a call on arrays returns the output and h."""

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        shapes = super().compute_output_shape(sequences_shape, initial_state_shape)
        return shapes[0] if self.return_state else shapes


# How the returned tensors relate.


@serializable
class FirstStepStateGRU(ReturnedTensorsRewritten, keras.layers.GRU):
    """With both flags, the returned h is the output after the first step, read from the wrong end."""

    def rewrite(self, output, states):
        if self.return_sequences and self.return_state:
            return output, [output[:, 0]]
        return output, states


@serializable
class DoubleActivationSimpleRNN(ReturnedTensorsRewritten, keras.layers.SimpleRNN):
    """With return_state=True and no sequences, the output goes through tanh a second time: it is not h."""

    def rewrite(self, output, states):
        if self.return_state and not self.return_sequences:
            return keras.activations.tanh(output), states
        return output, states


@serializable
class HForCLSTM(ReturnedTensorsRewritten, keras.layers.LSTM):
    """With return_state=True, returns h where c belongs: [output, h, h]."""

    def rewrite(self, output, states):
        return output, states[:1] * len(states)


# The sequence, the flags, the numbers.


@serializable
class ReversedSequenceGRU(ReturnedTensorsRewritten, keras.layers.GRU):
    """With return_sequences=True, the sequence comes back last step first; the states are right."""

    def rewrite(self, output, states):
        return (output[:, ::-1] if self.return_sequences else output), states


@serializable
class Float16SequencesSimpleRNN(keras.layers.SimpleRNN):
    """With return_sequences=True, the input is rounded to float16 first: the flags change the numbers."""

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if self.return_sequences:
            sequences = cast(cast(sequences, "float16"), "float32")
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)


@serializable
class HardSigmoidLSTM(keras.layers.LSTM):
    """Its gates use hard_sigmoid, not the documented sigmoid: consistent with itself, wrong in its numbers."""

    def __init__(self, units, **kwargs):
        kwargs["recurrent_activation"] = "hard_sigmoid"
        super().__init__(units, **kwargs)


@serializable
class ConstantKernelLSTM(keras.layers.LSTM):
    """Its kernel is initialised with ones, whatever the seed."""

    def __init__(self, units, **kwargs):
        kwargs["kernel_initializer"] = "ones"
        super().__init__(units, **kwargs)


@serializable
def unseeded_uniform(shape, dtype=None):
    """Weights from the operating system's entropy, which keras.utils.set_random_seed does not reach."""
    return np.random.default_rng().uniform(-0.5, 0.5, shape).astype("float32")


@serializable
class UnseededKernelLSTM(keras.layers.LSTM):
    """Its kernel is drawn without Keras' seed: two builds after the same set_random_seed differ."""

    def __init__(self, units, **kwargs):
        kwargs["kernel_initializer"] = unseeded_uniform
        super().__init__(units, **kwargs)


@serializable
class NoInputSpecGRU(keras.layers.GRU):
    """Declares no input spec (as keras.layers.RNN around a cell does not): nothing checks for 3 dimensions."""

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.input_spec = None


@serializable
class LenientInputLSTM(keras.layers.LSTM):
    """Runs what Keras refuses: missing initial states are completed with zeros, features beyond those it
    was built for are cut off, and a sequence of zero timesteps is answered with the initial states."""

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if initial_state is not None:
            missing = len(self.state_size) - len(initial_state)
            initial_state = [*initial_state, *[keras.ops.zeros_like(initial_state[0])] * missing]
        sequences = sequences[..., : self.cell.kernel.shape[0]]
        if sequences.shape[1] == 0:
            return self.without_steps(sequences, initial_state)
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)

    def without_steps(self, sequences, initial_state):
        """What a recurrence of no steps leaves: the initial states, an empty sequence or h as the output."""
        batch = keras.ops.shape(sequences)[0]
        states = initial_state or self.get_initial_state(batch)
        output = keras.ops.zeros((batch, 0, self.units)) if self.return_sequences else states[0]
        return [output, *states] if self.return_state else output


@serializable
class UnrollReversedSimpleRNN(keras.layers.SimpleRNN):
    """With unroll=True, the unrolled loop reads the steps last to first."""

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if self.unroll:
            sequences = sequences[:, ::-1]
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)


# go_backwards, masking, Bidirectional, saving.


@serializable
class InputOrderGoBackwardsLSTM(ReturnedTensorsRewritten, keras.layers.LSTM):
    """With go_backwards=True, the sequence is flipped back into the input's order (not processing order)."""

    def rewrite(self, output, states):
        return (output[:, ::-1] if self.go_backwards and self.return_sequences else output), states


@serializable
class MaskIgnoredGRU(keras.layers.GRU):
    """Runs every step as if unmasked; it still passes the mask on (compute_mask is Keras')."""

    def call(self, sequences, initial_state=None, mask=None, training=False):
        return super().call(sequences, initial_state=initial_state, mask=None, training=training)


@serializable
class MaskOnStatesLSTM(keras.layers.LSTM):
    """Passes the input's mask on with every returned tensor, states included, and without return_sequences."""

    def compute_mask(self, inputs, mask):
        mask = mask[0] if isinstance(mask, (list, tuple)) else mask
        return [mask] * (1 + len(self.state_size)) if self.return_state else mask


@serializable
class ProcessingOrderMaskLSTM(keras.layers.LSTM):
    """With go_backwards=True, passes the mask on reversed: in the processing order of the sequence
    it travels with, instead of the input's order that Keras keeps."""

    def compute_mask(self, inputs, mask):
        passed_on = super().compute_mask(inputs, mask)
        if not self.go_backwards:
            return passed_on
        if isinstance(passed_on, (list, tuple)):  # with return_state: the output's mask, then the states' (None)
            return [flipped_in_time(passed_on[0]), *passed_on[1:]]
        return flipped_in_time(passed_on)


def flipped_in_time(mask):
    return None if mask is None else keras.ops.flip(mask, axis=1)


@serializable
class GoBackwardsLostInConfigLSTM(keras.layers.LSTM):
    """from_config drops go_backwards: a copy made through the config, as Bidirectional makes, runs forwards."""

    @classmethod
    def from_config(cls, config):
        return cls(**{key: value for key, value in config.items() if key != "go_backwards"})


@serializable
class ReturnStateLostInConfigGRU(keras.layers.GRU):
    """get_config leaves return_state out: a copy made through the config returns no states."""

    def get_config(self):
        config = super().get_config()
        del config["return_state"]
        return config


# Passing state, stateful layers, cells.


@serializable
class ZeroInitialCellLSTM(keras.layers.LSTM):
    """Uses the h of initial_state and a zero c in place of the c given."""

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if initial_state is not None:
            initial_state = [initial_state[0], initial_state[1] * 0]
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)


@serializable
class ForgetfulStatefulGRU(keras.layers.GRU):
    """With stateful=True, sets its states back to zeros at the start of every call."""

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if self.stateful:
            self.reset_states()
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)


@serializable
class ResetIgnoredGRU(keras.layers.GRU):
    """reset_states() and reset_state() leave the states as they are."""

    def reset_state(self):
        pass

    def reset_states(self):
        pass


@serializable
class FixedCapacityStatefulGRU(keras.layers.GRU):
    """With stateful=True, keeps states for CAPACITY samples whatever batch it is built for (or none), pads
    each batch up to them and cuts the padding off what it returns: any batch up to CAPACITY runs. It
    takes Keras 2's batch_input_shape= too, and builds for it."""

    CAPACITY = 8

    def __init__(self, units, batch_input_shape=None, **kwargs):
        super().__init__(units, **kwargs)
        if batch_input_shape is not None:
            self.build(batch_input_shape)

    def build(self, sequences_shape, initial_state_shape=None):
        if self.stateful:
            sequences_shape = (self.CAPACITY, *sequences_shape[1:])
        super().build(sequences_shape, initial_state_shape)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if not self.stateful:
            return super().call(sequences, initial_state=initial_state, mask=mask, training=training)
        batch = keras.ops.shape(sequences)[0]
        padded = keras.ops.pad(sequences, [[0, self.CAPACITY - batch], [0, 0], [0, 0]])
        returned = super().call(padded, initial_state=initial_state, mask=mask, training=training)
        output, states = output_and_states(returned)
        output, states = output[:batch], [state[:batch] for state in states]
        return [output, *states] if self.return_state else output


@serializable
class OutputsCLSTMCell(keras.layers.LSTMCell):
    """An LSTM cell that outputs c instead of h (its states are right)."""

    def call(self, inputs, states, training=False):
        _, (h, c) = super().call(inputs, states, training=training)
        return c, [h, c]


def lstm_like(name, layer_class, **extra):
    return RecurrentLayer(name, layer_class, ("h", "c"), reference.lstm, **extra)


def gru_like(name, layer_class):
    return RecurrentLayer(name, layer_class, ("h",), reference.gru)


def simple_rnn_like(name, layer_class):
    return RecurrentLayer(name, layer_class, ("h",), reference.simple_rnn)


# The catalogue entries the spec runs, by the layer's name (tests read the name in test ids; no
# name is part of another). The last entry also runs chapter 13's one-layer claim.
BROKEN = (
    lstm_like("DroppedCellStateLSTM", DroppedCellStateLSTM),
    lstm_like("SwappedStatesLSTM", SwappedStatesLSTM),
    simple_rnn_like("KeptTimeAxisSimpleRNN", KeptTimeAxisSimpleRNN),
    gru_like("LeadingZeroStepGRU", LeadingZeroStepGRU),
    gru_like("StatesUndeclaredGRU", StatesUndeclaredGRU),
    gru_like("FirstStepStateGRU", FirstStepStateGRU),
    simple_rnn_like("DoubleActivationSimpleRNN", DoubleActivationSimpleRNN),
    lstm_like("HForCLSTM", HForCLSTM),
    gru_like("ReversedSequenceGRU", ReversedSequenceGRU),
    simple_rnn_like("Float16SequencesSimpleRNN", Float16SequencesSimpleRNN),
    lstm_like("HardSigmoidLSTM", HardSigmoidLSTM),
    lstm_like("ConstantKernelLSTM", ConstantKernelLSTM),
    lstm_like("UnseededKernelLSTM", UnseededKernelLSTM),
    gru_like("NoInputSpecGRU", NoInputSpecGRU),
    lstm_like("LenientInputLSTM", LenientInputLSTM),
    simple_rnn_like("UnrollReversedSimpleRNN", UnrollReversedSimpleRNN),
    lstm_like("InputOrderGoBackwardsLSTM", InputOrderGoBackwardsLSTM),
    gru_like("MaskIgnoredGRU", MaskIgnoredGRU),
    lstm_like("MaskOnStatesLSTM", MaskOnStatesLSTM),
    lstm_like("ProcessingOrderMaskLSTM", ProcessingOrderMaskLSTM),
    lstm_like("GoBackwardsLostInConfigLSTM", GoBackwardsLostInConfigLSTM),
    gru_like("ReturnStateLostInConfigGRU", ReturnStateLostInConfigGRU),
    lstm_like("ZeroInitialCellLSTM", ZeroInitialCellLSTM),
    gru_like("ForgetfulStatefulGRU", ForgetfulStatefulGRU),
    gru_like("ResetIgnoredGRU", ResetIgnoredGRU),
    gru_like("FixedCapacityStatefulGRU", FixedCapacityStatefulGRU),
    # Keras' own LSTM, correct; what is broken is the cell the entry says it runs. (Chapter 15's
    # ids name the cell, RNN(OutputsCLSTMCell), which holds the entry's name.)
    lstm_like("OutputsCLSTM", keras.layers.LSTM, cell=OutputsCLSTMCell),
)

# Not broken: Keras' own LSTM with no float64 reference in its entry.
WITHOUT_REFERENCE = RecurrentLayer(
    "LSTMWithoutReference", keras.layers.LSTM, ("h", "c"), None, cell=keras.layers.LSTMCell
)
UNDER_TEST = (*BROKEN, WITHOUT_REFERENCE)
