"""Rewriting what a recurrent layer returns: the mixin the broken layers (tests/broken_layers.py) and
the broken Keras classes (tests/broken_keras.py) share. It imports nothing of the spec, so that
broken_keras can plant its classes before the spec's catalogue binds Keras' own."""


def output_and_states(returned) -> tuple:
    """What a layer's call returned, as (output, [states])."""
    if isinstance(returned, (list, tuple)):
        return returned[0], list(returned[1:])
    return returned, []


class ReturnedTensorsRewritten:
    """Mixin: the layer computes as its Keras class does, then `rewrite` changes what it returns."""

    def call(self, sequences, initial_state=None, mask=None, training=False):
        returned = super().call(sequences, initial_state=initial_state, mask=mask, training=training)
        output, states = self.rewrite(*output_and_states(returned))
        return [output, *states] if self.return_state else output

    def rewrite(self, output, states):
        raise NotImplementedError
