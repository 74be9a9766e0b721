"""Chapter 22's machinery: the models people export, the routes out of Keras, and the runtimes that run them.

A `ModelCase` is one Keras model with seeded weights (a layer in a flag configuration, a
Bidirectional LSTM, a fixed batch, an unrolled layer, a stateful layer, the one-step streaming
model). A `Route` is one way out of Keras and back into numpy: an export call, the runtime that
loads the artifact, and the view of its outputs a deployer reads (a tuple, a dict keyed by
signature names, a listing of tensors), each written as the code a deployer runs. An `ExportCase`
is the pair, and the chapter's parameter: its reproducer is the model's code, then the route's,
and what the claims read is what that code binds, executed part by part.

Every artifact is written once per run under pytest's temporary directory (`Exports`), whatever
the number of claims that read it. An export, a load or a first run that raises is kept as the
outcome of that step: the chapter's first claim reports it, and the others skip with it.
"""

import contextlib
import io
import logging
import multiprocessing
import os
import re
import subprocess
import sys
import unittest.mock
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from keras_rnn_spec.artifact_cache import ArtifactCache, artifact_key
from keras_rnn_spec.catalogue import SEQUENCES_STATE, STATE, Flags, RecurrentLayer, Selection
from keras_rnn_spec.observe import READ, TO_NUMPY_CODE, Dims, executed, given_states_code, preamble, seeding_code
from keras_rnn_spec.semantics import directions_by_reference, merged, output_name, returned_by_reference
from keras_rnn_spec.subject import FORK_WARNING, KERAS_MAJOR, backend_name, keras

DIMS = Dims(batch=2, timesteps=10, features=3, units=5)  # the notes' sizes
OTHER_SIZES = ((4, 7), (1, 3))  # (batch, timesteps) other than the export's, for claim 5
LAYER_NAME, MODEL_NAME = "rnn", "exported"  # fixed names: ModelCase.options says why

# Which Keras output a runtime's output holds is decided by value. Distinct outputs of a case differ
# by 0.1 or more (h against c, a sequence's steps); a runtime at bfloat16 (8 significand bits,
# relative rounding 2**-9 per operation, so about 1e-3 after ten steps of order-one values) stays
# well inside this bound.
IDENTITY_TOLERANCE = 0.02

KINDS = {
    "dynamic": "Input(shape=(None, 3)): batch and timesteps unknown",
    "fixed batch": "Input(shape=(10, 3), batch_size=2): batch and timesteps fixed",
    "unrolled": "unroll=True on Input(shape=(10, 3)): the loop written out, batch unknown",
    "stateful": "stateful=True on Input(shape=(10, 3), batch_size=2)",
    "streaming": "the one-step model: Inputs frame (1, 3) and the states, returns [output, *states]",
}


@dataclass(frozen=True)
class ModelCase:
    """One model a deployer exports: `layer` in `flags`, of one kind (KINDS), maybe inside Bidirectional."""

    layer: RecurrentLayer
    flags: Flags
    kind: str = "dynamic"
    bidirectional: bool = False

    def __str__(self) -> str:
        name = f"Bidirectional({self.layer})" if self.bidirectional else str(self.layer)
        return f"{name}-{self.flags}" + ("" if self.kind == "dynamic" else f"-{self.kind.replace(' ', '-')}")

    @property
    def state_names(self) -> list[str]:
        """The states the model returns, in order (Bidirectional: the forward layer's, then the backward's)."""
        if not self.flags.return_state:
            return []
        if self.bidirectional:
            return [f"{name}_{way}" for way in ("forward", "backward") for name in self.layer.state_names]
        return list(self.layer.state_names)

    @property
    def output_names(self) -> list[str]:
        """What each Keras output is, in Keras' order: sequence or output, then the states."""
        return [output_name(self.flags.return_sequences), *self.state_names]

    @property
    def input_names(self) -> list[str]:
        return ["frame", *(f"state_{name}" for name in self.layer.state_names)] if self.kind == "streaming" else ["x"]

    @property
    def fixed_batch(self) -> bool:
        return self.kind in ("fixed batch", "stateful")

    def options(self) -> dict:
        """Constructor arguments beyond the flags: the kind's, and a fixed name. Converters name the
        artifact's tensors after the layers, and a Keras name carries a counter of the layers made
        before it in the process (lstm_7); LiteRT's details list outputs in an order that follows those
        names, so without a fixed name a model's listing would depend on what ran before it."""
        kind = {"unrolled": {"unroll": True}, "stateful": {"stateful": True}}.get(self.kind, {})
        return kind if self.bidirectional else {**kind, "name": LAYER_NAME}

    def layer_code(self) -> str:
        built = self.layer.constructor_code(DIMS.units, self.flags)
        if self.options():
            built = f"{built[:-1]}, {', '.join(f'{k}={v!r}' for k, v in self.options().items())})"
        return f"keras.layers.Bidirectional({built}, name={LAYER_NAME!r})" if self.bidirectional else built

    def model_code(self) -> list[str]:
        """The lines that build this model with its seeded weights, bound to `model`, and its inputs, bound to `inputs`."""
        d = DIMS
        lines = [f"layer = {self.layer_code()}"]
        if self.kind == "streaming":
            lines += [
                f"frame = keras.Input(shape=(1, {d.features}), name='frame')",
                f"states = [keras.Input(shape=({d.units},), name=f'state_{{n}}') for n in {list(self.layer.state_names)!r}]",
                f"model = keras.Model([frame, *states], layer(frame, initial_state=states), name={MODEL_NAME!r})",
                given_states_code("given", "len(states)", d),
                "inputs = [x[:, :1], *given]",
            ]
        else:
            shape = f"(None, {d.features})" if self.kind == "dynamic" else f"({d.timesteps}, {d.features})"
            batch = f", batch_size={d.batch}" if self.fixed_batch else ""
            lines += [f"x_in = keras.Input(shape={shape}{batch}, name='x')", f"model = keras.Model(x_in, layer(x_in), name={MODEL_NAME!r})", "inputs = [x]"]
        return [*lines, seeding_code("model")]

    def snippet(self) -> str:
        """The Keras half of every route's reproducer: the model with its seeded weights, called once on
        its inputs (exporting to ONNX needs a model that has run), what it returned in `keras_outputs`.
        A stateful layer's states are reset after that call, so the artifact starts from zeros, as a
        freshly built model does."""
        lines = [
            *preamble(DIMS.input_shape, self.layer),
            *self.model_code(),
            f"to_numpy = {TO_NUMPY_CODE}",
            "returned = model(inputs if len(inputs) > 1 else inputs[0])  # exporting to ONNX needs a model that has run",
            "keras_outputs = [to_numpy(o) for o in (returned if isinstance(returned, (list, tuple)) else [returned])]",
        ]
        if self.kind == "stateful":
            lines.append("layer.reset_states()  # the artifact starts from zeros, as a new model does")
        return "\n".join(lines)


def model_cases(selected: Selection) -> list[ModelCase]:
    """Every layer in the four flag configurations; Bidirectional(LSTM) with return_state; and, for GRU and
    LSTM (the layers under test, under SPEC_LAYERS), a fixed batch, unroll=True, stateful=True and streaming."""
    from keras_rnn_spec.catalogue import FLAGS, LSTM

    layers = selected.layers
    others = [layer for layer in layers if layer.name in ("GRU", "LSTM")] if selected.keras_own else list(layers)
    wrapped = [LSTM] if selected.keras_own else list(layers)
    return [
        *(ModelCase(layer, flags) for layer in layers for flags in FLAGS),
        *(ModelCase(layer, flags, bidirectional=True) for layer in wrapped for flags in (STATE, SEQUENCES_STATE)),
        *(ModelCase(layer, SEQUENCES_STATE, kind) for kind in ("fixed batch", "unrolled", "stateful") for layer in others),
        *(ModelCase(layer, STATE, "streaming") for layer in others),
    ]


# ---------------------------------------------------------------------------------------------
# The Keras side: the model, what it returns, what the float64 reference says it should


@dataclass
class Built:
    """A model case made in Keras: what its reproducer's Keras half bound (`namespace`), and from it the
    model, its weights, its inputs, and what Keras returned on them."""

    namespace: dict
    model: object
    weights: list[np.ndarray]
    inputs: list[np.ndarray]
    keras_outputs: list[np.ndarray]


def build(case: ModelCase) -> Built:
    """The case's model, its weights, inputs and outputs: its reproducer's Keras half, executed."""
    namespace = executed(case.snippet(), case)
    model = namespace["model"]
    return Built(namespace, model, [np.asarray(w) for w in model.get_weights()], namespace["inputs"], namespace["keras_outputs"])


def expected(case: ModelCase, weights: list[np.ndarray], inputs: list[np.ndarray], start=None) -> list[np.ndarray]:
    """What the case's model returns on `inputs` by the float64 reference (`start`: the states before the
    first step, as a stateful layer carries them; default zeros), in Keras' order."""
    from keras_rnn_spec.catalogue import reference_of

    ref = reference_of(case.layer)
    x = inputs[0]
    if case.kind == "streaming":
        sequence, states = ref(weights, x, inputs[1:])
        return [sequence[:, -1], *states]
    if case.bidirectional:  # merge_mode="concat", Bidirectional's default
        directions = directions_by_reference(ref, weights, x)
        return [*merged("concat", directions, case.flags.return_sequences), *directions.forward_states, *directions.backward_states]
    sequence, states = ref(weights, x, start)
    return returned_by_reference(case, sequence, states)


def reference_dims(timesteps: int) -> Dims:
    return Dims(DIMS.batch, timesteps, DIMS.features, DIMS.units)


# ---------------------------------------------------------------------------------------------
# Routes: a deployer's code out of Keras and back into numpy, executed as the reproducer prints it
#
# A route's reproducer is the model's Keras half (ModelCase.snippet), then three parts, each executed
# on the names the parts before it bound: the export (EXPORTS, in the artifact's folder, with `model`
# bound), the load (the route's `load_code`, in the folder that holds the artifact: it binds
# `input_names`, the artifact's inputs in its own listing order, `run(inputs)`, which feeds arrays to
# them in that order and returns the runtime's outputs as a list in its own listing order, and
# `names`, the name each output is listed under: None for a tuple, filled by `run` for a dict), and
# the first run (ExportCase.run_lines), which binds `outputs`.


class RouteUnavailable(Exception):
    """The route cannot be taken by this subject at all (a package or backend it needs is not here)."""


KERAS_EXPORTS = ("tf_saved_model", "onnx", "openvino", "litert")  # Keras 3's model.export formats
TENSORFLOW_CONVERTERS = ("tflite_converter", "tf2onnx")  # they convert a TensorFlow-backed model
SAVED_MODEL = "model.export('artifact', format='tf_saved_model')" if KERAS_MAJOR >= 3 else "model.export('artifact')"
# OpenVINO sends usage data to Google Analytics (seen from its converter, and from a process that
# imports it and asks its Core for a property) unless its user opted out (`opt_in_out --opt_out`, a
# setting in the user's home) or the process runs in CI: the converter asks openvino_telemetry with
# disable_in_ci=True (openvino/tools/ovc/telemetry_utils.py), which reads CI=true.
OPENVINO_OPT_OUT = "import os\nos.environ['CI'] = 'true'  # OpenVINO sends usage data unless CI is set (openvino_telemetry's disable_in_ci)"
# Each export's code, and the file or folder it writes in the folder it runs in.
EXPORTS = {
    "tf_saved_model": SAVED_MODEL,
    "onnx": "model.export('model.onnx', format='onnx')",
    "openvino": f"{OPENVINO_OPT_OUT}\nmodel.export('model.xml', format='openvino')",
    "litert": "model.export('model.tflite', format='litert')",
    "tflite_converter": "import tensorflow as tf\nopen('model.tflite', 'wb').write(tf.lite.TFLiteConverter.from_keras_model(model).convert())",
    "tf2onnx": "import tf2onnx\ntf2onnx.convert.from_keras(model, output_path='model.onnx')",
}
WRITES = {
    "tf_saved_model": "artifact", "onnx": "model.onnx", "openvino": "model.xml",
    "litert": "model.tflite", "tflite_converter": "model.tflite", "tf2onnx": "model.onnx",
}

SERVE_LOAD = """import tensorflow as tf
artifact = tf.saved_model.load('artifact')
input_names = [spec.name for spec in tf.nest.flatten(artifact.serve.input_signature)]  # Keras 2 leaves them unnamed: None
names = None  # serve returns a tuple: its outputs have no names
def run(inputs):
    return [o.numpy() for o in tf.nest.flatten(artifact.serve(inputs if len(inputs) > 1 else inputs[0]))]"""
SERVING_DEFAULT_LOAD = """import tensorflow as tf
artifact = tf.saved_model.load('artifact')
signature = artifact.signatures['serving_default']
input_names = list(signature.structured_input_signature[1])
names = []
def run(inputs):
    returned = signature(**{name: tf.constant(array) for name, array in zip(input_names, inputs)})
    names[:] = list(returned)  # a dict: its keys, in the order of the values below
    return [value.numpy() for value in returned.values()]"""
ONNX_LOAD = """import onnxruntime
session = onnxruntime.InferenceSession('model.onnx', providers=['CPUExecutionProvider'])
input_names = [i.name for i in session.get_inputs()]
names = [o.name for o in session.get_outputs()]
def run(inputs):
    return session.run(None, dict(zip(input_names, inputs)))"""
LITERT_DETAILS_LOAD = """from ai_edge_litert.interpreter import Interpreter
interpreter = Interpreter(model_path='model.tflite')
input_details, output_details = interpreter.get_input_details(), interpreter.get_output_details()  # resizing keeps their indices
input_names = [d['name'] for d in input_details]
names = [d['name'] for d in output_details]
allocated = []  # the input shapes the interpreter's tensors are allocated for
def run(inputs):
    if allocated != [a.shape for a in inputs]:  # resizing costs as much as a small model's invoke: only on a new shape
        for detail, array in zip(input_details, inputs):
            interpreter.resize_tensor_input(detail['index'], array.shape)
        interpreter.allocate_tensors()
        allocated[:] = [a.shape for a in inputs]
    for detail, array in zip(input_details, inputs):
        interpreter.set_tensor(detail['index'], array)
    interpreter.invoke()
    return [interpreter.get_tensor(d['index']) for d in output_details]"""
LITERT_SIGNATURE_LOAD = """from ai_edge_litert.interpreter import Interpreter
runner = Interpreter(model_path='model.tflite').get_signature_runner()
input_names = list(runner.get_input_details())
names = []
def run(inputs):
    returned = runner(**dict(zip(input_names, inputs)))
    names[:] = list(returned)  # a dict: its keys, in the order of the values below
    return list(returned.values())"""


F32 = {"INFERENCE_PRECISION_HINT": "f32"}  # OpenVINO's configuration that computes in float32 on every CPU


def openvino_load_code(config: dict) -> str:
    """The openvino route's load: the IR compiled for the CPU with `config` ({}: OpenVINO's default configuration)."""
    return f"""import openvino
compiled = openvino.Core().compile_model('model.xml', 'CPU'{f', {config!r}' if config else ''})
input_names = [port.get_any_name() for port in compiled.inputs]
names = [sorted(port.get_names()) for port in compiled.outputs]
def run(inputs):
    returned = compiled(inputs)
    return [returned[port] for port in compiled.outputs]"""


@dataclass(frozen=True)
class Route:
    name: str
    export: str  # the key of EXPORTS that writes its artifact (two views of one file share it)
    load_code: str  # what a deployer runs to load the artifact: binds input_names, names and run (above)
    summary: str  # for the report: how the artifact is made and read
    # False: the runtime takes and returns dicts whose order is undefined (a SavedModel signature's,
    # from protobuf maps): positions mean nothing there, and the claims about them skip.
    ordered: bool = True


TFLITE_CONVERTER = "`tf.lite.TFLiteConverter.from_keras_model(model).convert()`"
ROUTES = [
    Route("saved_model-serve", "tf_saved_model", SERVE_LOAD, f"`{SAVED_MODEL}`, then `tf.saved_model.load(...).serve(x)`: a tuple"),
    Route(
        "saved_model-serving_default", "tf_saved_model", SERVING_DEFAULT_LOAD,
        f"`{SAVED_MODEL}`, then its `serving_default` signature: a dict", ordered=False,
    ),
    Route("onnx", "onnx", ONNX_LOAD, "`model.export('model.onnx', format='onnx')`, then `onnxruntime.InferenceSession(...).run`"),
    Route(
        "openvino", "openvino", openvino_load_code({}),
        "`model.export('model.xml', format='openvino')`, then `openvino.Core().compile_model(..., 'CPU')` with its default configuration",
    ),
    Route(
        "litert-details", "litert", LITERT_DETAILS_LOAD,
        "`model.export('model.tflite', format='litert')`, then the ai-edge-litert `Interpreter`'s `get_output_details()` order",
    ),
    Route(
        "litert-signature", "litert", LITERT_SIGNATURE_LOAD,
        "`model.export('model.tflite', format='litert')`, then the ai-edge-litert signature runner: a dict",
    ),
    Route("tflite_converter-details", "tflite_converter", LITERT_DETAILS_LOAD, f"{TFLITE_CONVERTER}, then the `Interpreter`'s `get_output_details()` order"),
    Route("tflite_converter-signature", "tflite_converter", LITERT_SIGNATURE_LOAD, f"{TFLITE_CONVERTER}, then the signature runner: a dict"),
    Route(
        "tf2onnx", "tf2onnx", ONNX_LOAD,
        "`tf2onnx.convert.from_keras(model, output_path='model.onnx')`, then `onnxruntime.InferenceSession(...).run`",
    ),
]


def quietly(function, *args, **kwargs):
    """Exporters and runtimes print progress to stdout and the log, and warn about their own internals
    (tf2onnx: numpy's np.object FutureWarning; jax2tf: deprecated arguments Keras passes), which
    pytest.ini would turn into errors: none of it is about the claims, so it is silenced while they
    run. All but JAX's warning that the process forks (subject.FORK_WARNING), which stays an error."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.filterwarnings("error", message=FORK_WARNING, category=RuntimeWarning)
            return function(*args, **kwargs)
    finally:
        logging.disable(previous)


@contextlib.contextmanager
def no_telemetry():
    """CI=true while route code runs, and only then (pytest reads CI too: it prints the short summary
    in full under CI): the route code that imports OpenVINO sets it itself (OPENVINO_OPT_OUT), and this
    keeps it set for code that runs without that line before it (a load from a kept artifact)."""
    with unittest.mock.patch.dict(os.environ, {"CI": "true"}):
        yield


def execute_in(folder: Path, code: str, namespace: dict, case=None, first_line: int = 1) -> dict:
    """Route code executed as `observe.executed` executes a reproducer's lines, in `folder` (the code's
    paths are relative to it), quietly, with OpenVINO's telemetry off."""
    __tracebackhide__ = True
    with contextlib.chdir(folder), no_telemetry():
        return quietly(executed, code, case, namespace, first_line)


def unavailable(export: str) -> str:
    """Why this subject cannot take `export` at all, or ""."""
    if export in TENSORFLOW_CONVERTERS and backend_name() != "tensorflow":
        return f"it converts a TensorFlow-backed Keras model; this subject computes with {backend_name()}"
    if export in KERAS_EXPORTS and KERAS_MAJOR < 3:
        if export != "tf_saved_model":
            return f"Keras {keras.__version__} has no model.export(format={export!r}) (Keras 3 has)"
        if not hasattr(keras.Model, "export"):
            return f"Keras {keras.__version__} has no model.export"
    return ""


def write_artifact(namespace: dict, export: str, folder: Path, case=None, first_line: int = 1) -> Path:
    """The export's code executed in `folder`, on the names the model's reproducer bound: what it wrote."""
    __tracebackhide__ = True
    why = unavailable(export)
    if why:
        raise RouteUnavailable(why)
    try:
        execute_in(folder, EXPORTS[export], dict(namespace), case, first_line)
    except ImportError as error:  # the exporter's own package (tf2onnx, jax2onnx, openvino, litert-torch)
        raise RouteUnavailable(f"{export} needs a package not installed here: {error}") from None
    written = folder / WRITES[export]
    if not written.exists():
        raise FileNotFoundError(f"the export ran and wrote no {WRITES[export]}")
    return written


@dataclass
class Loaded:
    """An artifact loaded by a route's load code: the names that code bound (`namespace`)."""

    namespace: dict

    @property
    def inputs(self) -> list[str | None]:
        """The artifact's input names, in its own listing order (None: an input without one)."""
        return list(self.namespace["input_names"])

    def named(self, arrays: list) -> list[tuple[tuple[str, ...], np.ndarray]]:
        """The runtime's outputs, each with the names it answers to (none for a tuple's)."""
        names = self.namespace["names"] or [()] * len(arrays)
        return [((name,) if isinstance(name, str) else tuple(name), np.asarray(array)) for name, array in zip(names, arrays, strict=True)]

    def run(self, arrays: list[np.ndarray]) -> list[tuple[tuple[str, ...], np.ndarray]]:
        """The route code's `run` on `arrays`, in the artifact's input order, quietly: its outputs named."""
        return self.named(quietly(self.namespace["run"], list(arrays)))


def load_artifact(code: str, artifact: Path, namespace: dict, case=None, first_line: int = 1) -> Loaded:
    """A load's code (a route's load_code) executed in the folder that holds `artifact`, on the names the
    reproducer bound before it."""
    __tracebackhide__ = True
    try:
        return Loaded(execute_in(artifact.parent, code, dict(namespace), case, first_line))
    except ImportError as error:  # the runtime's package
        raise RouteUnavailable(f"loading the artifact needs a package not installed here: {error}") from None


# The line of an exporter's message that says what went wrong: MLIR converters prefix it with the
# location in the graph, OpenVINO with the C++ check that failed.
TELLING = re.compile(r"error: (?!.*error: )(.*)|-- (No conversion rule found .*)")


def summary(error: Exception) -> str:
    """An exception in one line: its type and the line of its message that says what went wrong."""
    kind = getattr(error, "kind", type(error).__name__)  # Raised: the type it had in the export process
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()  # Keras colours the heart of its messages
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and lines[0].startswith("Exception encountered when calling") and len(lines) > 1:
        return f"{kind}: {lines[1].strip()}"  # Keras' wrapper: what the call raised follows
    for line in lines:
        found = TELLING.search(line)
        if found:
            said = re.sub(r"^loc\(.*\)\s*:\s*", "", next(filter(None, found.groups())))  # the graph location, greedy
            return f"{kind}: {said}"
    return f"{kind}: {lines[0] if lines else ''}"


OPENVINO_PRECISION = """
try:
    import openvino
except ImportError:
    print("none")
else:
    print(openvino.Core().get_property("CPU", "INFERENCE_PRECISION_HINT").get_type_name())
"""


def openvino_precision() -> str:
    """The inference precision OpenVINO's CPU plugin uses by default on this machine (f32, bf16, f16), or
    "none" without OpenVINO: bf16 where the CPU computes it natively, per OpenVINO's CPU device docs.

    Read in a child process: importing OpenVINO calls os.fork(), which JAX, once started, warns
    against (a warning the spec's filters make an error, in whichever test runs next)."""
    with no_telemetry():
        found = subprocess.run([sys.executable, "-c", OPENVINO_PRECISION], capture_output=True, text=True, check=True)
    return found.stdout.strip()


# ---------------------------------------------------------------------------------------------
# The chapter's parameter, and the artifacts of a run

MODEL_PART, EXPORT_PART, LOAD_PART, RUN_PART = range(4)  # the parts of an export case's reproducer


@dataclass(frozen=True)
class ExportCase:
    """One model case taken along one route: the chapter's parameter (`case`, for the verify helper)."""

    route: Route
    model: ModelCase

    def __str__(self) -> str:
        return f"{self.route.name}-{self.model}"

    def describe(self) -> str:
        return f"{self.model.layer_code()} ({KINDS[self.model.kind]}), exported by {self.route.summary}"

    def run_lines(self) -> str:
        """The first run: Keras' inputs, placed by name in the artifact's input order where there are several."""
        if len(self.model.input_names) > 1:
            run = [
                "from keras_rnn_spec.exporting import in_artifact_order  # by name, or by position where the artifact lost the names",
                f"outputs = run(in_artifact_order(inputs, {self.model.input_names!r}, input_names))",
            ]
        else:
            run = ["outputs = run(inputs)"]
        return "\n".join([*run, "print(names, [o.shape for o in outputs])"])

    def parts(self) -> list[str]:
        """The reproducer's parts, in order: the model's Keras half, the export, the load, the first run."""
        return [self.model.snippet(), EXPORTS[self.route.export], self.route.load_code, self.run_lines()]

    def first_line(self, part: int) -> int:
        """The reproducer's line that `parts()[part]` starts on."""
        return 1 + sum(len(code.splitlines()) for code in self.parts()[:part])

    def snippet(self) -> str:
        return "\n".join(self.parts())

    @property
    def layer(self) -> RecurrentLayer:
        """The layer under test (the report adapts a claim's check to it under SPEC_LAYERS)."""
        return self.model.layer


def export_cases(selected: Selection, routes=None, kinds=None) -> list[ExportCase]:
    return [
        ExportCase(route, model)
        for model in model_cases(selected)
        for route in (ROUTES if routes is None else routes)
        if kinds is None or model.kind in kinds
    ]


@dataclass
class Step:
    """The outcome of one step (export, load, run) of one case: its value, or what it raised."""

    value: object = None
    error: Exception | None = None
    unavailable: str = ""  # the route cannot be taken here: why


# The exports whose converter is TensorFlow Lite's run in a separate process: its native code can
# abort the process it runs in (TensorFlow 2.16 with Keras 3: 'LLVM ERROR: Failed to infer result
# type(s)', then 'Fatal Python error: Aborted'), which would end the pytest session. In a process of
# their own, an abort is an outcome like any other.
ISOLATED_EXPORTS = ("litert", "tflite_converter")


class Raised(Exception):
    """What the export process raised, by type name and message (an exception need not pickle)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def export_here(case: ExportCase, target: Path) -> tuple[str, str, str]:
    """In the export process: the case's reproducer up to its export, executed (the same seeded weights).
    ("written", path, ""), ("unavailable", why, "") or ("raised", type name, message)."""
    step = attempt(lambda: write_artifact(build(case.model).namespace, case.route.export, target, case, case.first_line(EXPORT_PART)))
    if step.unavailable:
        return "unavailable", step.unavailable, ""
    if step.error is not None:
        return "raised", type(step.error).__name__, str(step.error)
    return "written", str(step.value), ""


@dataclass
class Exports:
    """The artifacts of a run, each written once per (model case, export) under `directory`, or taken
    from `cache`, where an earlier run kept it (artifact_cache.py), and each loaded once per case."""

    directory: Path
    cache: ArtifactCache = field(default_factory=lambda: ArtifactCache(None))
    built: dict = field(default_factory=dict)
    artifacts: dict = field(default_factory=dict)
    loaded: dict = field(default_factory=dict)
    first_runs: dict = field(default_factory=dict)  # what each case's first run returned, or raised
    worker: ProcessPoolExecutor | None = None  # the process of ISOLATED_EXPORTS, started when first needed

    def model(self, case: ModelCase) -> Built:
        if case not in self.built:
            self.built[case] = build(case)
        return self.built[case]

    def artifact(self, case: ExportCase) -> Step:
        key = (case.model, case.route.export)
        if key not in self.artifacts:
            self.artifacts[key] = self.cached_or_exported(case)
        return self.artifacts[key]

    def cached_or_exported(self, case: ExportCase) -> Step:
        model, export = case.model, case.route.export
        why = unavailable(export)
        if why:
            return Step(unavailable=why)
        key = artifact_key(self.model(model).model, str(model), export, EXPORTS[export]) if self.cache.directory else ""
        kept = self.cache.get(key) if key else None
        if kept is not None:
            return Step(kept[1]) if kept[0] == "written" else Step(error=Raised(kept[1], kept[2]))
        target = self.directory / f"{model}-{export}".replace("(", "_").replace(")", "_")
        target.mkdir(parents=True, exist_ok=True)
        if export in ISOLATED_EXPORTS:
            step = self.isolated(case, target)
        else:
            step = attempt(lambda: write_artifact(self.model(model).namespace, export, target, case, case.first_line(EXPORT_PART)))
        if key and step.error is not None:
            self.cache.put_raised(key, getattr(step.error, "kind", type(step.error).__name__), str(step.error))
        elif key and not step.unavailable:
            self.cache.put_written(key, target, step.value)
        return step

    def isolated(self, case: ExportCase, target: Path) -> Step:
        """The export, run in the worker process; a worker that dies is an outcome, and the next export gets a new one."""
        if self.worker is None:
            self.worker = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        try:
            outcome, first, second = self.worker.submit(export_here, case, target).result()
        except BrokenProcessPool:
            self.close()
            return Step(error=Raised("BrokenProcessPool", "the export process died without an exception (a native abort)"))
        if outcome == "unavailable":
            return Step(unavailable=first)
        return Step(error=Raised(first, second)) if outcome == "raised" else Step(Path(first))

    def close(self) -> None:
        if self.worker is not None:
            self.worker.shutdown(cancel_futures=True)
            self.worker = None

    def load(self, case: ExportCase, code: str | None = None) -> Loaded:
        """The case's artifact loaded anew by its route's load code, or by `code` in its place."""
        return load_artifact(code or case.route.load_code, self.artifact(case).value, self.model(case.model).namespace, case, case.first_line(LOAD_PART))

    def runtime(self, case: ExportCase) -> tuple[str, Step]:
        """("export" | "load", the step that failed) or ("", the loaded artifact)."""
        exported = self.artifact(case)
        if exported.error or exported.unavailable:
            step, outcome = "export", exported
        else:
            if case not in self.loaded:
                self.loaded[case] = attempt(lambda: self.load(case))
            loaded = self.loaded[case]
            step, outcome = ("load" if loaded.error or loaded.unavailable else ""), loaded
        if not outcome.unavailable:
            READ.append(case)  # its reproducer ran through its load, or to the step that raised
        return step, outcome

    def first_run(self, case: ExportCase):
        """What the reproducer's first run bound as `outputs`, named (Loaded.named), or what it raised:
        kept per case, so every claim reads the same first call. The case's artifact has loaded (runtime)."""
        loaded = self.loaded[case].value
        if case not in self.first_runs:
            try:
                bound = quietly(executed, case.run_lines(), case, loaded.namespace, case.first_line(RUN_PART))
                self.first_runs[case] = loaded.named(bound["outputs"])
            except Exception as error:  # any type: the chapter's first claim reports it, the others skip with it
                self.first_runs[case] = error
        READ.append(case)
        return self.first_runs[case]


def attempt(step: Callable) -> Step:
    try:
        return Step(step())
    except RouteUnavailable as why:
        return Step(unavailable=str(why))
    except Exception as error:  # any type: which step raised what is the observation
        return Step(error=error)


def by_name(arrays: list[np.ndarray], keras_names: list[str], artifact_names: list[str | None]) -> list[np.ndarray]:
    """Keras' inputs (in Keras' order, named `keras_names`) placed in the artifact's input order by name.

    A runtime may decorate a name (LiteRT's details: serving_default_frame:0); the input whose name
    contains the Keras name and no longer Keras name is taken; an input without a name takes Keras'
    input in its place. KeyError names what is missing."""
    placed = []
    for position, listed in enumerate(artifact_names):
        if listed is None:
            placed.append(arrays[position])
            continue
        matches = [k for k, name in enumerate(keras_names) if name in listed]
        if not matches:
            raise KeyError(f"the artifact's input {listed!r} names none of Keras' inputs {keras_names}")
        placed.append(arrays[max(matches, key=lambda k: len(keras_names[k]))])
    return placed


def in_artifact_order(arrays: list[np.ndarray], keras_names: list[str], artifact_names: list[str | None]) -> list[np.ndarray]:
    """Keras' inputs placed by name (`by_name`), or by position where the artifact lost the names
    (OpenVINO's IR of a torch model calls them input, input_1, ...): what a deployer would do."""
    try:
        return by_name(arrays, keras_names, artifact_names)
    except KeyError:
        return list(arrays)


def holds(array: np.ndarray, candidates: list[np.ndarray]) -> list[int]:
    """The positions of the candidates that `array` holds: same shape, within IDENTITY_TOLERANCE."""
    return [
        k
        for k, candidate in enumerate(candidates)
        if np.shape(array) == np.shape(candidate)
        and float(np.max(np.abs(np.asarray(array, np.float64) - candidate), initial=0.0)) <= IDENTITY_TOLERANCE
    ]


def closest(arrays: list[np.ndarray], wanted: np.ndarray) -> np.ndarray:
    """The runtime output nearest to `wanted` among those of its shape (NaN where none has it): how a
    check about the numbers reads a runtime's outputs, whatever their order and names."""
    same_shape = [array for array in arrays if np.shape(array) == np.shape(wanted)]
    if not same_shape:
        return np.full(np.shape(wanted), np.nan)
    return min(same_shape, key=lambda array: float(np.max(np.abs(array - wanted), initial=0.0)))


def keras_names(model, count: int) -> list[tuple[str, ...]]:
    """The names a deployer can know each Keras output by: Keras' signature key `output_k`, and the model's
    output name made unique as Keras 2 makes it (lstm, lstm_1, lstm_2; Keras 3 repeats the layer's name)."""
    seen: dict[str, int] = {}
    unique = []
    for name in list(getattr(model, "output_names", []) or [])[:count]:
        unique.append(f"{name}_{seen[name]}" if name in seen else name)
        seen[name] = seen.get(name, 0) + 1
    unique += [""] * (count - len(unique))
    return [tuple(filter(None, (f"output_{k}", unique[k]))) for k in range(count)]


def answers_to(names: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
    """Whether an output listed under `names` answers to one of `wanted` (a tensor name's `:0` aside)."""
    return any(name.split(":")[0] in wanted for name in names)


# ---------------------------------------------------------------------------------------------
# What the claims read: a case's loaded artifact and first run, or the skip that says why not


def loaded_or_skip(exports: Exports, case):
    """(the Keras model, the loaded artifact), or a skip: the route is not available here, or a step of it
    failed, which the chapter's first claim reports."""
    step, outcome = exports.runtime(case)
    if outcome.unavailable:
        pytest.skip(f"{case.route.name} is not available here: {outcome.unavailable}")
    if outcome.error is not None:
        pytest.skip(f"the {step} step raised {summary(outcome.error)} (the claim 'exports, loads and runs' fails on it)")
    return exports.model(case.model), outcome.value


def run_once(exports: Exports, case):
    """(the Keras model, the loaded artifact, what the reproducer's first run returned, or what it
    raised): kept per case, so every claim reads the same first call."""
    built, loaded = loaded_or_skip(exports, case)
    return built, loaded, exports.first_run(case)


def first_run(exports: Exports, case):
    """run_once, or a skip where the run raised (the chapter's first claim fails on it)."""
    built, loaded, returned = run_once(exports, case)
    if isinstance(returned, Exception):
        pytest.skip(f"the run step raised {summary(returned)} (the claim 'exports, loads and runs' fails on it)")
    return built, loaded, returned


def arrays(returned) -> list[np.ndarray]:
    """The runtime's outputs without their names."""
    return [array for _, array in returned]


def listing(returned) -> list[str]:
    """The runtime's outputs as it lists them, by name and shape, for messages and the report."""
    return [f"{'|'.join(names) or f'#{k}'} {list(np.shape(array))}" for k, (names, array) in enumerate(returned)]


def held_by(returned, keras_outputs: list, names: list[str]) -> list[list[str]]:
    """For each output the runtime returned, the names of the Keras outputs it holds (`holds`: same shape and numbers)."""
    return [[names[j] for j in holds(array, keras_outputs)] for _, array in returned]


def in_keras_order(model, returned, count: int) -> list[np.ndarray]:
    """The runtime's outputs in Keras' order: by Keras name where every output answers to exactly one, else by position."""
    wanted = keras_names(model, count)
    found = [[array for names, array in returned if answers_to(names, w)] for w in wanted]
    if all(len(matching) == 1 for matching in found):
        return [matching[0] for matching in found]
    return [array for _, array in returned]
