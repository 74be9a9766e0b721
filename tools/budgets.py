"""Time the spec's runs against their budgets, and write the figures into the README.

    python -m tools.budgets                    # the spec's three runs, 3 times each; print the table
    python -m tools.budgets --write README.md  # the same, written between the README's budget markers
    python -m tools.budgets --self-tests       # and `pytest tests` once, cold (it takes minutes)

Each run is a whole process, as a user starts it, in a user's shell (CI unset), from the repository
root; the figure is the median wall time of the runs, with the 1-minute load average before the first
and after the last. The cold run empties pytest's cache first (--cache-clear), so chapter 22 exports
everything; the warm run follows it and reads the cache. The report goes to a temporary folder, so
that reports/ keeps the user's own.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools.outputs import write_block

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- budgets: written by python -m tools.budgets --write README.md -->", "<!-- end of budgets -->"
# (the run, its pytest arguments, its budget in seconds)
SPEC_RUNS = [
    ("`pytest`, cold cache", ["--cache-clear"], 60),
    ("`pytest`, warm cache", [], 35),
    ('`pytest -m "not export"`', ["-m", "not export"], 30),
]
SELF_TESTS = ("`pytest tests`, cold cache", ["tests", "--cache-clear"], 360)


def timed(arguments: list[str], report: Path) -> float:
    """The wall time of one run of pytest with `arguments`, which must pass."""
    environment = {name: value for name, value in os.environ.items() if name != "CI"}
    command = [sys.executable, "-m", "pytest", "-q", f"--spec-report={report}", *arguments]
    started = time.perf_counter()
    finished = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if finished.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {finished.returncode}:\n{finished.stdout[-2000:]}")
    return elapsed


def load() -> float:
    return os.getloadavg()[0]


def measure(runs: list, repeats: int) -> list[tuple[str, list[float], int]]:
    """Each run `repeats` times, in turn (cold, warm, ...), so that a warm run follows a cold one."""
    times = {name: [] for name, _, _ in runs}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeats):
            for name, arguments, _ in runs:
                times[name].append(timed(arguments, Path(folder) / "spec.md"))
    return [(name, times[name], budget) for name, _, budget in runs]


def table(figures: list[tuple[str, list[float], int]], loads: tuple[float, float], machine: str) -> str:
    """The README's block: a row per run with its median, its runs and its budget."""
    rows = [
        f"| {name} | {statistics.median(times):.0f} s | {', '.join(f'{t:.0f}' for t in times)} | {budget} s |"
        for name, times, budget in figures
    ]
    return "\n".join([
        BEGIN,
        f"Measured on {machine}, load {loads[0]:.1f} before and {loads[1]:.1f} after:",
        "",
        "| run | median | each run (s) | budget |",
        "|---|---|---|---|",
        *rows,
        END,
    ])


def machine() -> str:
    return f"{os.cpu_count()} CPUs ({platform.machine()}), Python {platform.python_version()}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.budgets", description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", metavar="README", type=Path, help="replace the budget block of this file")
    parser.add_argument("--self-tests", action="store_true", help="also time `pytest tests`, once, from a cold cache")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each spec run (default 3)")
    options = parser.parse_args(argv)
    if options.write and not options.write.is_file():
        parser.error(f"--write {options.write}: no such file")
    before = load()
    figures = measure(SPEC_RUNS, options.repeats)
    record(options.write, table(figures, (before, load()), machine()))
    if options.self_tests:  # after the spec's rows are written: the self-tests check the README's table
        figures += measure([SELF_TESTS], 1)
        record(options.write, table(figures, (before, load()), machine()))


def record(readme: Path | None, block: str) -> None:
    if readme:
        write_block(readme, block, BEGIN, END)
    print(block, flush=True)


if __name__ == "__main__":
    main()
