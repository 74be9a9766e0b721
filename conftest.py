"""Session set-up for the spec: the subject in the report header, Hypothesis profiles, fixtures."""

import inspect
import os

import pytest
from hypothesis import HealthCheck, settings

from spec import subject
from spec.verify import Verify

# Plugins of the suite's own, each in its own module (report writing, known differences, ...).
pytest_plugins: list[str] = ["spec.differences", "spec.report"]

# "spec" (default): the same examples on every run, so CI is deterministic and a red run can be
# re-run; "explore": a random search with many more examples, for hunting new failures locally.
settings.register_profile(
    "spec",
    derandomize=True,
    max_examples=8,
    deadline=None,  # a first call traces a graph: seconds, not a performance fault
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", max_examples=200, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("SPEC_HYPOTHESIS_PROFILE", "spec"))


def pytest_report_header(config):
    found = subject.versions()
    return ["subject: " + ", ".join(f"{name} {value}" for name, value in found.items())]


@pytest.fixture
def verify(request) -> Verify:
    """Self-explaining assertions for the running claim (its docstring's first line)."""
    claim = inspect.getdoc(request.function).splitlines()[0]
    params = getattr(request.node, "callspec", None)
    case = params.params.get("case") if params else None
    return Verify(claim, case, request.node.user_properties)
