"""An Elman RNN written as a cell in keras.layers.RNN, and its catalogue entry: a template to copy
(README, "Your own layer").

Run the spec on it from the repository root: SPEC_LAYERS=examples.my_layer:LAYERS pytest
"""

import numpy as np

from keras_rnn_spec import reference
from keras_rnn_spec.catalogue import RecurrentLayer
from keras_rnn_spec.subject import keras  # the Keras the spec runs on (Keras 3, or tf-keras as Keras 2)

serializable = keras.saving.register_keras_serializable(package="my_layer")


@serializable
class MyCell(keras.layers.Layer):
    """One step: h_t = tanh(x_t W + h_{t-1} U + b); states [h], output h."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = [units]  # one size per state, in the order the layer returns the states
        self.output_size = units

    def build(self, input_shape):
        features = input_shape[-1]
        self.kernel = self.add_weight(shape=(features, self.units), initializer="glorot_uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units), initializer="orthogonal", name="recurrent_kernel"
        )
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, inputs, states, training=False):
        h = keras.activations.tanh(inputs @ self.kernel + states[0] @ self.recurrent_kernel + self.bias)
        return h, [h]

    def get_config(self):  # keras.layers.RNN(MyCell(units)) is copied and saved through it
        return {**super().get_config(), "units": self.units}


@serializable
class MyRNN(keras.layers.RNN):
    """The layer: MyRNN(units, return_sequences=..., return_state=..., and RNN's other arguments)."""

    def __init__(self, units, **kwargs):
        super().__init__(MyCell(units), **kwargs)
        self.input_spec = [keras.layers.InputSpec(ndim=3)]  # as Keras' own layers; RNN has none

    def get_config(self):  # Bidirectional copies the layer through it; a saved model is loaded from it
        config = super().get_config()
        del config["cell"]  # RNN's config holds the cell; MyRNN makes its own from units
        return {**config, "units": self.cell.units}

    @classmethod
    def from_config(cls, config):  # RNN's own would call MyRNN(cell, **config)
        return cls(**config)


def my_rnn_reference(weights, inputs, initial_state=None, **options):
    """(sequence, [h]) in float64, from get_weights() = [kernel, recurrent_kernel, bias]. `options`
    (go_backwards, mask, zero_output_for_mask) are the spec's, which reference.scan applies."""
    kernel, recurrent, bias = (np.asarray(w, dtype=np.float64) for w in weights)

    def step(x_t, states):  # x_t (batch, features), states [h (batch, units)] -> (output, new states)
        h = np.tanh(x_t @ kernel + states[0] @ recurrent + bias)
        return h, [h]

    batch, units = np.shape(inputs)[0], recurrent.shape[0]
    states = initial_state if initial_state is not None else [np.zeros((batch, units))]
    return reference.scan(step, inputs, states, **options)


LAYERS = [RecurrentLayer("MyRNN", MyRNN, ("h",), my_rnn_reference, cell=MyCell)]
