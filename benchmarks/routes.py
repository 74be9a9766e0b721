"""The deployment routes as benchmark paths: chapter 22's ways out of Keras (keras_rnn_spec.exporting),
timed from the same numpy batch to numpy outputs as the Keras paths.

    saved_model       model.export(format='tf_saved_model'), then tf.saved_model.load(...).serve(x)
    onnxruntime       model.export(format='onnx'), then onnxruntime.InferenceSession(...).run
    openvino          model.export(format='openvino'), compiled for the CPU with INFERENCE_PRECISION_HINT f32
    openvino_default  the same IR compiled with OpenVINO's default configuration, where its default
                      precision is not f32 (bf16 on a CPU that computes it natively)
    litert            model.export(format='litert'), then the ai-edge-litert Interpreter: set the
                      input, invoke, read the outputs

What is exported is the model the Keras paths run (its Input fixes the length and leaves the batch
unknown), so there is one artifact per layer, flags and length. OpenVINO and LiteRT take that layer
with unroll=True and the same weights: on TensorFlow they refuse its loop (chapter 22's known
differences export-openvino-refuses-the-tensorflow-loop and export-litert-needs-the-flex-delegate),
and unrolled they convert. OpenVINO compiles the IR once per configuration, its batch left dynamic;
the LiteRT interpreter is resized to each batch before the batch is timed.

Exporting takes seconds per artifact, so every artifact is exported once per run, before anything is
timed, by worker processes writing into the run's directory; every process of the run loads from it.
A route a model or subject cannot take is skipped with the reason its export or load gave. What is
exported and timed is chapter 22's code, as its reproducers print it: the export's code
(exporting.EXPORTS) and the `run` that the route's load code defines.
"""

import functools
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

from benchmarks import quiet
from benchmarks.runs import FLAGS_BY_NAME, LAYERS_BY_NAME, Setting, device_scope, kernel_options, prepare
from keras_rnn_spec import exporting
from keras_rnn_spec.observe import NOTES_DIMS
from keras_rnn_spec.subject import keras
from keras_rnn_spec.verify import reference_tolerance

F32 = exporting.F32


@dataclass(frozen=True)
class RoutePath:
    """A benchmark path along one of chapter 22's routes (exporting.ROUTES, by name)."""

    route: str
    unrolled: bool  # the layer is exported with unroll=True
    code: str  # for the results: what is timed
    openvino_config: dict | None = None  # OpenVINO's compile_model configuration

    @property
    def export(self) -> str:
        return ROUTES[self.route].export


ROUTES = {route.name: route for route in exporting.ROUTES}
ROUTE_PATHS = {
    "saved_model": RoutePath("saved_model-serve", False, "tf.saved_model.load(artifact).serve(x)"),
    "onnxruntime": RoutePath("onnx", False, "onnxruntime.InferenceSession(model.onnx).run(None, {name: x})"),
    "openvino": RoutePath("openvino", True, "openvino.Core().compile_model(model.xml, 'CPU', {'INFERENCE_PRECISION_HINT': 'f32'})([x])", F32),
    "openvino_default": RoutePath("openvino", True, "openvino.Core().compile_model(model.xml, 'CPU')([x])", {}),
    "litert": RoutePath("litert-details", True, "interpreter.set_tensor(input, x); interpreter.invoke(); interpreter.get_tensor(output) for each output"),
}


@dataclass(frozen=True)
class Artifact:
    """One exported file: a (layer, flags, length) model, maybe unrolled, written by the code of one of exporting.EXPORTS."""

    layer: str
    flags: str
    timesteps: int
    export: str
    unrolled: bool

    def directory(self, run: Path) -> Path:
        return run / f"{self.layer}-{self.flags}-t{self.timesteps}-{self.export}{'-unrolled' if self.unrolled else ''}"


def artifact_of(setting: Setting) -> Artifact:
    path = ROUTE_PATHS[setting.path]
    return Artifact(setting.layer, setting.flags, setting.timesteps, path.export, path.unrolled)


# The outcome of an export, in the artifact's directory: the written path, or why there is none.
WRITTEN, REFUSED = "written.txt", "refused.txt"


def model_to_export(artifact: Artifact):
    """The model the Keras paths run for this layer, flags and length, or its unrolled twin with the same weights."""
    layer, flags = LAYERS_BY_NAME[artifact.layer], FLAGS_BY_NAME[artifact.flags]
    prepared = prepare(layer, flags, 1, artifact.timesteps, "CPU")
    model = prepared.model
    if artifact.unrolled:
        with device_scope("CPU"):
            made = layer.with_options(unroll=True, **kernel_options(layer, "CPU")).make(NOTES_DIMS.units, flags)
            inputs = keras.Input(shape=(artifact.timesteps, NOTES_DIMS.features))
            model = keras.Model(inputs, made(inputs))
            model.set_weights(prepared.model.get_weights())
    model(prepared.inputs)  # exporting to ONNX needs a model that has run
    return model


def export(artifact: Artifact, run: Path) -> None:
    """In an export process: write the artifact into its directory, or the reason it cannot be written."""
    directory = artifact.directory(run)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        written = exporting.write_artifact({"model": model_to_export(artifact)}, artifact.export, directory)
    except exporting.RouteUnavailable as why:
        (directory / REFUSED).write_text(str(why))
    except Exception as error:  # any type: the route is skipped with what its export raised
        (directory / REFUSED).write_text(f"the export raised {exporting.summary(error)}")
    else:
        (directory / WRITTEN).write_text(str(written))


def outcome_written(artifact: Artifact, run: Path) -> bool:
    return (artifact.directory(run) / WRITTEN).exists() or (artifact.directory(run) / REFUSED).exists()


EXPORT_WORKERS = 2  # nothing is timed while they export: the run's first process waits for them


def export_missing(artifacts: list[Artifact], run: Path, export_one: Callable[[Artifact, Path], None] = export) -> int:
    """Export every artifact without an outcome yet, in worker processes; returns how many were exported.

    An export's native code can abort its process (chapter 22: TensorFlow Lite's converter on
    TensorFlow 2.16). The pool then breaks and takes the exports in flight with it, so those left
    are exported again in a single worker, where a death names its export and a new worker goes on."""
    missing = [a for a in dict.fromkeys(artifacts) if not outcome_written(a, run)]
    if not missing:
        return 0
    missing.sort(key=lambda a: (-a.timesteps, not a.unrolled))  # the longest first, so the workers finish together
    log = str(run / "exports.log")
    with workers(EXPORT_WORKERS, log) as pool:
        for done in as_completed([pool.submit(export_one, artifact, run) for artifact in missing]):
            try:
                done.result()
            except BrokenProcessPool:
                pass  # this artifact has no outcome: exported alone below
    alone = None
    for artifact in missing:
        if outcome_written(artifact, run):
            continue
        alone = alone or workers(1, log)
        try:
            alone.submit(export_one, artifact, run).result()
        except BrokenProcessPool:
            artifact.directory(run).mkdir(parents=True, exist_ok=True)  # it may have died before making it
            (artifact.directory(run) / REFUSED).write_text("the export process died without an exception (a native abort)")
            alone.shutdown()
            alone = None
    if alone:
        alone.shutdown()
    return len(missing)


def workers(count: int, log: str) -> ProcessPoolExecutor:
    """Export processes: fresh interpreters (no state shared with the process that times), their output in `log`."""
    return ProcessPoolExecutor(count, mp_context=get_context("spawn"), initializer=quiet.to_log, initargs=(log,))


@functools.cache
def openvino_precision() -> str:
    return exporting.openvino_precision()


class Loaded:
    """The run's artifacts, each loaded once in this process along the routes that read it."""

    def __init__(self, run: Path):
        self.run = run
        self.loaded = {}  # (artifact, benchmark path) -> (the route code's run, or None, and why not)

    def function(self, setting: Setting) -> tuple[Callable | None, str]:
        """The timed function of x, the route's load code's `run` (it returns the runtime's outputs as a
        list), or None and why the route is skipped."""
        if setting.device != "CPU":
            return None, "the routes' runtimes are timed on their CPU devices only"
        if setting.path == "openvino_default" and default_precision_refused():
            return None, default_precision_refused()
        key = (artifact_of(setting), setting.path)
        if key not in self.loaded:
            self.loaded[key] = self._load(*key)
        run, why = self.loaded[key]
        if run is None:
            return None, why
        return (lambda x: run([x])), ROUTE_PATHS[setting.path].code

    def _load(self, artifact: Artifact, path: str):
        directory = artifact.directory(self.run)
        if (directory / REFUSED).exists():
            return None, (directory / REFUSED).read_text()
        if not (directory / WRITTEN).exists():
            return None, f"no {artifact.export} artifact in {directory}: the run's first process exports them"
        written = Path((directory / WRITTEN).read_text())
        route_path = ROUTE_PATHS[path]
        code = ROUTES[route_path.route].load_code if route_path.openvino_config is None else exporting.openvino_load_code(route_path.openvino_config)
        try:
            return exporting.load_artifact(code, written, {}).namespace["run"], ""  # no route timed here reads Keras' inputs
        except exporting.RouteUnavailable as why:
            return None, str(why)
        except Exception as error:  # any type: the route is skipped with what its load raised
            return None, f"loading the artifact raised {exporting.summary(error)}"


def default_precision_refused() -> str:
    """Why openvino_default is not timed here, or "" where it is."""
    precision = openvino_precision()
    if precision == "f32":
        return "OpenVINO's default inference precision here is f32: the openvino path times it"
    if precision not in MACHINE_EPSILON and precision != "none":  # none: no OpenVINO, which its export says
        return f"OpenVINO's default inference precision here is {precision}, for which the output check has no rounding bound"
    return ""


# Machine epsilon of the precisions OpenVINO may compute in by default (8 and 11 significant bits).
MACHINE_EPSILON = {"bf16": 2.0**-7, "f16": 2.0**-10}


def tolerance(setting: Setting) -> tuple[float, str]:
    """How far the route's outputs may lie from the float64 reference, and why.

    At float32, the spec's reference tolerance. At OpenVINO's default precision below f32, one
    step's rounding at that precision, (features + units + 1) epsilons: the same per-step term as
    the float32 tolerance (keras_rnn_spec.verify.reference_tolerance), without its growth over T
    steps, which at bf16 would exceed the outputs themselves. The gates and tanh keep a state's
    error from adding up over the steps (at bf16 on this grid: at most 0.012 off, at 10 steps as at
    100), and a wrong answer (another output, other weights) lies 0.1 or more off."""
    if setting.path == "openvino_default":
        precision = openvino_precision()
        dims = setting.dims
        bound = (dims.features + dims.units + 1) * MACHINE_EPSILON[precision]
        return bound, f"OpenVINO computes in {precision} by default here: one step's rounding at {precision}"
    return reference_tolerance(setting.dims), "float32 rounding over T steps"
