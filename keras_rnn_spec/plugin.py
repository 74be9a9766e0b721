"""The pytest plugin that runs the spec: installed as the `pytest11` entry point, listed in the
repository's conftest.py.

It is loaded into every pytest run of an environment that has the package, so it is light: it
imports neither Keras nor the chapters, and does nothing unless the run selects the spec
(`pytest --pyargs keras_rnn_spec`, a path in or above the package's folder in a clone). Then, at
configure time, it resolves the layers under test (--rnn-spec-layers, or SPEC_LAYERS) into the config's
stash, from which the chapters are parametrized (keras_rnn_spec/parameters.py), and registers the
spec's session hooks and fixtures (keras_rnn_spec/session.py), its known differences (the packaged
table merged with --rnn-spec-differences files) and, when a report path is given (--spec-report, or
the `spec_report` ini option as the repository's pytest.ini sets it), the report.

A run that selects the spec leaves the user's own warning filters and Hypothesis profile as they are:
the spec's property claims carry their Hypothesis settings themselves, and its tests the filters of
the subject's internal warnings (session.py). Before that, a subject the environment cannot give is
refused in one line, the run gets a clone's short summary where the user chose none, and a run of the
whole spec goes over two xdist workers where it can (`pytest_cmdline_main`).
"""

import contextlib
import importlib.util
import os
import sys

import pytest

from keras_rnn_spec.authors import ClaimsFor, SpecClaims
from keras_rnn_spec.invocation import DEFAULT_REPORT, layers_target, report_path, runs_the_whole_spec, selects_the_spec

# The short summary of a run of the spec: a line, with its reason, for every failure, error, skip and
# unexpected pass; the expected failures (known differences) are counted in their own end-of-run
# section instead, one line each, and -ra lists them one by one. pytest's default is "fE".
PYTEST_REPORT_CHARS, SUMMARY_CHARS = "fE", "fEsX"
SPREAD_BY_SCOPE = pytest.StashKey[bool]()  # the run was spread over workers here, by the spec's scopes
WORKERS = 2  # the machine the spec's budgets are set for has 2 cores (README)
BACKENDS = ("tensorflow", "jax", "torch")  # the Keras 3 backends the spec is run on (README)
LAYERS_FORM = (
    "--rnn-spec-layers (or SPEC_LAYERS) must be package.module:ATTRIBUTE, naming a "
    "keras_rnn_spec.catalogue.RecurrentLayer or a list of them, importable from the directory pytest "
    'runs in (README, "Your own layer")'
)


def pytest_addoption(parser):
    group = parser.getgroup("keras-rnn-spec", "the Keras recurrent layers spec (keras_rnn_spec)")
    group.addoption(
        "--rnn-spec-layers",
        metavar="MODULE:ATTRIBUTE",
        default=None,
        help="the layers under test: a keras_rnn_spec.catalogue.RecurrentLayer or a list of them "
        "(default: the SPEC_LAYERS environment variable, else Keras' SimpleRNN, GRU and LSTM)",
    )
    group.addoption(
        "--rnn-spec-differences",
        metavar="FILE",
        action="append",
        default=[],
        help="a TOML file of your own known differences, in the packaged table's format, merged with it "
        "(repeatable; relative to the directory pytest runs in)",
    )
    group.addoption(
        "--spec-report",
        metavar="PATH",
        default=None,
        help=f"write the Markdown spec report to PATH, relative to the rootdir (the repository's pytest.ini "
        f"sets {DEFAULT_REPORT}, with its results file; elsewhere no report is written unless asked)",
    )
    group.addoption(
        "--spec", action="store_true", help="print the claims chapter by chapter, with the cases each passed or failed for"
    )
    parser.addini("spec_report", "the spec report's default path, relative to the rootdir (none: no report)")
    parser.addini(
        "known_differences", "a known differences table that replaces the packaged one, relative to the rootdir"
    )


@contextlib.contextmanager
def captured(config):
    """Output written inside the block goes to pytest's global capture, and is dropped (-s, or
    -p no:capture, leave it on the terminal)."""
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        yield
        return
    capture.resume_global_capture()
    try:
        yield
    finally:
        capture.suspend_global_capture()
        capture.read_global_capture()


def subject_problem() -> str:
    """What is wrong with the subject the environment asks for, in one line naming the variable and
    the fix, or "" once the subject's Keras imports (keras_rnn_spec/subject.py imports it)."""
    if os.environ.get("TF_USE_LEGACY_KERAS") == "1" and importlib.util.find_spec("tf_keras") is None:
        return (
            "TF_USE_LEGACY_KERAS=1 asks for Keras 2 from the tf-keras package, which is not installed: "
            "pip install tf-keras (the release of your TensorFlow), or unset TF_USE_LEGACY_KERAS for Keras 3"
        )
    backend = os.environ.get("KERAS_BACKEND")
    try:
        from keras_rnn_spec import subject  # noqa: F401  (imports Keras, which imports its backend)
    except ModuleNotFoundError as error:
        if backend and error.name not in ("keras", "tf_keras"):  # the backend's framework is missing
            return (
                f"KERAS_BACKEND={backend}: Keras cannot import its backend ({error}): pip install {error.name}, "
                f"or set KERAS_BACKEND to an installed one of {', '.join(BACKENDS)}"
            )
        return f"the subject cannot be imported ({error}): install Keras and a backend (a clone: pip install -r requirements.txt)"
    except ValueError as error:
        if not backend:
            raise
        # Keras 3's "Unable to import backend : NAME"
        return f"KERAS_BACKEND={backend} is not a backend Keras has ({error}): set one of {', '.join(BACKENDS)}"
    return ""


@pytest.hookimpl(wrapper=True)  # before pytest-xdist reads its options in its own pytest_cmdline_main
def pytest_cmdline_main(config):
    """A run of the whole spec goes over WORKERS pytest-xdist workers where xdist is installed, the
    machine has that many processors and the run names no -n (`-n 0` keeps one process; --pdb needs
    one), split by the spec's scopes (keras_rnn_spec/scheduling.py) unless it names a --dist. Smaller
    runs stay in one process, where the workers' start would cost more than they save."""
    if (
        config.pluginmanager.hasplugin("xdist")
        and not hasattr(config, "workerinput")
        and config.option.numprocesses is None
        and not config.option.usepdb
        and len(os.sched_getaffinity(0)) >= WORKERS
        and runs_the_whole_spec(config)
    ):
        config.option.numprocesses = WORKERS
        if config.option.dist == "no":
            config.option.dist = "loadscope"  # a scope mode, with the spec's scopes (below)
            config.stash[SPREAD_BY_SCOPE] = True
    return (yield)


@pytest.hookimpl(tryfirst=True, optionalhook=True)  # before xdist's own
def pytest_xdist_make_scheduler(config, log):
    """The spec's scopes for a run this plugin spread over workers (keras_rnn_spec/scheduling.py)."""
    if config.stash.get(SPREAD_BY_SCOPE, False):
        from keras_rnn_spec.scheduling import SpecScheduling

        return SpecScheduling(config, log)
    return None


@pytest.hookimpl(tryfirst=True)  # before any plugin opens a file (pytest-reportlog's results)
def pytest_configure(config):
    config.addinivalue_line("markers", "export: chapter 22, after export (-m \"not export\" leaves it out)")
    config.addinivalue_line(
        "markers",
        "keras_classes: a claim about Keras' own classes, not the layers under test "
        '(-m "not keras_classes" leaves them out)',
    )
    config.addinivalue_line("markers", "reproduced_by(make_case): the function that makes a claim's case from its parameters")
    config.addinivalue_line("markers", "over_layers(argnames, build): parameters made from the layers under test (parameters.py)")
    if not selects_the_spec(config):
        return
    if config.option.reportchars == PYTEST_REPORT_CHARS:  # the user chose no -r: read as a clone's pytest.ini
        config.option.reportchars = SUMMARY_CHARS
    # The user's layer module is imported from the directory pytest runs in, as `python -m pytest` would.
    invocation_dir = str(config.invocation_params.dir)
    if invocation_dir not in sys.path:
        sys.path.append(invocation_dir)
    # Keras is imported only for a run of the spec, under pytest's capture: TensorFlow's C++ start-up
    # log (CUDA probing, oneDNN notices) would otherwise bury the report header.
    with captured(config):
        problem = subject_problem()
        if problem:
            raise pytest.UsageError(problem)
        from keras_rnn_spec import catalogue

    from keras_rnn_spec.hypothesis_profiles import profile_problem

    problem = profile_problem()
    if problem:
        raise pytest.UsageError(problem)
    target = layers_target(config)
    try:
        config.stash[catalogue.SELECTION] = catalogue.select(target)
    except catalogue.SpecLayersError as problem:
        named = "--rnn-spec-layers" if config.option.rnn_spec_layers is not None else "SPEC_LAYERS"
        raise pytest.UsageError(f"{named}={target}: {problem}. {LAYERS_FORM}.") from None
    register_claims_parts(config)
    from keras_rnn_spec import report

    if (report_path(config) or config.option.spec) and not config.pluginmanager.is_registered(report):
        config.pluginmanager.register(report, "keras_rnn_spec.report")


def register_claims_parts(config) -> None:
    """Register what the claims need to run: session.py's hooks and fixtures and the known differences
    (whose pytest_configure, a historic hook, pytest calls on registering them after configure too)."""
    from keras_rnn_spec import differences, session

    for name, module in (("keras_rnn_spec.session", session), ("keras_rnn_spec.differences", differences)):
        if not config.pluginmanager.is_registered(module):
            config.pluginmanager.register(module, name)


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector, name, obj):
    """A test module's attribute holding a layer author's `claims_for` (authors.py) is a node under which
    every chapter is collected with those layers; what the claims need is registered first."""
    if isinstance(obj, ClaimsFor):
        register_claims_parts(collector.config)
        return SpecClaims.from_parent(collector, name=name, claims=obj)
    return None
