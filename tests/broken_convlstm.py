"""A pytest plugin that plants a fault in Keras' own ConvLSTM2D, for chapter 17's self-test.

Chapter 17 runs keras.layers.ConvLSTM1D and ConvLSTM2D whatever SPEC_LAYERS names, so the fault
goes where the chapter reads the class: loaded with `-p broken_convlstm`, this module replaces
keras.layers.ConvLSTM2D, before the chapter is imported, with a subclass that returns its states
in the wrong order. ConvLSTM1D stays Keras' own.
"""

from keras_rnn_spec.subject import keras


class SwappedStatesConvLSTM2D(keras.layers.ConvLSTM2D):
    """With return_state=True, returns [output, c, h]."""

    def call(self, sequences, initial_state=None, mask=None, training=False):
        returned = super().call(sequences, initial_state=initial_state, mask=mask, training=training)
        if not self.return_state:
            return returned
        output, *states = returned
        return [output, *states[::-1]]


keras.layers.ConvLSTM2D = SwappedStatesConvLSTM2D
