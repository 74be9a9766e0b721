"""A user's own recurrent layer, run through the whole spec: an LSTM whose input gate is 1 - f.

The coupled input and forget gate LSTM (CIFG, in Greff et al., "LSTM: A Search Space Odyssey",
2017) drops LSTM's input gate and writes to the cell state what the forget gate lets go:

    f = sigmoid(x W_f + h U_f + b_f), g = tanh(x W_g + h U_g + b_g), o = sigmoid(x W_o + h U_o + b_o)
    c_t = f c_{t-1} + (1 - f) g,      h_t = o tanh(c_t)

It is written the way the Keras guides recommend for a new recurrent layer: a cell, and
`keras.layers.RNN` around it, which brings return_sequences, return_state, go_backwards, masking,
stateful and unroll. To run the spec on it, from the repository root:

    pytest --rnn-spec-layers=examples.coupled_lstm:LAYERS

or, with the package installed, from a folder holding this file:

    pytest --pyargs keras_rnn_spec --rnn-spec-layers=coupled_lstm:LAYERS

`LAYERS` is the catalogue entry the spec reads (keras_rnn_spec/catalogue.py, RecurrentLayer): the layer's
name, a callable that makes it, the names of its states in the order it returns them, its float64
reference, and its cell.
"""

import numpy as np

from keras_rnn_spec import reference
from keras_rnn_spec.catalogue import RecurrentLayer
from keras_rnn_spec.subject import keras  # the Keras the spec runs on (Keras 3, or tf-keras as Keras 2)

serializable = keras.saving.register_keras_serializable(package="examples")


@serializable
class CoupledLSTMCell(keras.layers.Layer):
    """One step of the coupled LSTM; states [h, c], output h."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape):
        # The gates side by side, f then g then o, as LSTM's kernels hold i, f, c, o.
        width = 3 * self.units
        self.kernel = self.add_weight(shape=(input_shape[-1], width), initializer="glorot_uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width), initializer="orthogonal", name="recurrent_kernel"
        )
        self.bias = self.add_weight(shape=(width,), initializer="zeros", name="bias")

    def call(self, inputs, states, training=False):
        h, c = states
        z = inputs @ self.kernel + h @ self.recurrent_kernel + self.bias
        units = self.units
        f = keras.activations.sigmoid(z[:, :units])
        g = keras.activations.tanh(z[:, units : 2 * units])
        o = keras.activations.sigmoid(z[:, 2 * units :])
        c = f * c + (1 - f) * g
        h = o * keras.activations.tanh(c)
        return h, [h, c]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@serializable
class CoupledLSTM(keras.layers.RNN):
    """The layer: CoupledLSTM(units, return_sequences=..., return_state=..., and RNN's other arguments)."""

    def __init__(self, units, **kwargs):
        super().__init__(CoupledLSTMCell(units), **kwargs)
        # What Keras' own SimpleRNN, GRU and LSTM declare (RNN does not): without it a 2-D input
        # fails deep inside the cell instead of with "expected ndim=3" (chapters 16 and 21). A list,
        # as Keras 2's RNN.build expects.
        self.input_spec = [keras.layers.InputSpec(ndim=3)]

    def get_config(self):
        # Bidirectional copies the layer through its config, and a saved model is loaded from it.
        config = super().get_config()
        del config["cell"]
        return {**config, "units": self.cell.units}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def coupled_lstm_step(weights):
    """The float64 step, from get_weights() = [kernel, recurrent_kernel, bias]."""
    kernel, recurrent, bias = (np.asarray(w, dtype=np.float64) for w in weights)
    units = recurrent.shape[0]

    def step(x_t, states):
        h, c = states
        z = x_t @ kernel + h @ recurrent + bias
        f, g, o = (z[:, k * units : (k + 1) * units] for k in range(3))
        f = reference.sigmoid(f)
        c = f * c + (1 - f) * np.tanh(g)
        h = reference.sigmoid(o) * np.tanh(c)
        return h, [h, c]

    return step


def coupled_lstm_reference(weights, inputs, initial_state=None, **options):
    """(sequence, [h, c]) in float64. `options` are the spec's go_backwards, mask and
    zero_output_for_mask, which keras_rnn_spec.reference.scan applies as the RNN docstrings describe."""
    batch, units = np.shape(inputs)[0], np.shape(weights[1])[0]
    states = initial_state if initial_state is not None else [np.zeros((batch, units))] * 2
    return reference.scan(coupled_lstm_step(weights), inputs, states, **options)


LAYERS = [RecurrentLayer("CoupledLSTM", CoupledLSTM, ("h", "c"), coupled_lstm_reference, cell=CoupledLSTMCell)]
