"""The executable specification of Keras recurrent layers' return_sequences and return_state.

The public API for layer authors (README, "Your own layer"): `claims_for` (keras_rnn_spec/authors.py),
`RecurrentLayer` and `KERAS_LAYERS` (keras_rnn_spec/catalogue.py). The last two are read on first use:
the package's pytest plugin is loaded into every pytest run, and importing them imports Keras.
"""

from keras_rnn_spec.authors import claims_for

__all__ = ["KERAS_LAYERS", "RecurrentLayer", "claims_for"]


def __getattr__(name: str):
    if name in ("KERAS_LAYERS", "RecurrentLayer"):
        from keras_rnn_spec import catalogue

        return getattr(catalogue, name)
    raise AttributeError(f"module 'keras_rnn_spec' has no attribute {name!r}")
