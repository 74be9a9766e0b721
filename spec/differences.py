"""Known differences: where a subject departs from the spec, in one data table.

The table is spec/known_differences.toml. Each entry names the behaviour, the tests it concerns
(fnmatch patterns on pytest node ids), the condition under which it holds (a PEP 440 range on the
Keras version, the backend, the device), what is observed, and a source. Two kinds:

- "xfail": the subject gets the claim wrong. The claim still runs, marked as a strict xfail whose
  reason is the entry, so the finding is reported on every run and an unexpected pass fails.
- "expect": the behaviour legitimately depends on the subject (an error's type, say). The claim
  reads its expectation with the `known` fixture: `known.value(default)`.

Entries are matched against the Keras version and backend, never the TensorFlow version alone.
This module is a pytest plugin (listed in conftest.py): it applies the xfails at collection and
reports, at the end of the run, which entries applied and which match no collected test (stale).
"""

import fnmatch
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from spec import subject

TABLE = Path(__file__).with_name("known_differences.toml")
CONDITIONS = ("keras", "backend", "device")


@dataclass(frozen=True)
class Difference:
    id: str
    behaviour: str
    tests: tuple[str, ...]
    when: dict
    observed: str
    source: str
    kind: str = "xfail"
    value: object = None
    matched: list = field(default_factory=list, compare=False)  # node ids, filled at collection

    def holds_for(self, current: dict) -> bool:
        """Whether the entry's condition is true of the current subject."""
        for key, wanted in self.when.items():
            if key == "keras":
                if Version(current["keras"]) not in SpecifierSet(wanted):
                    return False
            elif current[key] != wanted:
                return False
        return True

    def concerns(self, nodeid: str) -> bool:
        return any(fnmatch.fnmatchcase(nodeid, pattern) for pattern in self.tests)

    def describe(self) -> str:
        condition = ", ".join(f"{k} {v}" for k, v in self.when.items()) or "always"
        return f"known difference {self.id} ({condition}): {self.observed} [source: {self.source}]"


def load(path: Path = TABLE) -> list[Difference]:
    entries = tomllib.loads(path.read_text()).get("difference", [])
    for entry in entries:
        unknown = set(entry.get("when", {})) - set(CONDITIONS)
        if unknown or entry.get("kind", "xfail") not in ("xfail", "expect"):
            raise ValueError(f"{path.name}: entry {entry.get('id')!r} has an unknown condition or kind")
    return [Difference(**{**entry, "tests": tuple(entry["tests"])}) for entry in entries]


def current_subject() -> dict:
    devices = subject.devices()
    return {
        "keras": subject.KERAS_VERSION,
        "backend": subject.backend_name(),
        "device": "GPU" if any(d.startswith("GPU") for d in devices) else "CPU",
    }


DIFFERENCES = load()
CURRENT = current_subject()


class Known:
    """What the table says about the running test under the current subject."""

    def __init__(self, nodeid: str, record: list):
        self.nodeid = nodeid
        self.record = record  # the test's user_properties: reports show which entry was used

    def value(self, default):
        """The expectation an "expect" entry gives this test here, or `default` when none applies."""
        for difference in DIFFERENCES:
            if difference.kind == "expect" and difference.concerns(self.nodeid) and difference.holds_for(CURRENT):
                self.record.append(("known difference", {"id": difference.id, "detail": difference.describe()}))
                return difference.value
        return default


@pytest.fixture
def known(request) -> Known:
    return Known(request.node.nodeid, request.node.user_properties)


CLAIMS_COLLECTED = []  # whether this run collected any claim: only then is an unmatched entry stale


def pytest_collection_modifyitems(config, items):
    testpaths = tuple(f"{path.rstrip('/')}/" for path in config.getini("testpaths"))
    CLAIMS_COLLECTED.append(any(item.nodeid.startswith(testpaths) for item in items))
    for difference in DIFFERENCES:
        applies = difference.holds_for(CURRENT)
        for item in items:
            if difference.concerns(item.nodeid):
                difference.matched.append(item.nodeid)
                if applies and difference.kind == "xfail":
                    item.add_marker(pytest.mark.xfail(strict=True, reason=difference.describe()))


def pytest_terminal_summary(terminalreporter):
    applied = [d for d in DIFFERENCES if d.matched and d.holds_for(CURRENT)]
    stale = [d for d in DIFFERENCES if not d.matched] if any(CLAIMS_COLLECTED) else []
    if not applied and not stale:
        return
    terminalreporter.section("known differences")
    for difference in applied:
        terminalreporter.write_line(f"applied to {len(difference.matched)} tests: {difference.describe()}")
    for difference in stale:
        terminalreporter.write_line(f"STALE (matches no collected test): {difference.id} {list(difference.tests)}")
