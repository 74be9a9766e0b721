"""Which part of the suite a run selected: in words for the report, and whether it was the whole suite.

"The whole suite" is one rule, used where a run's coverage decides something: a known difference
that matches no test is stale only after such a run (keras_rnn_spec/differences.py), and only such a
run's results enter the compatibility matrix (keras_rnn_spec/report.py records the verdict;
tools/compatibility.py reads it). It is every folder of the suite (the package's; in a self-test's
suite, the ini's testpaths) collected without errors, nothing deselected (-k, -m, --deselect) or left
out (--lf, --ignore), on Keras' own layers.
"""

import pytest

from keras_rnn_spec.catalogue import selection_at, selection_of
from keras_rnn_spec.invocation import PACKAGE_DIR, arg_paths, selects_the_spec


def describe(config) -> str:
    """The selection in words: "the whole suite (`spec`)", or the paths and options that narrowed it."""
    parts = []
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        parts.append("paths " + ", ".join(f"`{arg}`" for arg in config.args))
    if config.option.keyword:
        parts.append(f"-k `{config.option.keyword}`")
    if config.option.markexpr:
        parts.append(f"-m `{config.option.markexpr}`")
    if config.option.deselect:
        parts.append("--deselect " + ", ".join(f"`{nodeid}`" for nodeid in config.option.deselect))
    if config.option.ignore or config.option.ignore_glob:
        parts.append("--ignore " + ", ".join(f"`{path}`" for path in [*(config.option.ignore or ()), *(config.option.ignore_glob or ())]))
    if getattr(config.option, "lf", False):
        parts.append("--lf (the tests that failed last time)")
    selected = selection_of(config)
    if not selected.keras_own:
        parts.append(selected.chosen_by)
    if not parts or parts == [selected.chosen_by]:
        testpaths = config.getini("testpaths")
        parts.insert(0, "the whole suite" + (f" ({', '.join(f'`{p}`' for p in testpaths)})" if testpaths else ""))
    return "; ".join(parts)


def is_whole_suite(config, session, deselected: int) -> bool:
    """Whether the run collected every test of the suite on Keras' own layers (see the module's docstring)."""
    paths = arg_paths(config)
    covered = all(any(path == folder or path in folder.parents for path in paths) for folder in suite_folders(config))
    left_out = getattr(config.option, "lf", False) or config.option.ignore or config.option.ignore_glob
    keras_own = selection_of(config).keras_own and all(selection_at(item).keras_own for item in session.items)
    return keras_own and covered and not left_out and not deselected and not session.testsfailed


def suite_folders(config) -> list:
    """The suite's folders: the package's, in a run of the spec; else (a self-test's suite using the
    report) the ini's testpaths, or the rootdir."""
    if selects_the_spec(config):
        return [PACKAGE_DIR]
    return [(config.rootpath / path).resolve() for path in config.getini("testpaths")] or [config.rootpath]
