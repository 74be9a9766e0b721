"""The spec's session, registered by keras_rnn_spec/plugin.py when a run selects the spec: the claims
parametrized from the layers under test, the subject and layers in the report header, the verify
fixture, and the claim named on an error that is not the verify helper's. Also ast.parse with the collector paused (below), for the whole process."""

import ast
import gc
import inspect
import textwrap
import traceback

import pytest

from keras_rnn_spec import artifact_cache, catalogue, observe, subject
from keras_rnn_spec.authors import mark_expected_failures
from keras_rnn_spec.cases import case_of
from keras_rnn_spec.invocation import PACKAGE_DIR
from keras_rnn_spec.parameters import parametrize_from_selection
from keras_rnn_spec.report_render import REPRODUCED, claim_sentence
from keras_rnn_spec.verify import Verify

_parse = ast.parse
EXPORT_CACHE_OUTPUT = "export_cache_problems"


def _parse_with_the_collector_paused(*args, **kwargs):
    """ast.parse with garbage collection paused.

    CPython 3.11's AST constructor loses count of its recursion depth when an exception is raised
    while it builds the tree (python/cpython#106905; pytest-dev/pytest#10763): that parse and every
    later one in the process raise SystemError "AST constructor recursion depth mismatch". A
    finaliser that the collector runs mid-parse is enough, and TensorFlow's traced functions raise
    from theirs after chapter 22 has exported and loaded models ("Tried to remove non-existent
    function"). pytest parses source with ast to format every failure and expected failure, and the
    spec report parses the chapters: four matrix sessions (TensorFlow 2.13, 2.14, 2.15, tf-keras
    2.21) ended in an INTERNALERROR this way. With the collector paused, finalisers run outside parses.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        return _parse(*args, **kwargs)
    finally:
        if paused:
            gc.enable()


ast.parse = _parse_with_the_collector_paused

# Warnings that the subject's own internals raise while a claim runs, not about the claims, so that an
# installed run reads like a clone's (whose pytest.ini ignores the same). On the spec's tests only: a
# user's own tests keep their warning filters. Keras 3 on TensorFlow, for instance, converts tensors
# with np.array(x), which numpy 2 warns about (keras/src/backend/tensorflow/core.py).
SUBJECT_INTERNAL_WARNINGS = (
    "ignore::DeprecationWarning:tensorflow.*",
    "ignore::DeprecationWarning:keras.*",
    "ignore::DeprecationWarning:tf_keras.*",
    "ignore::FutureWarning:tensorflow.*",
    # Keras 2 seeds initialisers with random.randint on a float, which Python 3.10+ deprecates.
    "ignore:non-integer arguments to randrange:DeprecationWarning",
)


def pytest_generate_tests(metafunc):
    parametrize_from_selection(metafunc)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if PACKAGE_DIR in item.path.parents:
            for rule in SUBJECT_INTERNAL_WARNINGS:
                item.add_marker(pytest.mark.filterwarnings(rule))
            item.add_marker(pytest.mark.filterwarnings(f"error:{subject.FORK_WARNING}:RuntimeWarning"))  # added last: it wins
        about_keras = item.get_closest_marker("keras_classes")
        if about_keras is not None and not (selected := catalogue.selection_at(item)).keras_own:
            reason = f"about Keras' own {about_keras.args[0]}, not the layers under test ({selected.chosen_by})"
            item.add_marker(pytest.mark.skip(reason=reason))
    mark_expected_failures(items)


def pytest_sessionfinish(session):
    """An xdist worker hands its lines about the export cache to the controller (pytest_testnodedown)."""
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput[EXPORT_CACHE_OUTPUT] = session.config.stash.get(artifact_cache.PROBLEMS, [])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    problems = node.config.stash.setdefault(artifact_cache.PROBLEMS, [])
    problems += getattr(node, "workeroutput", {}).get(EXPORT_CACHE_OUTPUT, [])


def pytest_terminal_summary(terminalreporter, config):
    """What went wrong with the export cache, one line each: the exports were made anew, so no verdict
    depends on it."""
    for line in dict.fromkeys(config.stash.get(artifact_cache.PROBLEMS, [])):
        terminalreporter.write_line(line, yellow=True)


def pytest_report_header(config):
    found = subject.versions()
    return [
        "subject: " + ", ".join(f"{name} {value}" for name, value in found.items()),
        f"layers: {catalogue.selection_of(config)}",
    ]


def claim_of(function) -> str:
    """The claim a test checks: its docstring's first line."""
    return claim_sentence(inspect.getdoc(function), function.__name__)


@pytest.fixture
def verify(request) -> Verify:
    """Self-explaining assertions for the running claim (its docstring's first line)."""
    return Verify(claim_of(request.function), case_of(request.node), request.node.user_properties)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """An error inside a claim, not the verify helper's (which names the claim itself), gets the
    claim, its case and the case's reproducer as notes; under SPEC_LAYERS, a layer of the test that a copy through its config breaks
    (Bidirectional, saving) gets what broke as another. A test whose values came from executing its
    own case's reproducer says so, for the report's count."""
    observe.READ.clear()
    try:
        return (yield)
    except (Exception, pytest.fail.Exception) as error:
        if PACKAGE_DIR in item.path.parents and not raised_by_verify(error):
            error.add_note(f"Claim:    {claim_of(item.function)}")
            case = case_of(item)
            if case is not None:
                error.add_note(f"Case:     {case.describe()}")
                error.add_note("Reproduce:\n" + textwrap.indent(case.snippet(), "    "))
        if not catalogue.selection_at(item).keras_own:  # Keras' own layers survive the copy; a user's may not
            for problem in filter(None, map(catalogue.config_copy_problem, layers_of(item))):
                error.add_note(problem)
        raise
    finally:
        case = case_of(item)
        if case is not None and case in observe.READ:
            item.user_properties.append((REPRODUCED, True))


def raised_by_verify(error: BaseException) -> bool:
    """Whether the verify helper raised the error (its message starts with the claim already).

    Told by the frame that raised it rather than by a subclass of AssertionError, which pytest would
    print under its qualified name instead of "AssertionError"."""
    frames = [frame for frame, _ in traceback.walk_tb(error.__traceback__)]
    return bool(frames) and frames[-1].f_code is Verify.fail.__code__


def layers_of(item) -> list:
    """The catalogue entries a test's parameters name, directly or as their case's layer, once each."""
    params = getattr(item, "callspec", None)
    values = params.params.values() if params else ()
    found = [value if isinstance(value, catalogue.RecurrentLayer) else getattr(value, "layer", None) for value in values]
    return list(dict.fromkeys(layer for layer in found if isinstance(layer, catalogue.RecurrentLayer)))
