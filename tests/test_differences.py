"""Self-tests of the known differences' end-of-run section (keras_rnn_spec/differences.py).

A small suite with a table of its own: one entry that concerns two of its tests, one that concerns
none. The section must count only the tests a run selected, and call an entry stale only after a
run that collected the whole suite on Keras' own layers. The real table is checked against the
real suite's collection.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from keras_rnn_spec import catalogue, differences, selection

ROOT = Path(__file__).resolve().parents[1]

INI = """
[pytest]
testpaths = chapters
addopts = -p keras_rnn_spec.plugin -p keras_rnn_spec.differences
known_differences = table.toml
"""

CHAPTER = """
import pytest


@pytest.mark.parametrize("layer", ["SimpleRNN", "GRU", "LSTM"])
def test_claim(layer, known):
    assert known.value("default") == ("changed" if layer in ("GRU", "LSTM") else "default")


def test_other_claim():
    pass
"""

TABLE = """
[[difference]]
id = "gated-layers-differ"
kind = "expect"
behaviour = "The gated layers answer otherwise"
tests = ["test_one.py::test_claim[[]GRU[]]", "test_one.py::test_claim[[]LSTM[]]"]
when = {}
value = "changed"
observed = "a demo difference"
source = "this self-test"

[[difference]]
id = "claim-since-renamed"
kind = "expect"
behaviour = "A claim that no longer exists under this name"
tests = ["test_one.py::test_removed_claim*"]
when = {}
value = "changed"
observed = "nothing any more"
source = "this self-test"
"""

APPLIED_TO_BOTH = "applied to 2 tests: known difference gated-layers-differ (always): a demo difference [source: this self-test]"
STALE = (
    "STALE claim-since-renamed: no test of the whole suite matches its tests patterns "
    "(A claim that no longer exists under this name); update or remove the entry in table.toml"
)


@pytest.fixture
def suite(pytester):
    pytester.makeini(INI)
    pytester.makefile(".toml", table=TABLE)
    pytester.makepyfile(**{"chapters/test_one": CHAPTER})
    return pytester


def section(result) -> list[str]:
    """The lines of the run's "known differences" section."""
    lines = result.stdout.lines
    starts = [i for i, line in enumerate(lines) if "= known differences =" in line]
    if not starts:
        return []
    rest = lines[starts[0] + 1 :]
    ends = [i for i, line in enumerate(rest) if line.startswith(("=", "-"))]
    return [line for line in rest[: ends[0] if ends else len(rest)] if line]


def test_a_run_of_the_whole_suite_reports_the_entries_that_applied_and_the_stale_one(suite):
    result = suite.runpytest_inprocess()
    result.assert_outcomes(passed=4)
    assert section(result) == [APPLIED_TO_BOTH, STALE]


def test_under_xdist_the_section_is_the_same(suite, monkeypatch):
    """The controller collects nothing: the section comes from what the workers collected."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    result = suite.runpytest_inprocess("-n", "2")
    result.assert_outcomes(passed=4)
    assert section(result) == [APPLIED_TO_BOTH, STALE]


@pytest.mark.parametrize(
    "selection, applied",
    [
        (["-k", "GRU or other"], APPLIED_TO_BOTH.replace("2 tests", "1 test")),
        (["chapters/test_one.py"], APPLIED_TO_BOTH),
        (["chapters/test_one.py::test_claim"], APPLIED_TO_BOTH),
        (["--deselect", "chapters/test_one.py::test_other_claim"], APPLIED_TO_BOTH),
    ],
    ids=["-k", "a file", "a test", "--deselect"],
)
def test_a_selection_counts_only_its_tests_and_calls_no_entry_stale(suite, selection, applied):
    result = suite.runpytest_inprocess(*selection)
    assert result.ret == pytest.ExitCode.OK
    assert section(result) == [applied]


def test_a_run_on_other_layers_calls_no_entry_stale(suite, monkeypatch):
    other_layers = catalogue.Selection("user_layers:LAYERS", (catalogue.GRU,))  # what SPEC_LAYERS sets
    monkeypatch.setattr(selection, "selection_of", lambda config: other_layers)
    result = suite.runpytest_inprocess()
    result.assert_outcomes(passed=4)
    assert section(result) == [APPLIED_TO_BOTH]


def test_a_table_entry_without_a_source_stops_the_run_before_it_starts(suite):
    first_source = next(line for line in TABLE.splitlines() if line.startswith("source ="))
    suite.makefile(".toml", table=TABLE.replace(first_source + "\n", "", 1))
    result = suite.runpytest_inprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: known differences table *table.toml: entry 'gated-layers-differ' lacks ?'source'?, has unknown fields none"])


def test_a_table_with_an_unknown_kind_stops_the_run_before_it_starts(suite):
    suite.makefile(".toml", table=TABLE.replace('kind = "expect"', 'kind = "expected"', 1))
    result = suite.runpytest_inprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: known differences table *table.toml: *'gated-layers-differ' has an unknown condition or kind"])


NOT_INSTALLED_HERE = """
[[difference]]
id = "needs-a-package-absent-here"
kind = "expect"
behaviour = "An entry that needs a distribution this environment does not have"
tests = ["test_one.py::test_claim[[]SimpleRNN[]]"]
when = { installed = ["pytest", "no-such-distribution-here"] }
value = "changed"
observed = "never applied here: the claim on SimpleRNN would fail"
source = "this self-test"
"""


def test_an_entry_naming_installed_packages_applies_only_where_all_of_them_are(suite):
    """`installed` holds when every distribution it names is installed, and the entry's condition says which."""
    suite.makefile(".toml", table=TABLE.replace("when = {}", 'when = { installed = ["pytest"] }', 1) + NOT_INSTALLED_HERE)
    result = suite.runpytest_inprocess("chapters/test_one.py")
    result.assert_outcomes(passed=4)
    assert section(result) == [APPLIED_TO_BOTH.replace("(always)", "(pytest installed)")]


def test_an_installed_condition_that_is_not_a_list_stops_the_run_before_it_starts(suite):
    suite.makefile(".toml", table=TABLE.replace("when = {}", 'when = { installed = "pytest" }', 1))
    result = suite.runpytest_inprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: known differences table *table.toml: entry 'gated-layers-differ': `installed` is a list of distribution names*"])


def test_every_entry_of_the_table_matches_a_test_of_the_whole_suite():
    """The real table against the real suite's collection, on Keras' own layers."""
    environment = {name: value for name, value in os.environ.items() if name != "SPEC_LAYERS"}
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # The collected ids as the table's patterns see them: the module's file name, no folders.
    nodeids = [line.partition("::")[0].rsplit("/", 1)[-1] + "::" + line.partition("::")[2] for line in collected.splitlines() if "::" in line]
    assert len(nodeids) > 100, collected[-2000:]
    unmatched = [entry.id for entry in differences.load() if not any(map(entry.concerns, nodeids))]
    assert unmatched == [], f"entries of {differences.TABLE.name} that match no collected test"
    assert "STALE" not in collected


def test_the_default_run_states_each_known_difference_once(default_run):
    """The default run prints each known difference that applied once, with its count, and no
    expected failure one by one (-ra would list them)."""
    lines = default_run.terminal.splitlines()
    applied = [line for line in lines if line.startswith("applied to ")]
    expected_failures = sum(result.outcome == "xfailed" for result in default_run.results)
    assert sum(int(line.split()[2]) for line in applied if "known difference" in line) >= expected_failures > 0
    assert len(applied) == len(set(applied))
    assert not [line for line in lines if line.startswith("XFAIL ")], [line for line in lines if line.startswith("XFAIL ")][:3]
