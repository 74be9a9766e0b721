"""Self-tests of the rule that keeps JAX's fork warning an error (keras_rnn_spec/subject.py, FORK_WARNING)."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from keras_rnn_spec import exporting
import spec_runs

ROOT = Path(__file__).resolve().parents[1]

JAX_SAYS = "os.fork() was called. os.fork() is incompatible with multithreaded code, and JAX is multithreaded, so this will likely lead to a deadlock."


def warn(message: str, category: type[Warning]) -> str:
    warnings.warn(message, category, stacklevel=2)
    return "went on"


def test_a_fork_while_a_converter_runs_stays_an_error():
    """exporting.quietly silences what converters warn about their internals, but not a fork of a process that has started JAX."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as a user's own filters might
        with pytest.raises(RuntimeWarning, match=r"os\.fork\(\) was called"):
            exporting.quietly(warn, JAX_SAYS, RuntimeWarning)


@pytest.mark.parametrize("category", [DeprecationWarning, FutureWarning, RuntimeWarning, UserWarning])
def test_what_converters_warn_about_their_internals_is_silenced(category):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert exporting.quietly(warn, "The `enable_xla` parameter is deprecated", category) == "went on"


# A plugin that makes every claim's call phase warn as JAX does when its process forks.
FORKING_CLAIMS = '''
import warnings

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    warnings.warn("os.fork() was called. (planted by the self-test)", RuntimeWarning)
    return (yield)
'''


def test_a_fork_during_a_claim_fails_it_whatever_the_users_filters_say(tmp_path):
    """A claim whose process forks after JAX started fails with JAX's warning, even under `-W ignore::RuntimeWarning`."""
    (tmp_path / "forking_claims.py").write_text(FORKING_CLAIMS)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "forking_claims", "-W", "ignore::RuntimeWarning", "keras_rnn_spec/test_flags.py",
         "-x", "-q", "-p", "no:randomly", *spec_runs.cache_options()],
        cwd=ROOT, env=environment, capture_output=True, text=True,
    )
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout[-2000:]
    assert "RuntimeWarning: os.fork() was called. (planted by the self-test)" in done.stdout
