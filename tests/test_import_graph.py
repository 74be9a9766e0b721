"""Self-tests of the package's import graph: no module of keras_rnn_spec imports, at any depth, one
that imports it back, whether the import is at the top of the module or deferred inside a function."""

import ast
import graphlib
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "keras_rnn_spec"
PACKAGE = PACKAGE_DIR.name


def imported(source: str) -> set[str]:
    """The package's modules that `source` imports anywhere in it: `from keras_rnn_spec import a, b`,
    `from keras_rnn_spec.a import x`, `import keras_rnn_spec.a` (the package itself, __init__, is left out)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == PACKAGE:
                found.update(alias.name for alias in node.names)
            elif node.module.startswith(PACKAGE + "."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[1] for alias in node.names if alias.name.startswith(PACKAGE + "."))
    return found


def import_graph() -> dict[str, set[str]]:
    """{module: the package's modules it imports} for every module of the package."""
    return {path.stem: imported(path.read_text(encoding="utf-8")) for path in sorted(PACKAGE_DIR.glob("*.py"))}


def test_the_package_imports_no_module_that_imports_it_back():
    """The import graph of keras_rnn_spec has no cycle."""
    try:
        graphlib.TopologicalSorter(import_graph()).prepare()
    except graphlib.CycleError as error:
        pytest.fail(f"an import cycle in {PACKAGE}: {' -> '.join(error.args[1])}")


def test_the_graph_sees_every_form_of_import():
    """The check is not vacuous: it reads imports at the top and inside functions, in each form the package uses."""
    source = "from keras_rnn_spec import a, b\nimport keras_rnn_spec.c\n\ndef f():\n    from keras_rnn_spec.d import x\n    import os\n"
    assert imported(source) == {"a", "b", "c", "d"}
    assert import_graph()["plugin"] >= {"session", "report", "differences"}
    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter({"plugin": {"session"}, "session": {"plugin"}}).prepare()
