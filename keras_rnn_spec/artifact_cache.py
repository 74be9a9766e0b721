"""Chapter 22's exported artifacts, kept across runs in pytest's cache directory.

An artifact is a pure function of what made it, so its key is all of that: the versions of every
package that shapes an artifact, the model (its case, its configuration, its weights, and the source
of any layer class that is not Keras' own: a user's layer, or a planted fault), the export and its
code, and the module that executes it. An export that raised is kept as what it raised: a known failure is an outcome
like any other. Under `--cache-clear` the cache starts empty; under `-p no:cacheprovider` there is none,
and every run exports anew.

What can go wrong is answered by one line in the run's summary and a fresh export, never by another
verdict: an entry whose files are missing or changed (each file's digest is kept beside it), one that
cannot be read, and a cache that cannot be written (an unwritable folder, a full disk), after which
the run exports without it.
"""

import functools
import hashlib
import inspect
import json
import os
import platform
import shutil
from pathlib import Path

import pytest

from keras_rnn_spec.subject import backend_name, installed_version

FOLDER = "keras_rnn_spec-exports"  # under pytest's cache directory (config.cache.mkdir)
OUTCOME = "outcome.json"
PROBLEMS = pytest.StashKey[list]()  # the run's lines about its cache (session.py prints them)
# Every package whose version can change what an export writes; "-" when not installed.
SHAPING_PACKAGES = (
    "keras", "tf-keras", "tensorflow", "jax", "jaxlib", "torch", "numpy", "protobuf",
    "onnx", "tf2onnx", "jax2onnx", "onnxscript", "openvino", "ai-edge-litert", "litert-torch",
)
KERAS_MODULES = ("keras.", "tf_keras.", "keras_core.")
EXPORTING_MODULE = Path(__file__).resolve().with_name("exporting.py")


@functools.cache  # the same for every export of a run
def package_versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "backend": backend_name()}
    for name in SHAPING_PACKAGES:
        found[name] = installed_version(name) or "-"
    return found


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def classes_outside_keras(model) -> list[type]:
    """Every class, in the method resolution order of every layer of `model` (cells included), whose
    code is not Keras' own: its version does not say what it computes."""
    layers = model._flatten_layers(include_self=False, recursive=True)
    found = {}
    for layer in layers:
        for cls in type(layer).__mro__:
            if not cls.__module__.startswith(KERAS_MODULES) and cls.__module__ != "builtins":
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[name] for name in sorted(found)]


def source_of(code) -> str:
    """The source of a class or function, or its name where no source is kept."""
    try:
        return inspect.getsource(code)
    except (OSError, TypeError):
        return f"{code.__module__}.{code.__qualname__}"


def configuration_of(model) -> str:
    try:
        return model.to_json()
    except Exception as error:  # a user's layer without a working get_config: its code says the rest
        return f"no configuration: {describe(error)}"


def artifact_key(model, model_case: str, export: str, export_code: str) -> str:
    """The digest of everything that shapes the artifact of `model` exported by `export_code`, the code
    of exporting.EXPORTS named `export` (a self-test may replace it)."""
    weights = hashlib.sha256()
    for array in model.get_weights():
        weights.update(str(array.dtype).encode() + str(array.shape).encode() + array.tobytes())
    parts = {
        "versions": package_versions(),
        "model": model_case,
        "configuration": configuration_of(model),
        "weights": weights.hexdigest(),
        "layer code": [source_of(cls) for cls in classes_outside_keras(model)],
        "export": [export, export_code],
        "exporting module": digest(EXPORTING_MODULE.read_bytes()),
    }
    return digest(json.dumps(parts, sort_keys=True).encode())


class ArtifactCache:
    """The entries under `directory`, one folder per key: OUTCOME, and the artifact's files."""

    def __init__(self, directory: Path | None, problems: list[str] | None = None):
        self.directory = directory  # None: no cache this run
        self.problems: list[str] = problems or []  # one line each, for the run's summary
        self.writable = directory is not None

    def get(self, key: str):
        """("written", path) or ("raised", type name, message) kept under `key`, or None (none kept, or
        one that cannot be trusted: then a line in `problems`, and the entry is removed)."""
        if self.directory is None or not (self.directory / key).is_dir():
            return None
        entry = self.directory / key
        try:
            kept = json.loads((entry / OUTCOME).read_text())
            if kept["outcome"] == "raised":
                return "raised", kept["type"], kept["message"]
            changed = [name for name, wanted in kept["files"].items() if digest((entry / name).read_bytes()) != wanted]
            if changed:
                raise ValueError(f"{len(changed)} of its files changed, {changed[0]} first")
            return "written", entry / kept["artifact"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            self.problems.append(f"cached export {key[:12]} in {self.directory} could not be used ({describe(error)}): exported anew")
            shutil.rmtree(entry, ignore_errors=True)
            return None

    def put_written(self, key: str, folder: Path, artifact: Path) -> None:
        """Keep the artifact at `artifact`, with everything else in `folder`, its export's folder."""
        files = {str(path.relative_to(folder)): path for path in sorted(folder.rglob("*")) if path.is_file()}
        self._put(key, {"outcome": "written", "artifact": str(artifact.relative_to(folder))}, folder, files)

    def put_raised(self, key: str, kind: str, message: str) -> None:
        self._put(key, {"outcome": "raised", "type": kind, "message": message}, None, {})

    def _put(self, key: str, outcome: dict, folder: Path | None, files: dict) -> None:
        """Written into a folder of its own first, then renamed into place: another process (an xdist
        worker) reading the same key sees the whole entry or none."""
        if not self.writable:
            return
        partial = self.directory / f"{key}.partial-{os.getpid()}"
        try:
            shutil.rmtree(partial, ignore_errors=True)
            if folder is not None:
                shutil.copytree(folder, partial)
            else:
                partial.mkdir(parents=True)
            outcome["files"] = {name: digest(path.read_bytes()) for name, path in files.items()}
            (partial / OUTCOME).write_text(json.dumps(outcome))
            os.replace(partial, self.directory / key)
        except OSError as error:
            shutil.rmtree(partial, ignore_errors=True)
            if (self.directory / key).is_dir():  # another process kept the same entry first
                return
            self.writable = False
            self.problems.append(f"the export cache {self.directory} cannot be written ({describe(error)}): this run exports without it")


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def cache_of(config) -> ArtifactCache:
    """The run's cache: none under `-p no:cacheprovider`, or where pytest's cache folder cannot be made
    (then with a line saying so)."""
    cache = getattr(config, "cache", None)
    if cache is None:
        return ArtifactCache(None)
    try:
        return ArtifactCache(cache.mkdir(FOLDER))
    except OSError as error:
        return ArtifactCache(None, [f"the export cache cannot be made ({describe(error)}): this run exports without it"])
