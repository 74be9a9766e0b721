"""Masked runs for chapters 9 and 10: padded batches, the ways a mask reaches a recurrent layer,
and the mask the next layer receives.

A mask reaches the layer from one of three sources (the RNN docstrings' `mask` call argument and
their "Masking" section):
- "argument": `layer(x, mask=mask)`, a direct call;
- "Masking": `keras.layers.Masking(0.0)` before the layer, padded steps all zeros;
- "Embedding": `keras.layers.Embedding(..., mask_zero=True)` on token ids, 0 for padding.
The last two run in a functional model called directly (`model(x)`), the documented route along
which Keras propagates masks from layer to layer.

A masked case is observed by executing its reproducer (observe.executed). What the next layer
receives is read the way a user's own layer would: an identity layer whose `call` takes a `mask`
argument is applied to every tensor the reproducer returned (or its model's outputs) and keeps what
Keras hands it.
"""

import functools
from dataclasses import dataclass

import numpy as np

from keras_rnn_spec.catalogue import SEQUENCES_STATE, RecurrentLayer, reference_of
from keras_rnn_spec.observe import (
    DATA_SEED,
    READ,
    Case,
    Dims,
    Observation,
    data_code,
    inputs_for,
    reproduced_once,
    returned_code,
    seeding_code,
    set_seeded_weights,
    snippet_imports,
    snippet_names,
)
from keras_rnn_spec.semantics import returned_by_reference, returned_names
from keras_rnn_spec.subject import as_list, keras, to_numpy

MASK_DIMS = Dims(batch=4, timesteps=6, features=3, units=5)
# One batch holds rows of different valid lengths: a full row, two padded rows and a row with no
# valid step at all.
VALID_LENGTHS = (6, 4, 1, 0)
ROW_NAMES = ("full row", "4 valid steps", "1 valid step", "fully masked row")
FULLY_MASKED_ROW = VALID_LENGTHS.index(0)
PADDINGS = ("right", "left")
VOCABULARY = 10  # token ids 1..9; 0 is padding
EMBEDDING_SEED = 11


def backward(layers) -> list[RecurrentLayer]:
    """The go_backwards variants of `layers`, which both chapters run (each one's `derived_from` is its
    forward layer)."""
    return [layer.with_options(go_backwards=True) for layer in layers]

# The layer options the float64 reference also takes (reference.py's scan).
REFERENCE_OPTIONS = ("go_backwards", "zero_output_for_mask")


def padding_mask(padding: str, dims: Dims = MASK_DIMS) -> np.ndarray:
    """Boolean (batch, timesteps), True at valid steps: VALID_LENGTHS steps at the start or the end."""
    steps = np.arange(dims.timesteps)
    lengths = np.array(VALID_LENGTHS)[:, None]
    return steps < lengths if padding == "right" else steps >= dims.timesteps - lengths


def valid_steps(row: int, padding: str, dims: Dims = MASK_DIMS) -> slice:
    """The steps of a row that its mask keeps."""
    length = VALID_LENGTHS[row]
    return slice(0, length) if padding == "right" else slice(dims.timesteps - length, dims.timesteps)


def reference_run(layer: RecurrentLayer, weights, inputs, mask=None):
    """The float64 reference with the layer's own go_backwards and zero_output_for_mask options."""
    options = {k: v for k, v in layer.options.items() if k in REFERENCE_OPTIONS}
    return reference_of(layer)(weights, inputs, mask=mask, **options)


def reference_outputs(case: Case, observed, mask=None) -> tuple[list[str], list[np.ndarray]]:
    """Names and float64 reference values of the tensors the case returns, in order."""
    sequence, states = reference_run(case.layer, observed.weights, observed.inputs, mask)
    return returned_names(case), returned_by_reference(case, sequence, states)


@dataclass(frozen=True)
class MaskedCase(Case):
    """A case whose batch is padded on one side, with the mask given through one of the three sources."""

    dims: Dims = MASK_DIMS
    padding: str = "right"
    source: str = "argument"

    def __str__(self) -> str:
        return f"{self.layer}-{self.flags}-{self.padding}-padded-via-{self.source}"

    def describe(self) -> str:
        layer = self.layer.constructor_code(self.dims.units, self.flags)
        via = {
            "argument": "mask= in a direct layer call",
            "Masking": "a Masking(0.0) layer in a functional model called directly",
            "Embedding": "Embedding(mask_zero=True) in a functional model called directly",
        }[self.source]
        d = self.dims
        data = f"token ids {(d.batch, d.timesteps)}" if self.source == "Embedding" else f"input {d.input_shape}"
        return (
            f"{layer}, {self.padding}-padded rows of valid lengths {VALID_LENGTHS}, mask via {via}, "
            f"{data}, seeded uniform weights"
        )

    def snippet(self) -> str:
        d = self.dims
        lengths = np.array(VALID_LENGTHS)[:, None].tolist()
        kept = "steps < lengths" if self.padding == "right" else f"steps >= {d.timesteps} - lengths"
        lines = [
            *snippet_imports(self.layer),
            f"steps, lengths = np.arange({d.timesteps}), np.array({lengths})",
            f"mask = {kept}",
            f"layer = {self.layer.constructor_code(d.units, self.flags)}",
        ]
        if self.source == "argument":
            lines += [data_code(d.input_shape), f"layer.build({d.input_shape})"]
        elif self.source == "Masking":
            lines += [
                data_code(d.input_shape),
                "x = x * mask[..., None]",
                f"inputs = keras.Input(shape=({d.timesteps}, {d.features}))",
                "model = keras.Model(inputs, layer(keras.layers.Masking(0.0)(inputs)))",
            ]
        else:
            lines += [
                f"x = np.random.default_rng({DATA_SEED}).integers(1, {VOCABULARY}, size={(d.batch, d.timesteps)}) * mask",
                f"inputs = keras.Input(shape=({d.timesteps},), dtype='int32')",
                f"embedding = keras.layers.Embedding({VOCABULARY}, {d.features}, mask_zero=True)",
                "model = keras.Model(inputs, layer(embedding(inputs)))",
                f"embedding.set_weights([np.random.default_rng({EMBEDDING_SEED}).normal(size=({VOCABULARY}, "
                f"{d.features})).astype('float32')])",
            ]
        run = "layer(x, mask=mask)" if self.source == "argument" else "model(x)"
        names = snippet_names(self.flags, self.layer.state_names)
        return "\n".join([*lines, seeding_code(), *returned_code(names, run)])

    def observation(self, namespace: dict) -> Observation:
        """The returned tensors, the layer's weights, the mask, and what the layer processed (the
        input, or the vectors Embedding gave for its ids)."""
        x = namespace["x"]
        processed = namespace["embedding"].get_weights()[0][x] if self.source == "Embedding" else x
        outputs = [to_numpy(namespace[name]) for name in self.names()]
        weights = [np.asarray(w) for w in namespace["layer"].get_weights()]
        return Observation(outputs, weights, np.asarray(processed), np.asarray(namespace["mask"]))


def masked_cases(layers, flags, paddings=PADDINGS, sources=("argument",)) -> list[MaskedCase]:
    """Every combination, for parametrize(..., ids=str): `LSTM-state-right-padded-via-argument`."""
    return [
        MaskedCase(layer, flag, "call" if source == "argument" else "model", padding=padding, source=source)
        for layer in layers
        for flag in flags
        for padding in paddings
        for source in sources
    ]


class MaskReceiver(keras.layers.Layer):
    """An identity layer that keeps the mask Keras hands it, as any layer after the RNN would get it."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.received = None

    def call(self, inputs, mask=None):
        self.received = mask
        return inputs


def masks_passed_on(case: MaskedCase) -> list:
    """Per returned tensor, the mask the next layer received (None: none), from the objects the case's
    reproducer made: with the mask as an argument, a MaskReceiver takes each tensor it returned;
    through Masking or Embedding, a MaskReceiver after each output of its model, in a model on the
    same inputs, called on its `x`."""
    READ.append(case)  # a cached observation was read too
    return _masks_passed_on(case)


@functools.cache
def _masks_passed_on(case: MaskedCase) -> list:
    namespace = reproduced_once(case)
    if case.source == "argument":
        receivers = [MaskReceiver() for _ in case.names()]
        for receiver, name in zip(receivers, case.names()):
            receiver(namespace[name])
    else:
        model = namespace["model"]
        receivers = [MaskReceiver() for _ in model.outputs]
        receiving = keras.Model(namespace["inputs"], [receiver(tensor) for receiver, tensor in zip(receivers, model.outputs)])
        for receiver in receivers:
            receiver.received = None  # forget the symbolic mask seen while the model was built
        receiving(namespace["x"])
    return [None if r.received is None else to_numpy(r.received).astype(bool) for r in receivers]


@functools.cache
def unpadded_rows(layer: RecurrentLayer, padding: str, dims: Dims = MASK_DIMS) -> list:
    """The same layer (same seeded weights, no mask) run on each row's valid steps alone.

    Returns, per row, the returned tensors [sequence, *states] of a return_sequences=True,
    return_state=True layer on the batch of that one row, or None for a row with no valid step.
    """
    x = inputs_for(dims)
    case = Case(layer, SEQUENCES_STATE, "call", dims)
    plain = layer.make(dims.units, SEQUENCES_STATE)
    plain.build(dims.input_shape)
    set_seeded_weights(plain, case)
    return [
        as_list(plain(x[row : row + 1, valid_steps(row, padding, dims)])) if VALID_LENGTHS[row] else None
        for row in range(dims.batch)
    ]
