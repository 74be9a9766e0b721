"""Self-tests of the README's budget table (tools/budgets.py): it is the tool's own rendering of the
figures it states, so a hand edit of a figure shows."""

import re
import statistics
from pathlib import Path

import pytest

from tools import budgets
from tools.outputs import write_block

README = Path(__file__).resolve().parents[1] / "README.md"
ROW = re.compile(r"^\| (.+) \| (\d+) s \| ([\d, ]+) \| (\d+) s \|$", re.MULTILINE)
HEADER = re.compile(r"Measured on (.+), load ([\d.]+) before and ([\d.]+) after:")


def recorded(text: str) -> tuple[list, tuple[float, float], str]:
    """The figures of the README's block: (name, runs, budget) per row, the loads and the machine."""
    block = text.split(budgets.BEGIN, 1)[1].split(budgets.END, 1)[0]
    rows = [(name, [float(t) for t in runs.split(", ")], int(budget)) for name, _, runs, budget in ROW.findall(block)]
    machine, before, after = HEADER.search(block).groups()
    return rows, (float(before), float(after)), machine


def test_the_readme_states_the_budgets_as_the_tool_wrote_them():
    """The README's budget block is what tools/budgets.py renders from the figures it states: every
    median is the median of its runs, and every run has the budget the tool times it against."""
    text = README.read_text(encoding="utf-8")
    figures, loads, machine = recorded(text)
    assert budgets.table(figures, loads, machine) in text
    timed = {name: budget for name, _, budget in [*budgets.SPEC_RUNS, budgets.SELF_TESTS]}
    assert [(name, budget) for name, _, budget in figures] == [(name, timed[name]) for name, _, _ in figures]
    assert [name for name, _, _ in figures][:3] == [name for name, _, _ in budgets.SPEC_RUNS]


def test_a_hand_edited_median_no_longer_matches():
    """A median changed by hand is not the tool's rendering of the runs beside it."""
    figures = [("`pytest`, cold cache", [50.0, 52.0, 61.0], 60)]
    block = budgets.table(figures, (1.0, 1.5), "2 CPUs")
    assert "| `pytest`, cold cache | 52 s | 50, 52, 61 | 60 s |" in block
    edited = block.replace("| 52 s |", "| 50 s |")
    rows, loads, machine = recorded(edited)
    assert budgets.table(rows, loads, machine) != edited
    assert statistics.median(rows[0][1]) == 52


def test_writing_needs_the_markers(tmp_path):
    """--write into a file without the two markers is refused in one line, and the file is left as it was."""
    readme = tmp_path / "README.md"
    readme.write_text("# no block\n")
    with pytest.raises(SystemExit, match="no block"):
        write_block(readme, "table", budgets.BEGIN, budgets.END)
    assert readme.read_text() == "# no block\n"
    readme.write_text(f"before\n{budgets.BEGIN}\nold\n{budgets.END}\nafter\n")
    write_block(readme, budgets.BEGIN + "\nnew\n" + budgets.END, budgets.BEGIN, budgets.END)
    assert readme.read_text() == f"before\n{budgets.BEGIN}\nnew\n{budgets.END}\nafter\n"
