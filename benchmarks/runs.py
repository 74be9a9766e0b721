"""What is timed: one recurrent layer with seeded weights, run along one path on one device.

Every path is timed from the same numpy batch to numpy outputs, so the paths do the same work and
a GPU run includes its copies to and from the device (and waits for the result). The layers are
the spec's (catalogue, seeded weights, N(0, 1) data), at the notes' sizes: 3 features, 5 units.

The paths inside Keras:
    predict           Model.predict(x, batch_size=len(x)): the notes' path, one batch
    predict_on_batch  Model.predict_on_batch(x)
    call              layer(x), eagerly
    compiled          the layer inside a compiled function: tf.function on TensorFlow, jax.jit on JAX
    compiled_xla      tf.function(jit_compile=True): XLA, on TensorFlow only (jax.jit is XLA already)
and the deployment routes out of it (benchmarks/routes.py): saved_model, onnxruntime, openvino,
openvino_default, litert.
"""

import functools
import importlib
import inspect
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from benchmarks.report import KERAS_PATHS
from keras_rnn_spec import subject
from keras_rnn_spec.catalogue import FLAGS, KERAS_LAYERS, Flags, RecurrentLayer
from keras_rnn_spec.observe import NOTES_DIMS, Case, Dims, inputs_for, set_seeded_weights
from keras_rnn_spec.subject import as_list, backend_name, keras
from keras_rnn_spec.verify import reference_tolerance

DEVICES = ("CPU", "GPU")
LAYERS_BY_NAME = {str(layer): layer for layer in KERAS_LAYERS}
FLAGS_BY_NAME = {str(flags): flags for flags in FLAGS}

# How each benchmark is timed (the test module times; the results file records these).
# A run is PROCESSES passes over the grid, each in a process of its own, one after the other, and a
# figure pools the rounds of every process (report.pooled_over_processes, called by the conftest).
# Separate processes, because a process sets a level of its own: on the 2-core machine of
# BENCHMARKS.md six processes timing one eager LSTM call gave medians from 27.4 to 28.1 ms, each
# with an IQR of 0.13 to 0.38 ms, so passes inside one process showed a spread that the next run's
# process did not keep. The spread between the processes' medians is the figure's spread.
PROCESSES = 3
WARMUP_CALLS = 2  # the first call traces (predict, compiled), compiles (XLA) or allocates (LiteRT)
SECONDS_PER_PROCESS = 0.1  # 3 processes: 9.4 minutes at 0.06 s on the machine of BENCHMARKS.md, about 10.5 at 0.1
MIN_ROUNDS_PER_PROCESS = 3  # 9 pooled rounds at least: a median and its spread in each process
MAX_ROUNDS_PER_PROCESS = 300
MATMUL_SIZE = 2048  # the machine's float32 rate: an n x n by n x n product with numpy, in each process
MATMUL_ROUNDS = 5


@dataclass(frozen=True)
class Setting:
    """One benchmark, by name: a layer in one flag configuration, on inputs of one size, run along
    one path on one device. Plain names and numbers, so pytest-benchmark's JSON records them as
    they are and `--benchmark-group-by=param:path` works."""

    layer: str  # a catalogue name: SimpleRNN, GRU, LSTM
    flags: str  # default, sequences, state, sequences-state
    batch: int
    timesteps: int
    device: str  # CPU or GPU
    path: str

    @property
    def recurrent(self) -> RecurrentLayer:
        return LAYERS_BY_NAME[self.layer]

    @property
    def flag_set(self) -> Flags:
        return FLAGS_BY_NAME[self.flags]

    @property
    def model_key(self) -> tuple:
        """What identifies the model the path runs (its layer, flags and size), without the device."""
        return (self.recurrent, self.flag_set, self.batch, self.timesteps)

    @property
    def dims(self) -> Dims:
        return Dims(self.batch, self.timesteps, NOTES_DIMS.features, NOTES_DIMS.units)

    @property
    def case(self) -> Case:
        """The spec's case for this layer and size, for failure messages and reproducers."""
        return Case(self.recurrent, self.flag_set, "call", self.dims)

    @property
    def group(self) -> str:
        """pytest-benchmark's group: the paths of one model on one device, side by side."""
        return f"{self.layer}-{self.flags}-b{self.batch}-t{self.timesteps}-{self.device.lower()}"

    def __str__(self) -> str:
        return f"{self.group}-{self.path}"


def agreement_tolerance(dims: Dims) -> float:
    """How far two float32 runs of the same layer may differ.

    Each is within float32 rounding of the float64 result (the spec's reference tolerance), but
    another graph, XLA or a cuDNN kernel may order the operations differently, so two runs may sit
    on opposite sides of it: twice the reference tolerance.
    """
    return 2 * reference_tolerance(dims)


def chosen_devices(option: str) -> tuple[str, ...]:
    """The devices the --device option asks for: "cpu", "gpu" or "all"."""
    return DEVICES if option == "all" else (option.upper(),)


# Backend-specific pieces, each in one place.


def backend_version() -> str:
    """The version of the backend's own package (tensorflow, jax, torch: named like the backend)."""
    try:
        return importlib.import_module(backend_name()).__version__
    except (ImportError, AttributeError):
        return "unknown"


def device_visible(device: str) -> bool:
    return any(name.startswith(f"{device}:") for name in subject.devices())


def gpu_names() -> list[str]:
    """The visible GPUs' model names, for the machine's description."""
    backend = backend_name()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name) for gpu in gpus]
    if backend == "jax":
        import jax

        return [d.device_kind for d in jax.devices() if d.platform == "gpu"]
    if backend == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return []


def device_scope(device: str):
    """A context in which layers are built and run on `device` ("CPU" or "GPU")."""
    if backend_name() == "tensorflow":
        import tensorflow as tf

        return tf.device(f"/{device}:0")
    return keras.device(f"{device.lower()}:0")  # Keras 3: the other backends have no Keras 2


def keep_float32_exact() -> str:
    """Turn off TF32 matmuls on GPUs (Ampere and later use them by default), so GPU and CPU compute
    in float32 alike and their numbers are comparable; returns what was done."""
    backend = backend_name()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_tensor_float_32_execution(False)
        return "tf.config.experimental.enable_tensor_float_32_execution(False)"
    if backend == "jax":
        import jax

        jax.config.update("jax_default_matmul_precision", "highest")
        return "jax.config.update('jax_default_matmul_precision', 'highest')"
    if backend == "torch":
        import torch

        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        return "torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False"
    return f"nothing: no TF32 switch known for the {backend} backend"


def kernel_options(layer: RecurrentLayer, device: str) -> dict:
    """Constructor options that pin the kernel, where Keras lets us choose (Keras 3 on TensorFlow).

    On GPU, `use_cudnn=True`: the layer then runs cuDNN or raises, so a GPU figure is a cuDNN figure
    wherever the layer is eligible (the defaults are: tanh, sigmoid, bias, no unroll). On CPU,
    `use_cudnn=False`: the generic kernel, which "auto" picks on a machine without a GPU, also on a
    machine with one. Elsewhere the defaults stand (Keras 2 picks the kernel at run time).
    """
    takes_option = "use_cudnn" in inspect.signature(layer.layer_class.__init__).parameters
    if backend_name() != "tensorflow" or not takes_option:
        return {}
    return {"use_cudnn": device == "GPU"}


def compiled(layer, xla: bool) -> tuple[Callable | None, str]:
    """The layer's call compiled by the backend, with a description, or None and the reason it is not."""
    backend = backend_name()
    if backend == "tensorflow":
        import tensorflow as tf

        if xla and not getattr(layer, "supports_jit", True):
            return None, (
                f"Keras marks {type(layer).__name__} as not XLA-compilable here "
                "(supports_jit=False: its cuDNN kernel has no XLA lowering)"
            )
        return tf.function(layer, jit_compile=xla), f"tf.function(layer, jit_compile={xla})"
    if backend == "jax":
        if xla:
            return None, "jax.jit compiles with XLA already: on JAX the compiled path is the XLA path"
        import jax

        trainable = [v.value for v in layer.trainable_variables]
        non_trainable = [v.value for v in layer.non_trainable_variables]
        jitted = jax.jit(lambda tv, ntv, x: layer.stateless_call(tv, ntv, x)[0])
        return (lambda x: jitted(trainable, non_trainable, x)), "jax.jit(layer.stateless_call)"
    return None, f"no compiled path is benchmarked for the {backend} backend"


def tracing_count(function) -> int | None:
    """How often a tf.function has traced (None where the function does not say)."""
    counter = getattr(function, "experimental_get_tracing_count", None)
    return counter() if counter else None


# Models, built once per layer, flags, size and device.


@dataclass
class Prepared:
    """A layer inside a functional model, with seeded weights, on one device, and its inputs."""

    layer: object
    model: object
    inputs: np.ndarray
    kernel: dict  # the constructor options that chose the kernel
    functions: dict = field(default_factory=dict)  # path -> (function of x or None, description)

    def function(self, path: str) -> tuple[Callable | None, str]:
        """The path's function of x (None and the reason where the path does not exist)."""
        if path not in self.functions:
            self.functions[path] = self._make(path)
        return self.functions[path]

    def _make(self, path: str):
        model, layer = self.model, self.layer
        if path == "predict":
            return (lambda x: model.predict(x, batch_size=len(x), verbose=0)), "Model.predict(x, batch_size=len(x), verbose=0)"
        if path == "predict_on_batch":
            return model.predict_on_batch, "Model.predict_on_batch(x)"
        if path == "call":
            return layer, "layer(x)"
        if path in ("compiled", "compiled_xla"):
            return compiled(layer, xla=path == "compiled_xla")
        raise ValueError(f"unknown path {path!r}; the paths inside Keras are {KERAS_PATHS}")


@functools.cache
def prepare(layer: RecurrentLayer, flags: Flags, batch: int, timesteps: int, device: str) -> Prepared:
    """Build the layer and its model on `device`, with the spec's seeded weights and data."""
    dims = Dims(batch, timesteps, NOTES_DIMS.features, NOTES_DIMS.units)
    kernel = kernel_options(layer, device)
    with device_scope(device):
        made = layer.with_options(**kernel).make(dims.units, flags)
        inputs = keras.Input(shape=(timesteps, dims.features))
        model = keras.Model(inputs, made(inputs))
        set_seeded_weights(made, Case(layer, flags, "call", dims))
    return Prepared(made, model, inputs_for(dims), kernel)


@functools.cache
def reference_outputs(layer: RecurrentLayer, flags: Flags, batch: int, timesteps: int) -> list[np.ndarray]:
    """What the layer returns according to the spec's float64 reference, for the seeded weights and data."""
    prepared = prepare(layer, flags, batch, timesteps, "CPU")
    sequence, states = layer.reference(prepared.layer.get_weights(), prepared.inputs)
    return [sequence if flags.return_sequences else sequence[:, -1], *(states if flags.return_state else [])]


@functools.cache
def cpu_outputs(layer: RecurrentLayer, flags: Flags, batch: int, timesteps: int) -> list[np.ndarray]:
    """What the direct call returns on CPU: what a GPU's outputs are compared with."""
    prepared = prepare(layer, flags, batch, timesteps, "CPU")
    with device_scope("CPU"):
        return as_list(prepared.layer(prepared.inputs))
