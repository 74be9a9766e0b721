"""Self-tests of choosing the subject wrongly: each is answered by one line naming the variable, what
was asked and the fix, before any test runs (keras_rnn_spec/plugin.py, `subject_problem`, and
keras_rnn_spec/hypothesis_profiles.py)."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def not_installed(module: str):
    """A mark that skips the case where `module` is installed, since then the variable asks for nothing missing."""
    return pytest.mark.skipif(importlib.util.find_spec(module) is not None, reason=f"{module} is installed here")


# (environment, what the one line must say)
WRONG_CHOICES = [
    pytest.param({"KERAS_BACKEND": "nonsense"}, ["KERAS_BACKEND=nonsense", "tensorflow, jax, torch"], id="no-such-backend"),
    pytest.param(
        {"KERAS_BACKEND": "jax"}, ["KERAS_BACKEND=jax", "pip install jax"], id="jax-not-installed", marks=not_installed("jax")
    ),
    pytest.param(
        {"TF_USE_LEGACY_KERAS": "1"},
        ["TF_USE_LEGACY_KERAS=1", "pip install tf-keras"],
        id="tf-keras-not-installed",
        marks=not_installed("tf_keras"),
    ),
    pytest.param(
        {"SPEC_HYPOTHESIS_PROFILE": "nonsense"},
        ["SPEC_HYPOTHESIS_PROFILE=nonsense", "spec, explore"],
        id="no-such-hypothesis-profile",
    ),
]


@pytest.mark.parametrize(("environment", "named"), WRONG_CHOICES)
def test_a_wrong_subject_stops_pytest_with_one_line(environment, named, tmp_path):
    """A subject chosen wrongly stops pytest with exit code 4 and one line that names the variable, the
    value and what to set or install; no traceback and no report."""
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--spec-report={tmp_path / 'spec.md'}", "keras_rnn_spec/test_structure.py"],
        cwd=ROOT,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=300,
    )
    said = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
    assert run.returncode == 4, said[-20:]
    assert len(said) == 1 and said[0].startswith("ERROR: "), said[:20]
    assert all(words in said[0] for words in named), said[0]
    assert not (tmp_path / "spec.md").exists()
