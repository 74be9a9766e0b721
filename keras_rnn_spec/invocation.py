"""What a pytest run asks of the spec, read from its configuration: whether its arguments name the
spec (or all of it), where the package is, and the options the plugin's parts share.

The plugin (plugin.py) and the parts it registers (session.py, report.py, selection.py) read these;
it imports nothing of the package, so no part of it imports the plugin back (tests/test_import_graph.py).
"""

import importlib.util
import os
from pathlib import Path

PACKAGE = "keras_rnn_spec"
PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_REPORT = "reports/spec.md"


def package_path(name: str) -> Path | None:
    """Where --pyargs finds a module or package `name` (its folder or file), or None."""
    try:
        found = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if found is None:
        return None
    if found.submodule_search_locations:
        return Path(list(found.submodule_search_locations)[0]).resolve()
    return Path(found.origin).resolve() if found.origin else None


def arg_paths(config) -> list[Path]:
    """The paths the run's arguments name (a --pyargs module by where it is), without ::selections."""
    paths = []
    for arg in config.args:
        target = arg.split("::")[0]
        found = package_path(target) if config.option.pyargs and not os.path.exists(target) else None
        paths.append(found or (config.invocation_params.dir / target).resolve())
    return paths


def installed() -> bool:
    """Whether the package runs from an installation (its folder is then never a test path's child)."""
    return any(part in ("site-packages", "dist-packages") for part in PACKAGE_DIR.parts)


def selects_the_spec(config) -> bool:
    """Whether the run's arguments name the spec: its folder, a path in it, or (in a clone) a path above it."""
    for path in arg_paths(config):
        if path == PACKAGE_DIR or PACKAGE_DIR in path.parents:
            return True
        if path in PACKAGE_DIR.parents and not installed():
            return True
    return False


def layers_target(config) -> str:
    """The --rnn-spec-layers value, else SPEC_LAYERS, else "" (Keras' own layers)."""
    option = config.option.rnn_spec_layers
    return option if option is not None else os.environ.get("SPEC_LAYERS", "")


def report_path(config) -> str:
    return config.option.spec_report or config.getini("spec_report") or ""


def runs_the_whole_spec(config) -> bool:
    """Whether the run's paths are the spec's folder or, in a clone, a folder above it (whatever -k or -m
    then selects), not a chapter or a test of it."""
    paths = arg_paths(config)
    return bool(paths) and all(path == PACKAGE_DIR or (path in PACKAGE_DIR.parents and not installed()) for path in paths)
