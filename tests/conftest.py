"""The suite's self-tests run small pytest sessions of their own, with pytest's `pytester` fixture."""

pytest_plugins = ["pytester"]


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
    terminalreporter.section("planted faults")
    terminalreporter.write_line(f"the spec caught {len(caught)} of {len(records)} planted faults")
    for record in records:
        tests = record["caught_by"]
        verdict = f"caught by {len(tests)} claim test{'s' * (len(tests) != 1)}" if tests else "NOT CAUGHT"
        terminalreporter.write_line(f"{record['fault']} ({record['family']}): {verdict}")
        for test in tests:
            terminalreporter.write_line(f"    {test}")
