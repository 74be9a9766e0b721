"""The recurrent layers under test, and the four flag combinations of the notes, as data.

Claims are parametrized over the layers under test and `FLAGS`; adding a layer (a cell wrapped in RNN, a
wrapper, a user's own layer) means adding an entry here, not touching the claims. SPEC_LAYERS
replaces Keras' own layers by entries of the user's (README, "Your own layer"); the claims that
need what an entry lacks (a reference, a cell), and those about Keras' own classes, then skip with
the reason printed.
"""

import functools
import importlib
import traceback
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import pytest

from keras_rnn_spec import reference
from keras_rnn_spec.semantics import returned_by_reference, returned_names
from keras_rnn_spec.subject import as_list, keras


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
    derived_from: "RecurrentLayer | None" = None  # the entry this one is a variant of (`with_options`)

    def with_options(self, **options) -> "RecurrentLayer":
        """The same layer with more constructor arguments, named after them: LSTM(go_backwards=True),
        made once per entry and options (entries are compared by identity: a variant made anew for
        each test would defeat the observation cache)."""
        return variant(self, tuple(options.items()))

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


@functools.cache
def variant(layer: RecurrentLayer, options: tuple) -> RecurrentLayer:
    described = ", ".join(f"{k}={v!r}" for k, v in options)
    return replace(layer, name=f"{layer.name}({described})", options={**layer.options, **dict(options)}, derived_from=layer)


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


class SpecLayersError(ValueError):
    """The layers option names no catalogue entries; the message says what it found instead."""


def selected_layers(target: str) -> tuple[RecurrentLayer, ...]:
    """The layers under test: Keras' own, or those named by SPEC_LAYERS=package.module:ATTRIBUTE.

    The attribute is a RecurrentLayer or a list of them; see README, "Your own layer".
    """
    if not target:
        return KERAS_LAYERS
    module_name, colon, attribute = target.partition(":")
    if not colon:
        raise SpecLayersError("no ':' between the module and the attribute")
    if not (module_name and attribute):
        raise SpecLayersError(f"no {'attribute after' if module_name else 'module before'} the ':'")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # the user's module runs here; whatever it raises is reported in one line
        missing = isinstance(error, ModuleNotFoundError) and f"{module_name}.".startswith(f"{error.name}.")
        problem = f"there is no module {error.name}" if missing else f"importing {module_name} raised {raised_where(error)}"
        raise SpecLayersError(problem) from None
    if not hasattr(module, attribute):
        raise SpecLayersError(f"module {module_name} has no attribute {attribute}")
    found = getattr(module, attribute)
    if isinstance(found, RecurrentLayer):
        return (found,)
    if not isinstance(found, (list, tuple)):
        raise SpecLayersError(f"{attribute} is {described(found)}")
    if not found:
        raise SpecLayersError(f"{attribute} is an empty {type(found).__name__}")
    strays = [entry for entry in found if not isinstance(entry, RecurrentLayer)]
    if strays:
        raise SpecLayersError(f"{attribute} holds {described(strays[0])}")
    return tuple(found)


def described(value) -> str:
    """What SPEC_LAYERS found instead of a RecurrentLayer, with the fix for a class (the likeliest mistake)."""
    if isinstance(value, type):
        return (
            f"a class, not a catalogue entry: wrap it in keras_rnn_spec.catalogue.RecurrentLayer, "
            f'as RecurrentLayer("{value.__name__}", {value.__name__}, state_names, reference), and name that'
        )
    shown = repr(value)
    return f"{shown[:60] + '...' if len(shown) > 60 else shown}, not a RecurrentLayer"


def raised_where(error: Exception) -> str:
    """'ZeroDivisionError: division by zero (at my_layer.py:3)': the error and where it was raised."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if not frame.filename.startswith("<frozen")]
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"


KERAS_LAYERS = (SIMPLE_RNN, GRU, LSTM)


@dataclass(frozen=True)
class Selection:
    """The layers under test, resolved once per session by keras_rnn_spec/plugin.py and kept in its
    config's stash (SELECTION): the chapters are parametrized from it (keras_rnn_spec/parameters.py)."""

    target: str  # the MODULE:ATTRIBUTE they were chosen by, "" for Keras' own
    layers: tuple[RecurrentLayer, ...]
    chosen_in: str = ""  # where a layer author's claims_for chose them instead (authors.py)

    @property
    def chosen_by(self) -> str:
        """How the layers were chosen, in words: SPEC_LAYERS=module:ATTRIBUTE, or the claims_for that named them."""
        return f"claims_for in {self.chosen_in}" if self.chosen_in else f"SPEC_LAYERS={self.target}"

    @property
    def keras_own(self) -> bool:
        return self.layers == KERAS_LAYERS

    @property
    def variants(self) -> tuple[RecurrentLayer, ...]:
        """The layers, and with Keras' own, GRU's other documented variant too."""
        return (*self.layers, GRU_RESET_BEFORE) if self.keras_own else self.layers

    def __str__(self) -> str:
        """The layers in words, for the report header and the report's environment table."""
        names = ", ".join(str(layer) for layer in self.layers)
        return f"{names} (Keras' own)" if self.keras_own else f"{names} ({self.chosen_by})"


SELECTION = pytest.StashKey[Selection]()


def select(target: str) -> Selection:
    """The selection `target` names (MODULE:ATTRIBUTE, or "" for Keras' own); SpecLayersError says
    what is wrong with it."""
    return Selection(target, selected_layers(target))


def selection_of(config) -> Selection:
    """The session's layers under test: those its plugin resolved, else (a config the plugin did not
    configure for the spec) Keras' own."""
    return config.stash.get(SELECTION, Selection("", KERAS_LAYERS))


def selection_at(node) -> Selection:
    """The layers under test where `node` (a test, or the definition being parametrized) sits: those of
    the nearest node above it that holds a selection (a layer author's `claims_for`, authors.py),
    else the session's."""
    held = [above.stash[SELECTION] for above in node.listchain() if SELECTION in above.stash]
    return held[-1] if held else selection_of(node.config)


@functools.cache  # entries are hashed by identity; a failing layer fails many claims
def config_copy_problem(layer: RecurrentLayer) -> str:
    """What goes wrong when `layer` is copied through its config, as Bidirectional and .keras saving
    copy it (keras.layers.deserialize(keras.layers.serialize(layer))), or "" when nothing does."""
    try:
        made = layer.make(2, SEQUENCES_STATE)
    except Exception as error:
        return (
            f"Making {layer} as the spec does, {layer.constructor_code(2, SEQUENCES_STATE)}, raised "
            f"{type(error).__name__}: {error}. The spec calls layer_class(units, return_sequences=..., "
            "return_state=..., **options), options being keras.layers.RNN's keyword arguments "
            '(README, "Your own layer").'
        )
    inputs = np.random.default_rng(0).normal(size=(2, 3, 4)).astype("float32")
    try:
        outputs = as_list(made(inputs))
    except Exception:
        return ""  # the layer itself fails: the claim's own error says how
    name = type(made).__name__
    owner = next(cls for cls in type(made).__mro__ if "from_config" in vars(cls))
    from_config = f"{owner.__name__}.from_config" + ("" if owner is type(made) else f", which {name} inherits,")
    lead = f"{name} does not survive the copy through its config that Bidirectional and .keras saving make"
    fix = (
        f"Register {name} with keras.saving.register_keras_serializable, and give it a get_config that "
        "returns its constructor's arguments (without 'cell') and a from_config that calls "
        'cls(**config): README, "Your own layer", has a template.'
    )
    try:
        config = keras.layers.serialize(made)
    except Exception as error:
        return f"{lead}: its get_config raised {type(error).__name__}: {error}. {fix}"
    try:
        copy = keras.layers.deserialize(config)
    except Exception as error:
        return f"{lead}: {from_config} raised {type(error).__name__}: {error}, given get_config()'s config. {fix}"
    copied = f"the copy that {from_config} makes"
    try:
        copy.build(inputs.shape)
        copy.set_weights(made.get_weights())
        copied_outputs = as_list(copy(inputs))
    except Exception as error:
        return f"{lead}: {copied} raised {type(error).__name__}: {error}. {fix}"
    shapes, copied_shapes = ([list(np.shape(o)) for o in found] for found in (outputs, copied_outputs))
    if copied_shapes != shapes:
        return f"{lead}: {copied} returns tensors of shapes {copied_shapes}, the layer {shapes}. {fix}"
    if not all(map(np.array_equal, copied_outputs, outputs)):
        return f"{lead}: {copied} computes other numbers than the layer from the same weights and inputs. {fix}"
    return ""


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


def keras_classes_marks(what: str) -> list:
    """The marks of claims about Keras' own classes (what: which ones): `keras_classes`, which
    `-m "not keras_classes"` deselects and which skips, with that reason, when the layers under test
    are a user's (the claim says nothing about them; keras_rnn_spec/session.py)."""
    return [pytest.mark.keras_classes.with_args(what)]


def about_keras_own_classes(what: str) -> Callable:
    """Marks a claim about Keras' own classes (see `keras_classes_marks`)."""

    def marked(test):
        for mark in keras_classes_marks(what):
            test = mark(test)
        return test

    return marked


DEFAULT = Flags(return_sequences=False, return_state=False)
SEQUENCES = Flags(return_sequences=True, return_state=False)
STATE = Flags(return_sequences=False, return_state=True)
SEQUENCES_STATE = Flags(return_sequences=True, return_state=True)
FLAGS = (DEFAULT, SEQUENCES, STATE, SEQUENCES_STATE)
