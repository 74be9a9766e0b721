"""The recurrent layers under test, and the four flag combinations of the notes, as data.

Claims are parametrized over `LAYERS` and `FLAGS`; adding a layer (a cell wrapped in RNN, a
wrapper, a user's own layer) means adding an entry here, not touching the claims. SPEC_LAYERS
replaces Keras' own layers by entries of the user's (README, "Your own layer"); the claims that
need what an entry lacks (a reference, a cell), and those about Keras' own classes, then skip with
the reason printed.
"""

import functools
import importlib
import os
from dataclasses import dataclass, field, replace
from typing import Callable

import pytest

from spec import reference
from spec.semantics import returned_by_reference, returned_names
from spec.subject import keras


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: entries are singletons
class RecurrentLayer:
    """One layer under test: how to make it, what states it returns, how to compute it in float64."""

    name: str
    layer_class: Callable  # a Keras layer class, or any callable taking the same arguments
    state_names: tuple[str, ...]
    # (weights, inputs, initial_state=None, **options) -> (sequence, [states]); None: no reference,
    # and the claims that compare numbers with it are skipped with that reason.
    reference: Callable | None
    options: dict = field(default_factory=dict)  # constructor arguments beyond units and flags
    # The cell class the layer runs, taking (units, **options): keras.layers.RNN(cell(units)) must
    # return what the layer returns (chapter 15). None: that chapter skips the layer.
    cell: Callable | None = None

    def with_options(self, **options) -> "RecurrentLayer":
        """The same layer with more constructor arguments, named after them: LSTM(go_backwards=True).

        Make variants once, at module level: entries are compared by identity, so a variant made
        anew for each test would defeat the observation cache.
        """
        described = ", ".join(f"{k}={v!r}" for k, v in options.items())
        return replace(self, name=f"{self.name}({described})", options={**self.options, **options})

    def make(self, units: int, flags: "Flags"):
        return self.layer_class(units, **self.options, **flags.kwargs())

    def constructor_code(self, units: int, flags: "Flags") -> str:
        """The Keras expression that makes this layer, for reproduction snippets."""
        public = getattr(keras.layers, self.layer_class.__name__, None)
        where = "keras.layers" if public is self.layer_class else self.layer_class.__module__
        arguments = [str(units)]
        arguments += [f"{k}={v!r}" for k, v in self.options.items()]
        arguments += [f"{k}=True" for k, v in flags.kwargs().items() if v]
        return f"{where}.{self.layer_class.__name__}({', '.join(arguments)})"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Flags:
    """One of the notes' four configurations of return_sequences and return_state."""

    return_sequences: bool
    return_state: bool

    def kwargs(self) -> dict:
        return {"return_sequences": self.return_sequences, "return_state": self.return_state}

    def __str__(self) -> str:
        words = [w for w, on in (("sequences", self.return_sequences), ("state", self.return_state)) if on]
        return "-".join(words) or "default"


SIMPLE_RNN = RecurrentLayer(
    "SimpleRNN", keras.layers.SimpleRNN, ("h",), reference.simple_rnn, cell=keras.layers.SimpleRNNCell
)
GRU = RecurrentLayer("GRU", keras.layers.GRU, ("h",), reference.gru, cell=keras.layers.GRUCell)
LSTM = RecurrentLayer("LSTM", keras.layers.LSTM, ("h", "c"), reference.lstm, cell=keras.layers.LSTMCell)
# GRU's other documented variant (the reset gate applied before the recurrent matmul); the
# reference chapter checks it, the structural claims do not need it twice.
GRU_RESET_BEFORE = RecurrentLayer(
    "GRU(reset_after=False)",
    keras.layers.GRU,
    ("h",),
    functools.partial(reference.gru, reset_after=False),
    {"reset_after": False},
    cell=keras.layers.GRUCell,
)


def selected_layers() -> tuple[RecurrentLayer, ...]:
    """The layers under test: Keras' own, or those named by SPEC_LAYERS=package.module:ATTRIBUTE.

    The attribute is a RecurrentLayer or a sequence of them; see README, "Your own layer".
    """
    target = os.environ.get("SPEC_LAYERS")
    if not target:
        return (SIMPLE_RNN, GRU, LSTM)
    module_name, _, attribute = target.partition(":")
    found = getattr(importlib.import_module(module_name), attribute)
    entries = (found,) if isinstance(found, RecurrentLayer) else tuple(found)
    if not entries or not all(isinstance(entry, RecurrentLayer) for entry in entries):
        raise TypeError(f"SPEC_LAYERS={target} must name a RecurrentLayer or a non-empty sequence of them")
    return entries


LAYERS = selected_layers()
KERAS_OWN_LAYERS = LAYERS == (SIMPLE_RNN, GRU, LSTM)
LAYER_VARIANTS = (*LAYERS, GRU_RESET_BEFORE) if KERAS_OWN_LAYERS else LAYERS


def reference_of(layer: RecurrentLayer) -> Callable:
    """The layer's float64 reference; a layer the catalogue gives none skips the claim that needs it."""
    if layer.reference is None:
        pytest.skip(f"{layer} has no float64 reference in the catalogue")
    return layer.reference


def reference_outputs(case, weights, inputs) -> tuple[list[str], list]:
    """What the case returns by its layer's float64 reference, run on `weights` and `inputs`:
    (names, arrays), in order."""
    sequence, states = reference_of(case.layer)(weights, inputs)
    return returned_names(case), returned_by_reference(case, sequence, states)


def about_keras_own_classes(what: str):
    """Marks claims about Keras' own classes (what: which ones), skipped with that reason under SPEC_LAYERS."""
    return pytest.mark.skipif(
        not KERAS_OWN_LAYERS,
        reason=f"about Keras' own {what}, not the layers under test (SPEC_LAYERS={os.environ.get('SPEC_LAYERS')})",
    )


DEFAULT = Flags(return_sequences=False, return_state=False)
SEQUENCES = Flags(return_sequences=True, return_state=False)
STATE = Flags(return_sequences=False, return_state=True)
SEQUENCES_STATE = Flags(return_sequences=True, return_state=True)
FLAGS = (DEFAULT, SEQUENCES, STATE, SEQUENCES_STATE)
