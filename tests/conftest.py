"""The suite's self-tests run small pytest sessions of their own, with pytest's `pytester` fixture."""

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

import spec_runs

from claim_coverage import WITHOUT_A_FAULT
from keras_rnn_spec import report_render
from keras_rnn_spec.authors import claim_names

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
# The README's own layer: the spec run on it passes (test_planted_faults.py), and its report's
# snippets run on it (test_snippets.py), both from one run.
EXAMPLE_LAYERS = "examples.coupled_lstm:LAYERS"


@dataclass(frozen=True)
class SpecRun:
    """A whole-spec run in the clone: its Markdown report, its results (report_render.Result per test)
    the picture written beside the report ("" when none was), its terminal output and its workers."""

    report: str
    results: list
    picture: str
    terminal: str  # what the run printed
    workers: frozenset  # the xdist workers its tests ran on (none: in one process)


def run_whole_spec(out: Path, **environment) -> SpecRun:
    """The whole spec as `pytest` in the clone runs it, with `environment` set, its report and results
    written into `out`."""
    command = [sys.executable, "-m", "pytest", "-q", *spec_runs.cache_options()]
    command += [f"--spec-report={out / 'spec.md'}", f"--report-log={out / 'results.jsonl'}"]
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env={**os.environ, **environment})
    assert finished.returncode in (0, 1), finished.stdout[-3000:] + finished.stderr[-3000:]
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    picture = out / "spec-returns.svg"
    drawn = picture.read_text(encoding="utf-8") if picture.exists() else ""
    report = (out / "spec.md").read_text(encoding="utf-8")
    workers = frozenset(record["worker_id"] for record in records if "worker_id" in record)
    return SpecRun(report, report_render.results_from_reports(records), drawn, finished.stdout, workers)


@pytest.fixture(scope="session")
def default_run(tmp_path_factory) -> SpecRun:
    """The whole spec with default options: Keras' own layers."""
    return run_whole_spec(tmp_path_factory.mktemp("default-run"))


@pytest.fixture(scope="session")
def example_run(tmp_path_factory) -> SpecRun:
    """The whole spec on the README's own layer (SPEC_LAYERS=examples.coupled_lstm:LAYERS)."""
    return run_whole_spec(tmp_path_factory.mktemp("example-run"), SPEC_LAYERS=EXAMPLE_LAYERS)


def pytest_configure(config):
    cache = getattr(config, "cache", None)
    spec_runs.CACHE_DIR = cache.mkdir("spec-runs") if cache else Path(tempfile.mkdtemp(prefix="spec-runs-"))


def pytest_terminal_summary(terminalreporter):
    """The planted-fault figure: how many faults the spec caught, and which claim tests caught each.

    Each run of tests/test_planted_faults.py records, per fault, the claim tests that failed on it
    (the "planted_fault" user property); a fault is caught when at least one did.
    """
    records = [
        value
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", ())
        if name == "planted_fault"
    ]
    if not records:
        return
    caught = [record for record in records if record["caught_by"]]
    claims = claim_names()
    named = claims & {test for record in records for test in record["caught_by"]}
    terminalreporter.section("planted faults")
    terminalreporter.write_line(f"the spec caught {len(caught)} of {len(records)} planted faults")
    terminalreporter.write_line(f"{len(named)} of {len(claims)} claim functions are named by a planted fault")
    for test in sorted(claims - named):
        terminalreporter.write_line(f"    not {test}: {WITHOUT_A_FAULT.get(test, 'no fault in this run fails it')}")
    for record in records:
        tests = record["caught_by"]
        verdict = f"caught by {len(tests)} claim test{'s' * (len(tests) != 1)}" if tests else "NOT CAUGHT"
        terminalreporter.write_line(f"{record['fault']} ({record['family']}): {verdict}")
        for test in tests:
            terminalreporter.write_line(f"    {test}")
