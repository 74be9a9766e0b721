"""Chapter 22's machinery: the models people export, the routes out of Keras, and the runtimes that run them.

A `ModelCase` is one Keras model with seeded weights (a layer in a flag configuration, a
Bidirectional LSTM, a fixed batch, an unrolled layer, a stateful layer, the one-step streaming
model). A `Route` is one way out of Keras and back into numpy: an export call, the runtime that
loads the artifact, and the view of its outputs a deployer reads (a tuple, a dict keyed by
signature names, a listing of tensors). An `ExportCase` is the pair, and the chapter's parameter.

Every artifact is written once per run under pytest's temporary directory (`Exports`), whatever
the number of claims that read it. An export, a load or a first run that raises is kept as the
outcome of that step: the chapter's first claim reports it, and the others skip with it.
"""

import contextlib
import importlib
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

from keras_rnn_spec.artifact_cache import ArtifactCache, artifact_key
from keras_rnn_spec.catalogue import SEQUENCES_STATE, STATE, Flags, RecurrentLayer, Selection
from keras_rnn_spec.observe import TO_NUMPY_CODE, Dims, executed, given_states_code, preamble, seeding_code
from keras_rnn_spec.semantics import directions_by_reference, merged, output_name, returned_by_reference
from keras_rnn_spec.subject import FORK_WARNING, KERAS_MAJOR, as_list, backend_name, keras

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
    """A model case made in Keras: the model, its weights, its inputs, and what Keras returned on them."""

    model: object
    weights: list[np.ndarray]
    inputs: list[np.ndarray]
    keras_outputs: list[np.ndarray]


def build(case: ModelCase) -> Built:
    """The case's model, its weights, inputs and outputs: its reproducer's Keras half, executed."""
    namespace = executed(case.snippet(), case)
    model = namespace["model"]
    return Built(model, [np.asarray(w) for w in model.get_weights()], namespace["inputs"], namespace["keras_outputs"])


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
# Routes: an export, and a runtime that loads its artifact and runs it


class RouteUnavailable(Exception):
    """The route cannot be taken by this subject at all (a package or backend it needs is not here)."""


@dataclass
class Loaded:
    """An artifact loaded in its runtime.

    inputs: its input names, in its own listing order. run(arrays) feeds the arrays to the inputs in
    that order and returns [(names, array)] in the order the runtime lists its outputs; names is a
    tuple of the names the output answers to (empty for a tuple, which has none).
    """

    inputs: list[str]
    run: Callable[[list[np.ndarray]], list[tuple[tuple[str, ...], np.ndarray]]]


@dataclass(frozen=True)
class Route:
    name: str
    export: str  # the key of EXPORTS that writes its artifact (two views of one file share it)
    load: Callable[[Path], Loaded]
    summary: str  # for the report: how the artifact is made and read
    run_code: str  # the snippet lines after the model: the export, `run(inputs)` and `names`
    # False: the runtime takes and returns dicts whose order is undefined (a SavedModel signature's,
    # from protobuf maps): positions mean nothing there, and the claims about them skip.
    ordered: bool = True


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


def load(route: "Route", path: Path) -> Loaded:
    """The artifact at `path` loaded along `route`, its runs silenced as `quietly` says."""
    loaded = quietly(route.load, path)
    return Loaded(loaded.inputs, lambda arrays: quietly(loaded.run, arrays))


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


def _needs(module: str, why: str):
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise RouteUnavailable(f"{why} needs the {module.split('.')[0]} package, not installed here ({error})") from None


@contextlib.contextmanager
def no_telemetry():
    """OpenVINO sends usage data to Google Analytics (seen from its converter, and from a process that
    imports it and asks its Core for a property) unless its user opted out (`opt_in_out --opt_out`, a
    setting in the user's home) or the process runs in CI: the converter asks openvino_telemetry with
    disable_in_ci=True (openvino/tools/ovc/telemetry_utils.py), which reads CI=true. The spec sends
    nothing off the machine, so it imports, converts and runs OpenVINO with CI=true set, and only then:
    pytest reads CI too (it prints the short summary in full under CI)."""
    with unittest.mock.patch.dict(os.environ, {"CI": "true"}):
        yield


def _keras_export(format_: str, suffix: str):
    def export(model, directory: Path) -> Path:
        if KERAS_MAJOR < 3 and format_ != "tf_saved_model":
            raise RouteUnavailable(f"Keras {keras.__version__} has no model.export(format={format_!r}) (Keras 3 has)")
        if KERAS_MAJOR < 3 and not hasattr(model, "export"):
            raise RouteUnavailable(f"Keras {keras.__version__} has no model.export")
        path = directory / f"model{suffix}"
        options = {"format": format_} if KERAS_MAJOR >= 3 else {}
        try:
            with no_telemetry():
                quietly(model.export, str(path), verbose=False, **options) if KERAS_MAJOR >= 3 else quietly(model.export, str(path))
        except ImportError as error:  # the exporter's own package (tf2onnx, jax2onnx, openvino, litert-torch)
            raise RouteUnavailable(f"model.export(format={format_!r}) needs a package not installed here: {error}") from None
        return path

    return export


def _tensorflow_converter(convert):
    def export(model, directory: Path) -> Path:
        if backend_name() != "tensorflow":
            raise RouteUnavailable(f"it converts a TensorFlow-backed Keras model; this subject computes with {backend_name()}")
        return convert(model, directory)

    return export


def _tflite_convert(model, directory: Path) -> Path:
    tf = _needs("tensorflow", "TFLiteConverter")
    path = directory / "model.tflite"
    path.write_bytes(quietly(tf.lite.TFLiteConverter.from_keras_model(model).convert))
    return path


def _tf2onnx_convert(model, directory: Path) -> Path:
    tf2onnx = _needs("tf2onnx", "tf2onnx")
    path = directory / "model.onnx"
    quietly(tf2onnx.convert.from_keras, model, output_path=str(path))
    return path


EXPORTS: dict[str, Callable] = {
    "tf_saved_model": _keras_export("tf_saved_model", ""),
    "onnx": _keras_export("onnx", ".onnx"),
    "openvino": _keras_export("openvino", ".xml"),
    "litert": _keras_export("litert", ".tflite"),
    "tflite_converter": _tensorflow_converter(_tflite_convert),
    "tf2onnx": _tensorflow_converter(_tf2onnx_convert),
}


def _load_serve(path: Path) -> Loaded:
    tf = _needs("tensorflow", "tf.saved_model.load")
    artifact = tf.saved_model.load(str(path))  # kept by the closure: its functions need its variables
    # serve takes Keras' inputs by position; Keras 3 names them after the Inputs, Keras 2 leaves them unnamed
    names = [spec.name or f"#{k}" for k, spec in enumerate(tf.nest.flatten(artifact.serve.input_signature))]
    return Loaded(names, lambda arrays: [((), np.asarray(o)) for o in as_list(artifact.serve(arrays if len(arrays) > 1 else arrays[0]))])


def _load_serving_default(path: Path) -> Loaded:
    tf = _needs("tensorflow", "tf.saved_model.load")
    artifact = tf.saved_model.load(str(path))
    names = list(artifact.signatures["serving_default"].structured_input_signature[1])

    def run(arrays):  # reads the signature from `artifact` each time: it needs the artifact's variables alive
        returned = artifact.signatures["serving_default"](**{name: tf.constant(array) for name, array in zip(names, arrays)})
        return [((key,), np.asarray(value)) for key, value in returned.items()]

    return Loaded(names, run)


def _load_onnx(path: Path) -> Loaded:
    onnxruntime = _needs("onnxruntime", "running ONNX")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    outputs = [(o.name,) for o in session.get_outputs()]
    return Loaded(names, lambda arrays: list(zip(outputs, session.run(None, dict(zip(names, arrays))))))


def load_openvino(path: Path, config: dict | None = None) -> Loaded:
    """The IR compiled for the CPU with `config` (default: OpenVINO's default configuration)."""
    with no_telemetry():
        openvino = _needs("openvino", "running OpenVINO IR")
        compiled = openvino.Core().compile_model(str(path), "CPU", config or {})
    names = [port.get_any_name() for port in compiled.inputs]
    outputs = [tuple(sorted(port.get_names())) for port in compiled.outputs]

    def run(arrays):
        returned = compiled(list(arrays))
        return [(names_, np.asarray(returned[port])) for names_, port in zip(outputs, compiled.outputs)]

    return Loaded(names, run)


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


def _interpreter(path: Path):
    litert = _needs("ai_edge_litert.interpreter", "running a LiteRT file")
    return litert.Interpreter(model_path=str(path))


def _load_litert_details(path: Path) -> Loaded:
    interpreter = _interpreter(path)
    interpreter.allocate_tensors()
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()  # resizing keeps the indices
    allocated = [tuple(i["shape"]) for i in inputs]

    def run(arrays):
        # Resized only when the shapes change: reading the details on every call would cost as much as
        # a small model's invoke (the benchmarks time this function).
        if [a.shape for a in arrays] != allocated:
            for detail, array in zip(inputs, arrays):
                interpreter.resize_tensor_input(detail["index"], array.shape)
            interpreter.allocate_tensors()
            allocated[:] = [a.shape for a in arrays]
        for detail, array in zip(inputs, arrays):
            interpreter.set_tensor(detail["index"], array)
        interpreter.invoke()
        return [((d["name"],), interpreter.get_tensor(d["index"])) for d in outputs]

    return Loaded([i["name"] for i in inputs], run)


def _load_litert_signature(path: Path) -> Loaded:
    runner = _interpreter(path).get_signature_runner()
    names = list(runner.get_input_details())

    def run(arrays):
        return [((key,), np.asarray(value)) for key, value in runner(**dict(zip(names, arrays))).items()]

    return Loaded(names, run)


SAVED_MODEL = "model.export('artifact', format='tf_saved_model')" if KERAS_MAJOR >= 3 else "model.export('artifact')"
# What each route's snippet adds after the model: the export, then `run(inputs)`, which returns the
# runtime's outputs as a list in its own listing order, and `names`, the names it lists them under.
LITERT_DETAILS_RUN = """from ai_edge_litert.interpreter import Interpreter
interpreter = Interpreter(model_path='model.tflite')
def run(inputs):
    for detail, array in zip(interpreter.get_input_details(), inputs):
        interpreter.resize_tensor_input(detail['index'], array.shape)
    interpreter.allocate_tensors()
    for detail, array in zip(interpreter.get_input_details(), inputs):
        interpreter.set_tensor(detail['index'], array)
    interpreter.invoke()
    return [interpreter.get_tensor(d['index']) for d in interpreter.get_output_details()]
names = [d['name'] for d in interpreter.get_output_details()]"""
LITERT_SIGNATURE_RUN = """from ai_edge_litert.interpreter import Interpreter
runner = Interpreter(model_path='model.tflite').get_signature_runner()
def run(inputs):
    returned = runner(**dict(zip(runner.get_input_details(), inputs)))
    return list(returned.values())
names = list(runner.get_output_details())"""
ONNX_RUN = """import onnxruntime
session = onnxruntime.InferenceSession('model.onnx')
def run(inputs):
    return session.run(None, {i.name: a for i, a in zip(session.get_inputs(), inputs)})
names = [o.name for o in session.get_outputs()]"""
TFLITE_CONVERT = "import tensorflow as tf\nopen('model.tflite', 'wb').write(tf.lite.TFLiteConverter.from_keras_model(model).convert())"
ROUTES = [
    Route(
        "saved_model-serve",
        "tf_saved_model",
        _load_serve,
        f"`{SAVED_MODEL}`, then `tf.saved_model.load(...).serve(x)`: a tuple",
        f"""{SAVED_MODEL}
import tensorflow as tf
artifact = tf.saved_model.load('artifact')
def run(inputs):
    return [o.numpy() for o in tf.nest.flatten(artifact.serve(inputs if len(inputs) > 1 else inputs[0]))]
names = None  # a tuple""",
    ),
    Route(
        "saved_model-serving_default",
        "tf_saved_model",
        _load_serving_default,
        f"`{SAVED_MODEL}`, then its `serving_default` signature: a dict",
        f"""{SAVED_MODEL}
import tensorflow as tf
artifact = tf.saved_model.load('artifact')
signature = artifact.signatures['serving_default']
def run(inputs):
    returned = signature(**dict(zip(signature.structured_input_signature[1], map(tf.constant, inputs))))
    return [value.numpy() for value in returned.values()]
names = list(signature(**dict(zip(signature.structured_input_signature[1], map(tf.constant, inputs)))))""",
        ordered=False,
    ),
    Route(
        "onnx",
        "onnx",
        _load_onnx,
        "`model.export('model.onnx', format='onnx')`, then `onnxruntime.InferenceSession(...).run`",
        f"model.export('model.onnx', format='onnx')\n{ONNX_RUN}",
    ),
    Route(
        "openvino",
        "openvino",
        load_openvino,
        "`model.export('model.xml', format='openvino')`, then `openvino.Core().compile_model(..., 'CPU')` with its default configuration",
        """model.export('model.xml', format='openvino')
import openvino
compiled = openvino.Core().compile_model('model.xml', 'CPU')
def run(inputs):
    return list(compiled(inputs).to_tuple())
names = [sorted(port.get_names()) for port in compiled.outputs]""",
    ),
    Route(
        "litert-details",
        "litert",
        _load_litert_details,
        "`model.export('model.tflite', format='litert')`, then the ai-edge-litert `Interpreter`'s `get_output_details()` order",
        f"model.export('model.tflite', format='litert')\n{LITERT_DETAILS_RUN}",
    ),
    Route(
        "litert-signature",
        "litert",
        _load_litert_signature,
        "`model.export('model.tflite', format='litert')`, then the ai-edge-litert signature runner: a dict",
        f"model.export('model.tflite', format='litert')\n{LITERT_SIGNATURE_RUN}",
    ),
    Route(
        "tflite_converter-details",
        "tflite_converter",
        _load_litert_details,
        "`tf.lite.TFLiteConverter.from_keras_model(model).convert()`, then the `Interpreter`'s `get_output_details()` order",
        f"{TFLITE_CONVERT}\n{LITERT_DETAILS_RUN}",
    ),
    Route(
        "tflite_converter-signature",
        "tflite_converter",
        _load_litert_signature,
        "`tf.lite.TFLiteConverter.from_keras_model(model).convert()`, then the signature runner: a dict",
        f"{TFLITE_CONVERT}\n{LITERT_SIGNATURE_RUN}",
    ),
    Route(
        "tf2onnx",
        "tf2onnx",
        _load_onnx,
        "`tf2onnx.convert.from_keras(model, output_path='model.onnx')`, then `onnxruntime.InferenceSession(...).run`",
        f"import tf2onnx\ntf2onnx.convert.from_keras(model, output_path='model.onnx')\n{ONNX_RUN}",
    ),
]


# ---------------------------------------------------------------------------------------------
# The chapter's parameter, and the artifacts of a run


@dataclass(frozen=True)
class ExportCase:
    """One model case taken along one route: the chapter's parameter (`case`, for the verify helper)."""

    route: Route
    model: ModelCase

    def __str__(self) -> str:
        return f"{self.route.name}-{self.model}"

    def describe(self) -> str:
        return f"{self.model.layer_code()} ({KINDS[self.model.kind]}), exported by {self.route.summary}"

    def snippet(self) -> str:
        """The model's Keras half (ModelCase.snippet), then the route's export and run."""
        ran = ["outputs = run(inputs)", "print(names, [o.shape for o in outputs])"]
        return "\n".join([self.model.snippet(), *self.route.run_code.splitlines(), *ran])

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


def export_here(case: ModelCase, export: str, target: Path) -> tuple[str, str, str]:
    """In the export process: build the case's model (the same seeded weights) and export it.
    ("written", path, ""), ("unavailable", why, "") or ("raised", type name, message)."""
    step = attempt(lambda: EXPORTS[export](build(case).model, target))
    if step.unavailable:
        return "unavailable", step.unavailable, ""
    if step.error is not None:
        return "raised", type(step.error).__name__, str(step.error)
    return "written", str(step.value), ""


@dataclass
class Exports:
    """The artifacts of a run, each written once per (model case, export) under `directory`, or taken
    from `cache`, where an earlier run kept it (artifact_cache.py)."""

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
            self.artifacts[key] = self.cached_or_exported(case.model, case.route.export)
        return self.artifacts[key]

    def cached_or_exported(self, case: ModelCase, export: str) -> Step:
        key = artifact_key(self.model(case).model, str(case), export, EXPORTS[export]) if self.cache.directory else ""
        kept = self.cache.get(key) if key else None
        if kept is not None:
            return Step(kept[1]) if kept[0] == "written" else Step(error=Raised(kept[1], kept[2]))
        target = self.directory / f"{case}-{export}".replace("(", "_").replace(")", "_")
        target.mkdir(parents=True, exist_ok=True)
        if export in ISOLATED_EXPORTS:
            step = self.isolated(case, export, target)
        else:
            step = attempt(lambda: EXPORTS[export](self.model(case).model, target))
        if key and step.error is not None:
            self.cache.put_raised(key, getattr(step.error, "kind", type(step.error).__name__), str(step.error))
        elif key and not step.unavailable:
            self.cache.put_written(key, target, step.value)
        return step

    def isolated(self, case: ModelCase, export: str, target: Path) -> Step:
        """The export, run in the worker process; a worker that dies is an outcome, and the next export gets a new one."""
        if self.worker is None:
            self.worker = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        try:
            outcome, first, second = self.worker.submit(export_here, case, export, target).result()
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

    def runtime(self, case: ExportCase) -> tuple[str, Step]:
        """("export" | "load", the step that failed) or ("", the loaded artifact)."""
        exported = self.artifact(case)
        if exported.error or exported.unavailable:
            return "export", exported
        if case not in self.loaded:
            self.loaded[case] = attempt(lambda: load(case.route, exported.value))
        loaded = self.loaded[case]
        return ("load" if loaded.error or loaded.unavailable else ""), loaded


def attempt(step: Callable) -> Step:
    try:
        return Step(step())
    except RouteUnavailable as why:
        return Step(unavailable=str(why))
    except Exception as error:  # any type: which step raised what is the observation
        return Step(error=error)


def fed_by_name(loaded: Loaded, case: ModelCase, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Keras' inputs (in Keras' order) placed in the artifact's input order by name.

    A runtime may decorate a name (LiteRT's details: serving_default_frame:0); the input whose name
    contains the Keras name and no longer Keras name is taken. KeyError names what is missing."""
    placed = []
    for position, listed in enumerate(loaded.inputs):
        if listed == f"#{position}":  # an unnamed input: Keras' input in its place
            placed.append(arrays[position])
            continue
        matches = [k for k, name in enumerate(case.input_names) if name in listed]
        if not matches:
            raise KeyError(f"the artifact's input {listed!r} names none of Keras' inputs {case.input_names}")
        placed.append(arrays[max(matches, key=lambda k: len(case.input_names[k]))])
    return placed


def fed(loaded: Loaded, case: ModelCase, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Keras' inputs placed by name (`fed_by_name`), or by position where the artifact lost the names
    (OpenVINO's IR of a torch model calls them input, input_1, ...): what a deployer would do."""
    try:
        return fed_by_name(loaded, case, arrays)
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


def closest(returned: list[tuple[tuple[str, ...], np.ndarray]], wanted: np.ndarray) -> np.ndarray:
    """The runtime output nearest to `wanted` among those of its shape (NaN where none has it): how a
    check about the numbers reads a runtime's outputs, whatever their order and names."""
    same_shape = [array for _, array in returned if np.shape(array) == np.shape(wanted)]
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

