"""The suite's self-tests run small pytest sessions of their own, with pytest's `pytester` fixture."""

import ast
from pathlib import Path

pytest_plugins = ["pytester"]

CHAPTERS = Path(__file__).resolve().parents[1] / "keras_rnn_spec"


def claim_functions() -> set[str]:
    """Every claim function of the spec, as 'test_flags.py::test_x'."""
    return {
        f"{path.name}::{node.name}"
        for path in CHAPTERS.glob("test_*.py")
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


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
    claims = claim_functions()
    named = claims & {test for record in records for test in record["caught_by"]}
    terminalreporter.section("planted faults")
    terminalreporter.write_line(f"the spec caught {len(caught)} of {len(records)} planted faults")
    terminalreporter.write_line(f"{len(named)} of {len(claims)} claim functions fail on some planted fault; not yet:")
    for test in sorted(claims - named):
        terminalreporter.write_line(f"    {test}")
    for record in records:
        tests = record["caught_by"]
        verdict = f"caught by {len(tests)} claim test{'s' * (len(tests) != 1)}" if tests else "NOT CAUGHT"
        terminalreporter.write_line(f"{record['fault']} ({record['family']}): {verdict}")
        for test in tests:
            terminalreporter.write_line(f"    {test}")
