"""The implementation under test: which Keras, on which backend, on which devices.

Everything else imports Keras from here, so the subject is chosen in one place. The ecosystem's
own switches choose it: `TF_USE_LEGACY_KERAS=1` (with the tf-keras package) selects Keras 2 on
TensorFlow 2.16 and later, and `KERAS_BACKEND` selects the Keras 3 backend.
"""

import functools
import os
import platform
from importlib import metadata

# TensorFlow's C++ log (CUDA probing on machines without a GPU) would bury the report header;
# Python exceptions are unaffected.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

if os.environ.get("TF_USE_LEGACY_KERAS") == "1":
    import tf_keras as keras
else:
    import keras

import numpy as np

# JAX warns when a process that has started it forks ("os.fork() was called. os.fork() is incompatible
# with multithreaded code, and JAX is multithreaded, so this will likely lead to a deadlock."). The
# spec starts its processes by spawn or subprocess, never by fork, so a fork is a defect of the suite:
# this warning stays an error in every claim (session.py) and while converters run (exporting.quietly),
# whatever else is filtered.
FORK_WARNING = r"os\.fork\(\) was called"

KERAS_VERSION = keras.__version__
KERAS_MAJOR = int(KERAS_VERSION.split(".")[0])


def backend_name() -> str:
    """The backend Keras computes with ("tensorflow" for Keras 2, which has no other)."""
    return keras.backend.backend()


def to_numpy(value) -> np.ndarray:
    """A backend tensor (or numpy array) as a numpy array."""
    if KERAS_MAJOR >= 3:
        return np.asarray(keras.ops.convert_to_numpy(value))
    return np.asarray(value)


def as_list(outputs) -> list[np.ndarray]:
    """What a layer or model returned, as a list of numpy arrays (one entry per returned tensor)."""
    if isinstance(outputs, (list, tuple)):
        return [to_numpy(item) for item in outputs]
    return [to_numpy(outputs)]


@functools.cache
def installed_version(distribution: str) -> str | None:
    """The version of pip's distribution `distribution` (jax, torch, tensorflow ...), imported or not;
    None when it is not installed. Read from pip's metadata: nothing is imported."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def versions() -> dict[str, str]:
    """Every version that decides what the spec observes, for the report header."""
    found = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "keras": f"{KERAS_VERSION} ({keras.__name__})",
        "backend": backend_name(),
    }
    try:
        import tensorflow as tf

        found["tensorflow"] = tf.__version__
    except ImportError:
        found["tensorflow"] = "not installed"
    # The other backends' frameworks, installed beside the subject or not: each can change what an
    # export does (Keras picks its exporter by what is importable), so a result names them.
    for framework in ("jax", "torch"):
        found[framework] = installed_version(framework) or "not installed"
    found["devices"] = ", ".join(devices()) or "none found"
    return found


def devices() -> list[str]:
    """The devices the backend can see, as short names (CPU:0, GPU:0, ...)."""
    backend = backend_name()
    if backend == "tensorflow":
        import tensorflow as tf

        return [d.name.replace("/physical_device:", "") for d in tf.config.list_physical_devices()]
    if backend == "jax":
        import jax

        return [f"{d.platform.upper()}:{d.id}" for d in jax.devices()]
    if backend == "torch":
        import torch

        gpus = [f"GPU:{i}" for i in range(torch.cuda.device_count())]
        return ["CPU:0", *gpus]
    return []
