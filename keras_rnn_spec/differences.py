"""Known differences: where a subject departs from the spec, in one data table.

The table is keras_rnn_spec/known_differences.toml (the ini option `known_differences` names another, as the
self-tests do). Each entry names the behaviour, the tests it concerns (fnmatch patterns on pytest
node ids), the condition under which it holds (a PEP 440 range on the Keras version, the backend,
the device, the packages installed beside the subject; for the export chapter also a range on the
TensorFlow or JAX version, whose converters it runs, and OpenVINO's default CPU inference precision
on this machine), what is observed, and a source. Two kinds:

- "xfail": the subject gets the claim wrong. The claim still runs, marked as a strict xfail whose
  reason is the entry, so the finding is reported on every run and an unexpected pass fails.
- "expect": the behaviour legitimately depends on the subject (an error's type, say). The claim
  reads its expectation with the `known` fixture: `known.value(default)`.

Outside the export chapter, entries are matched against the Keras version and backend, never the
TensorFlow or JAX version alone. This module is a pytest plugin (listed in conftest.py): it applies the xfails at collection and
reports, at the end of the run, which entries applied to how many of the tests that ran and, after
a collection of the whole suite on Keras' own layers, which entries match no test (stale): any
narrower run leaves tests out, and an entry matching none of them says nothing about the entry.
"""

import fnmatch
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from keras_rnn_spec import exporting, selection, subject

TABLE = Path(__file__).with_name("known_differences.toml")
TABLE_INI = "known_differences"
TABLE_KEY = pytest.StashKey[list]()
CONDITIONS = ("keras", "backend", "device", "installed", "tensorflow", "jax", "openvino_precision")
VERSION_RANGES = ("keras", "tensorflow", "jax")  # conditions that are PEP 440 ranges
REQUIRED = ("id", "behaviour", "tests", "when", "observed", "source")
WORKER_OUTPUT_KEY = "known_differences_summary"


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
    table: str = ""  # the file the entry is in

    def holds_for(self, current: dict) -> bool:
        """Whether the entry's condition is true of the current subject."""
        for key, wanted in self.when.items():
            if key == "installed":
                if any(subject.installed_version(name) is None for name in wanted):
                    return False
            elif key in VERSION_RANGES:
                if current[key] == "none" or Version(current[key]) not in SpecifierSet(wanted):
                    return False
            elif current[key] != wanted:
                return False
        return True

    def concerns(self, nodeid: str) -> bool:
        return any(fnmatch.fnmatchcase(nodeid, pattern) for pattern in self.tests)

    def describe(self) -> str:
        condition = ", ".join(f"{', '.join(v)} installed" if k == "installed" else f"{k} {v}" for k, v in self.when.items()) or "always"
        return f"known difference {self.id} ({condition}): {self.observed} [source: {self.source}]"


def load(path: Path = TABLE) -> list[Difference]:
    entries = tomllib.loads(path.read_text()).get("difference", [])
    for entry in entries:
        unknown = set(entry.get("when", {})) - set(CONDITIONS)
        if unknown or entry.get("kind", "xfail") not in ("xfail", "expect"):
            raise ValueError(f"{path.name}: entry {entry.get('id')!r} has an unknown condition or kind")
        installed = entry.get("when", {}).get("installed", [])
        if not isinstance(installed, list) or not all(isinstance(name, str) for name in installed):
            raise ValueError(f"{path.name}: entry {entry.get('id')!r}: `installed` is a list of distribution names, as pip spells them")
        missing = [name for name in REQUIRED if name not in entry]
        extra = sorted(set(entry) - {*REQUIRED, "kind", "value"})
        if missing or extra:
            raise ValueError(f"{path.name}: entry {entry.get('id')!r} lacks {missing or 'nothing'}, has unknown fields {extra or 'none'}")
    return [Difference(**{**entry, "tests": tuple(entry["tests"])}, table=path.name) for entry in entries]


# How each condition of the table is read from the running subject.
PROBES = {
    "keras": lambda: subject.KERAS_VERSION,
    "backend": subject.backend_name,
    "device": lambda: "GPU" if any(d.startswith("GPU") for d in subject.devices()) else "CPU",
    # The export chapter's converters are TensorFlow's (TFLiteConverter, SavedModel, tf2onnx's graphs)
    # and JAX's (jax2tf, under Keras' exports on JAX), whatever the Keras: there, and only there, an
    # entry may name the TensorFlow or JAX version.
    "tensorflow": lambda: subject.installed_version("tensorflow") or "none",
    "jax": lambda: subject.installed_version("jax") or "none",
    "openvino_precision": exporting.openvino_precision,
}


class Subject(dict):
    """The running subject's value of each condition, read when an entry first asks for it: a run
    whose entries name no OpenVINO precision does not import OpenVINO."""

    def __missing__(self, condition: str) -> str:
        self[condition] = PROBES[condition]()
        return self[condition]


CURRENT = Subject()


class Known:
    """What the table says about the running test under the current subject."""

    def __init__(self, nodeid: str, record: list, table: list[Difference]):
        self.nodeid = nodeid
        self.record = record  # the test's user_properties: reports show which entry was used
        self.table = table

    def value(self, default):
        """The expectation an "expect" entry gives this test here, or `default` when none applies."""
        for difference in self.table:
            if difference.kind == "expect" and difference.concerns(self.nodeid) and difference.holds_for(CURRENT):
                self.record.append(("known difference", {"id": difference.id, "detail": difference.describe()}))
                return difference.value
        return default


@pytest.fixture
def known(request) -> Known:
    return Known(spec_id(request.node), request.node.user_properties, request.config.stash[TABLE_KEY])


def table_paths(config) -> list[Path]:
    """The packaged table (or the one the `known_differences` ini option names), then the user's files."""
    packaged = config.rootpath / config.getini(TABLE_INI) if config.getini(TABLE_INI) else TABLE
    users = getattr(config.option, "rnn_spec_differences", None) or []
    return [packaged, *(config.invocation_params.dir / path for path in users)]


def load_all(paths: list[Path]) -> list[Difference]:
    """The entries of every table, in order; an id given twice is refused, naming both files."""
    table, origin = [], {}
    for path in paths:
        try:
            entries = load(path)
        except (OSError, ValueError) as error:  # a TOML syntax error is a ValueError too
            raise pytest.UsageError(f"known differences table {path}: {error}") from None
        for entry in entries:
            if entry.id in origin:
                raise pytest.UsageError(
                    f"known differences table {path}: entry {entry.id!r} is already in {origin[entry.id]}; give yours another id"
                )
            origin[entry.id] = path
        table += entries
    return table


@pytest.hookimpl(tryfirst=True)  # the table is read before any test module is collected
def pytest_configure(config):
    config.stash[TABLE_KEY] = load_all(table_paths(config))
    config.pluginmanager.register(Summary(config), "known-differences-summary")


def spec_id(item) -> str:
    """A test's id with its module's file name and no folders ("test_flags.py::test_x[LSTM]"), which is
    what the tables' patterns match: the same in a clone (keras_rnn_spec/test_flags.py::...) and
    installed, where pytest's own id is relative to the argument (`--pyargs keras_rnn_spec` gives
    test_flags.py::..., `--pyargs keras_rnn_spec.test_flags` gives ::... alone)."""
    return f"{item.path.name}::{item.nodeid.partition('::')[2]}"


def pytest_collection_modifyitems(config, items):
    for difference in config.stash[TABLE_KEY]:
        concerned = [item for item in items if difference.concerns(spec_id(item))] if difference.kind == "xfail" else []
        if concerned and difference.holds_for(CURRENT):  # the subject is probed only for entries that concern the run
            for item in concerned:
                item.add_marker(pytest.mark.xfail(strict=True, reason=difference.describe()))


class Summary:
    """The end-of-run section: the entries that applied to the tests that ran, and the stale ones.

    Under pytest-xdist the workers collect and the controller prints: each worker sends what it
    found through xdist's `workeroutput` (every worker collects the same tests).
    """

    def __init__(self, config):
        self.config = config
        self.deselected = 0
        self.found: dict | None = None  # {"applied": {id: number of selected tests}, "stale": [id]}

    def pytest_deselected(self, items):
        self.deselected += len(items)

    def pytest_collection_finish(self, session):
        table = self.config.stash[TABLE_KEY]
        nodeids = [spec_id(item) for item in session.items]  # the selection: after -k, -m, --deselect
        matches = {d.id: sum(map(d.concerns, nodeids)) for d in table}
        whole_suite = selection.is_whole_suite(self.config, session, self.deselected)
        self.found = {
            "applied": {d.id: matches[d.id] for d in table if matches[d.id] and d.holds_for(CURRENT)},
            "stale": [d.id for d in table if not matches[d.id]] if whole_suite else [],
        }
        if hasattr(self.config, "workerinput"):
            self.config.workeroutput[WORKER_OUTPUT_KEY] = self.found

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error):
        self.found = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY, self.found)

    def pytest_terminal_summary(self, terminalreporter):
        if not self.found or not (self.found["applied"] or self.found["stale"]):
            return
        table = self.config.stash[TABLE_KEY]
        terminalreporter.section("known differences")
        for difference in table:
            if difference.id in self.found["applied"]:
                count = self.found["applied"][difference.id]
                terminalreporter.write_line(f"applied to {count} test{'s' * (count != 1)}: {difference.describe()}")
        for difference in table:
            if difference.id in self.found["stale"]:
                terminalreporter.write_line(
                    f"STALE {difference.id}: no test of the whole suite matches its tests patterns "
                    f"({difference.behaviour}); update or remove the entry in {difference.table}",
                    yellow=True,
                )
