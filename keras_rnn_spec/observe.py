"""Build a layer with seeded weights, run it along one path, and keep what it returned.

A case is observed by executing the reproducer it prints (`Case.snippet`): the arrays a claim
checks are the names that code binds (`output, h, c`), so what a failure prints is what ran. The
code is compiled under a filename that names the case (`<reproducer LSTM-sequences-state-call>`),
so a traceback from inside it shows its lines. The paths are the notes' own (`Model(...).predict`)
and a direct call of the layer on a numpy array. Weights are drawn from a seeded numpy generator
and set with `set_weights`, so they are random and non-constant (constant initialisers make every
unit and gate alike and hide a swapped gate order) and identical on every Keras version and
backend, which seeded Keras initialisers are not.
"""

import functools
import linecache
import re
from dataclasses import dataclass, replace

import numpy as np

from keras_rnn_spec.catalogue import DEFAULT, Flags, RecurrentLayer
from keras_rnn_spec.semantics import output_name
from keras_rnn_spec.subject import KERAS_MAJOR, keras, to_numpy

DATA_SEED = 2  # the seed of the notes' reset_graph
WEIGHT_SEED = 7
STATE_SEED = 11  # initial states given to a layer
WEIGHT_SCALE = 0.5  # weights ~ U(-0.5, 0.5): gates stay away from saturation, so errors show

PATHS = ("predict", "call")
# A reproducer's way to read a tensor or a variable as a numpy array, on every backend (Keras 2: TensorFlow's).
TO_NUMPY_CODE = "keras.ops.convert_to_numpy" if KERAS_MAJOR >= 3 else "np.asarray"
# The module of a call in constructor code: "examples.coupled_lstm" in "examples.coupled_lstm.CoupledLSTM(5)".
CALLED_MODULE = re.compile(r"\b([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\.\w+\(")


@dataclass(frozen=True)
class Dims:
    """Input and layer sizes: (batch, timesteps, features) in, `units` wide."""

    batch: int
    timesteps: int
    features: int
    units: int

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.batch, self.timesteps, self.features)


NOTES_DIMS = Dims(batch=2, timesteps=10, features=3, units=5)  # the notebook's cell 2


@dataclass(frozen=True)
class Case:
    """One layer, in one flag configuration, run along one path, on inputs of given sizes."""

    layer: RecurrentLayer
    flags: Flags
    path: str
    dims: Dims = NOTES_DIMS
    known_timesteps: bool = True  # False: the model's Input has shape (None, features)
    # None: weights from the seeded numpy generator. A number: keras.utils.set_random_seed(number)
    # before the layer is made, and the layer's default initialisers kept (the notes' reset_graph).
    keras_seed: int | None = None

    def with_flags(self, flags: Flags) -> "Case":
        return replace(self, flags=flags)

    def __str__(self) -> str:
        return f"{self.layer}-{self.flags}-{self.path}"

    def describe(self) -> str:
        layer = self.layer.constructor_code(self.dims.units, self.flags)
        if self.path == "call":
            via = "a direct layer call"
        else:
            timesteps = self.dims.timesteps if self.known_timesteps else None
            via = f"Model(...).predict with Input(shape=({timesteps}, {self.dims.features}))"
        weights = "default initialisers" if self.keras_seed is not None else "seeded uniform weights"
        return f"{layer} via {via}, input {self.dims.input_shape}, {weights}"

    def snippet(self) -> str:
        """A few lines of Keras code that compute what `run(case)` returns, bound to the names `snippet_names` gives."""
        return "\n".join([*self.setup_lines(), *self.run_lines()])

    def setup_lines(self) -> list[str]:
        """The snippet up to the run: the imports, the input `x`, the layer (in its model) with its weights."""
        shape = self.dims.input_shape
        timesteps = self.dims.timesteps if self.known_timesteps else None
        lines = preamble(shape, self.layer)
        if self.keras_seed is not None:
            lines.append(f"keras.utils.set_random_seed({self.keras_seed})")
        lines.append(f"layer = {self.layer.constructor_code(self.dims.units, self.flags)}")
        if self.path == "predict":
            lines += [
                f"inputs = keras.Input(shape=({timesteps}, {self.dims.features}))",
                "model = keras.Model(inputs, layer(inputs))",
            ]
        else:
            lines.append(f"layer.build({shape})")
        if self.keras_seed is None:
            lines.append(seeding_code())
        return lines

    def run_lines(self) -> list[str]:
        """The snippet's last lines: the run on `x`, bound to the names `snippet_names` gives, and printed."""
        return returned_code(self.names(), self.call_code())

    @property
    def steps(self) -> tuple[tuple[str, str], ...]:
        """The snippet in the steps a refusal is raised at: the set-up, "build", then the run, "call"."""
        return (("build", "\n".join(self.setup_lines())), ("call", "\n".join(self.run_lines())))

    def call_code(self) -> str:
        return "model.predict(x, verbose=0)" if self.path == "predict" else "layer(x)"

    def names(self) -> list[str]:
        return snippet_names(self.flags, self.layer.state_names)


def preamble(shape: tuple, *layers: RecurrentLayer) -> list[str]:
    """Every snippet's first lines: the imports, and the N(0, 1) float32 input `x` of `shape` that
    `inputs_for` makes."""
    return [*snippet_imports(*layers), data_code(shape)]


def data_code(shape: tuple, name: str = "x", seed: int = DATA_SEED) -> str:
    """The snippet line that makes `data_of(shape, seed)`, bound to `name`."""
    return f"{name} = np.random.default_rng({seed}).normal(size={tuple(shape)}).astype('float32')"


def snippet_imports(*layers: RecurrentLayer) -> list[str]:
    """A snippet's import lines: numpy, Keras as this run imports it, and every other module the layers'
    constructor code names (a SPEC_LAYERS layer's, a user's cell's), so that the snippet runs when pasted."""
    lines = ["import numpy as np", "import keras" if keras.__name__ == "keras" else f"import {keras.__name__} as keras"]
    for layer in layers:
        for module in CALLED_MODULE.findall(layer.constructor_code(1, DEFAULT)):
            if module.split(".")[0] != "keras" and f"import {module}" not in lines:
                lines.append(f"import {module}")
    return lines


def seeding_code(layer: str = "layer", seed: int = WEIGHT_SEED) -> str:
    """The snippet line that sets `layer`'s weights as `seed_weights(layer)` does."""
    return (
        f"rng = np.random.default_rng({seed}); {layer}.set_weights([rng.uniform(-{WEIGHT_SCALE}, {WEIGHT_SCALE}, "
        f"w.shape).astype('float32') for w in {layer}.get_weights()])"
    )


def given_states(count: int, dims: Dims) -> list[np.ndarray]:
    """`count` initial states, each (batch, units) uniform in (-1, 1), drawn one after another from one
    generator seeded STATE_SEED: all different, so a state used in the wrong place shows."""
    rng = np.random.default_rng(STATE_SEED)
    return [rng.uniform(-1, 1, (dims.batch, dims.units)).astype("float32") for _ in range(count)]


def given_states_code(name: str, count, dims: Dims) -> str:
    """The snippet line that makes `given_states(count, dims)`, bound to `name` (`count` may be code: len(states))."""
    return (
        f"rng = np.random.default_rng({STATE_SEED}); {name} = [rng.uniform(-1, 1, ({dims.batch}, {dims.units}))"
        f".astype('float32') for _ in range({count})]"
    )


def snippet_names(flags: Flags, state_names: tuple[str, ...]) -> list[str]:
    """The names a snippet binds what the layer returns to: output (sequence with
    return_sequences=True), then the states (h, c) with return_state=True. A claim's check uses them."""
    return [output_name(flags.return_sequences), *(state_names if flags.return_state else ())]


def returned_code(names: list[str], run: str) -> list[str]:
    """The snippet lines that run `run`, bind what it returns to `names`, and print it."""
    bound = ", ".join(names)
    return [f"{bound} = {run}", f"print({bound}, sep='\\n\\n')" if len(names) > 1 else f"print({bound})"]


@dataclass(frozen=True)
class Observation:
    """What one run returned, with the weights and inputs it ran on: every chapter's observers return one."""

    outputs: list  # numpy arrays, in the order returned (nested lists where a stacked cell returns them)
    weights: list[np.ndarray]
    inputs: np.ndarray  # what the recurrent layer processed (for an Embedding: the embedded vectors)
    mask: np.ndarray | None = None  # a masked run's mask

    @property
    def output(self) -> np.ndarray:
        return self.outputs[0]

    @property
    def states(self) -> list[np.ndarray]:
        return self.outputs[1:]


def inputs_for(dims: Dims, seed: int = DATA_SEED) -> np.ndarray:
    """N(0, 1) data of the given sizes, as in the notes, in float32."""
    return data_of(dims.input_shape, seed)


def data_of(shape: tuple, seed: int = DATA_SEED) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def seed_weights(*layers, seed: int = WEIGHT_SEED) -> None:
    """Set the weights of each layer (or model), in order, to U(-WEIGHT_SCALE, WEIGHT_SCALE) draws
    from one generator seeded `seed`: what `seeding_code` writes, for one layer."""
    rng = np.random.default_rng(seed)
    for layer in layers:
        layer.set_weights([rng.uniform(-WEIGHT_SCALE, WEIGHT_SCALE, w.shape).astype("float32") for w in layer.get_weights()])


def set_seeded_weights(layer, case: Case) -> None:
    """Seed the weights of the case's layer, unless the case keeps Keras' seeded initialisers."""
    if case.keras_seed is None:
        seed_weights(layer)


# The cases whose reproducer's values a claim read (executed now or earlier in the session): the
# session empties it before each test and counts the test's own case as executed when it is here after.
READ: list = []


def executed(code: str, case, namespace: dict | None = None, first_line: int = 1) -> dict:
    """Execute `code`, the case's reproducer or its lines from `first_line` on (or code of no case:
    None), in `namespace`, and return it. Compiled under a filename naming the case, whose whole snippet linecache holds, so a
    traceback shows the reproducer's lines. Its `print` is called with the names it shows and
    formats nothing: the claim reads the names themselves, and formatting arrays costs time."""
    # pytest leaves out the frames of this function and those that reach it: the reproducer's own
    # frame, below them, shows where it raised.
    __tracebackhide__ = True
    filename, snippet = (f"<reproducer {case}>", case.snippet()) if case is not None else ("<code>", code)
    linecache.cache[filename] = (len(snippet), None, snippet.splitlines(keepends=True), filename)
    compiled = compile("\n" * (first_line - 1) + code, filename, "exec")
    namespace = {} if namespace is None else namespace
    namespace["print"] = lambda *values, **options: None
    exec(compiled, namespace)
    return namespace


def build(case: Case):
    """The layer with seeded weights, and the function that runs it along the case's path: the
    reproducer's lines up to the run, executed, and its call, executed on each `x` given."""
    READ.append(case)
    setup = case.setup_lines()
    namespace = executed("\n".join(setup), case)

    def forward(x):
        # A namespace per call, so that the built layer's keeps its own x.
        run = executed(f"returned = {case.call_code()}", case, {**namespace, "x": x}, first_line=len(setup) + 1)
        return run["returned"]

    return namespace["layer"], forward


def reproduced(case) -> dict:
    """Execute the case's whole reproducer (any case kind): the names it binds."""
    __tracebackhide__ = True
    READ.append(case)
    return executed(case.snippet(), case)


# Reproducer texts already executed by reproduced_once, and what they bound.
_EXECUTED_TEXTS: dict[str, dict] = {}


def reproduced_once(case) -> dict:
    """`reproduced(case)`, executed once per session for each text: cases that print the same code (one
    saved model that holds four configurations) share one run. A run that raised is not kept."""
    __tracebackhide__ = True
    READ.append(case)
    code = case.snippet()
    if code not in _EXECUTED_TEXTS:
        _EXECUTED_TEXTS[code] = executed(code, case)
    return _EXECUTED_TEXTS[code]


def observation(case, namespace: dict) -> Observation:
    """What a reproducer bound: the arrays it printed (`case.names()`), its layer's weights, its `x`. A
    kind of case whose reproducer binds more (a mask, two layers, nested states) says what with a
    method of its own, `observation(namespace)`."""
    own = getattr(case, "observation", None)
    if own is not None:
        return own(namespace)
    outputs = [to_numpy(namespace[name]) for name in case.names()]
    return Observation(outputs, [np.asarray(w) for w in namespace["layer"].get_weights()], namespace["x"])


def run(case, inputs: np.ndarray | None = None) -> Observation:
    """Execute the case's reproducer now, on `inputs` in place of its `x` where given (a Case), and
    keep what it binds: a fresh run, for the claims that compare two."""
    __tracebackhide__ = True
    if inputs is None:
        return observation(case, reproduced(case))
    READ.append(case)
    setup = case.setup_lines()
    namespace = executed("\n".join(setup), case)
    namespace["x"] = inputs
    executed("\n".join(case.run_lines()), case, namespace, first_line=len(setup) + 1)
    return observation(case, namespace)


@functools.cache
def _observed(case) -> Observation:
    __tracebackhide__ = True
    return observation(case, reproduced_once(case))


def observe(case) -> Observation:
    """What the case's reproducer binds, executed once per session (`reproduced_once`), as an
    Observation: many claims read the same one."""
    __tracebackhide__ = True
    READ.append(case)  # a cached observation was read too
    return _observed(case)


def cases(layers, flags=None, paths=PATHS, dims: Dims = NOTES_DIMS) -> list[Case]:
    """Every combination, for parametrize(..., ids=str): ids read like `LSTM-sequences-state-predict`."""
    from keras_rnn_spec.catalogue import FLAGS

    return [
        Case(layer, flag, path, dims)
        for layer in layers
        for flag in (FLAGS if flags is None else flags)
        for path in paths
    ]
