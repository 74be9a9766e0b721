"""Self-tests of the spec report (keras_rnn_spec/report.py, keras_rnn_spec/report_render.py) on a small run of its own.

A three-chapter suite, written by `write_suite` into pytester's directory, uses the spec's own
helpers (catalogue cases, the verify helper) and has a planted failure, an xfail and a skip. It is
run in-process, with a -k selection, and under pytest-xdist; the report and the results file it
writes are checked, and so is the Markdown's form (headings, tables, fences).
"""

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

# Keras, its backend and numpy loaded here, before the in-process runs: each run's module snapshot
# would drop them, and none of them can be loaded twice in a process (numpy refuses, TensorFlow aborts).
from keras_rnn_spec import report_render, subject  # noqa: F401
from keras_rnn_spec.differences import Difference
from notebook_examples import assert_first_screen_shows, drawn_from, picture_values, rendered, synthetic_example

ROOT = Path(__file__).resolve().parents[1]

INI = """
[pytest]
testpaths = chapters
addopts = -p keras_rnn_spec.plugin -p keras_rnn_spec.report
spec_report = reports/spec.md
xfail_strict = true
"""

# Collected first (by file name), numbered second: the report orders by chapter number.
CHAPTER_2 = '''
"""Chapter 2: other outcomes. A known difference, a skip, a snippet in a docstring."""

import pytest


@pytest.mark.xfail(reason="known difference demo: Keras 9 returns three", strict=True)
def test_known_difference():
    """A claim that a subject gets wrong, recorded as a known difference."""
    assert 1 + 1 == 3


def test_needs_a_gpu():
    """A claim that needs a GPU."""
    pytest.skip("no GPU on this machine")


def test_with_a_snippet(request):
    """A claim whose docstring carries its snippet.

    The snippet below is the claim's own.

    ```python
    layer = keras.layers.LSTM(5, return_state=True)
    ```
    """
    request.node.user_properties.append(("kernel entries vary", {"holds": True}))
'''

CHAPTER_1 = '''
"""Chapter 1: the returned structure. Shapes, and one planted fault.

Source: this self-test.
"""

import numpy as np
import pytest

from keras_rnn_spec.catalogue import DEFAULT, GRU, LSTM, SEQUENCES
from keras_rnn_spec.observe import cases
from keras_rnn_spec.semantics import expected_structure
from keras_rnn_spec.verify import Verify


def verify(request, case):
    claim = request.function.__doc__.splitlines()[0]
    return Verify(claim, case, request.node.user_properties)


@pytest.mark.parametrize("case", cases([GRU, LSTM], [DEFAULT, SEQUENCES], ["call"]), ids=str)
def test_structure(case, request):
    """The layer returns one tensor of the documented shape."""
    names, shapes = expected_structure(case)
    verify(request, case).structure([np.zeros(shape) for shape in shapes], shapes, names=names)


@pytest.mark.parametrize("case", cases([GRU, LSTM], [SEQUENCES], ["call"]), ids=str)
def test_last_step(case, request):
    """The last step equals the output."""
    sequence = np.zeros((2, 10, 5))
    planted = 1.0 if case.layer is LSTM else 0.0  # the planted fault: LSTM's last step is off by one
    verify(request, case).equal(sequence[:, -1] + planted, sequence[:, -1], what="|h| against sequence[:, -1]")
'''

CHAPTER_3 = '''
"""Chapter 3: a chapter a -k selection leaves out."""


def test_third(request):
    """Nothing but a pass."""
    request.node.user_properties.append(("nothing", {"holds": True}))
'''

OUTCOMES = {"passed": 7, "failed": 1, "xfailed": 1, "skipped": 1}


@pytest.fixture
def suite(pytester):
    pytester.makeini(INI)
    pytester.mkpydir("chapters")
    pytester.path.joinpath("chapters/test_alpha.py").write_text(CHAPTER_2)
    pytester.path.joinpath("chapters/test_zeta.py").write_text(CHAPTER_1)
    pytester.path.joinpath("chapters/test_third.py").write_text(CHAPTER_3)
    return pytester


def read_report(pytester) -> str:
    return (pytester.path / "reports/spec.md").read_text()


def read_results(pytester) -> list[dict]:
    lines = (pytester.path / "reports/results.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def section(markdown: str, heading: str) -> str:
    """The text under a heading, up to the next heading of the same or a higher level."""
    level = heading.split(" ")[0]
    start = markdown.index(f"\n{heading}\n")
    ends = [m.start() for m in re.finditer(rf"\n#{{1,{len(level)}}} ", markdown) if m.start() > start]
    return markdown[start : ends[0] if ends else len(markdown)]


def assert_clean_markdown(markdown: str):
    """Balanced code fences; every table has a delimiter row and as many cells in each row."""
    in_fence, fence, table = False, "", []
    for number, line in enumerate([*markdown.splitlines(), ""], start=1):
        if in_fence:
            in_fence = line != fence
            continue
        if line.startswith("```"):
            in_fence, fence = True, re.match(r"`+", line)[0]
            continue
        if line.startswith("|"):
            table.append((number, line))
            continue
        if table:
            cells = [len(re.findall(r"(?<!\\)\|", row)) for _, row in table]
            assert re.fullmatch(r"\|(---\|)+", table[1][1]), f"line {table[1][0]}: no delimiter row"
            assert len(set(cells)) == 1, f"table at line {table[0][0]}: rows with different cell counts {cells}"
            table = []
        assert not line.startswith("#") or re.match(r"#{1,6} \S", line), f"line {number}: malformed heading"
    assert not in_fence, "a code fence is not closed"


def test_a_run_writes_a_report_with_every_chapter_claim_and_case(suite):
    result = suite.runpytest_inprocess()
    result.assert_outcomes(**OUTCOMES)
    markdown = read_report(suite)
    assert_clean_markdown(markdown)

    headings = [line for line in markdown.splitlines() if line.startswith("#")]
    assert headings == [
        "# Keras recurrent layers: the spec, as this run observed it",
        "## Environment",
        "## This run",
        "## Chapters",
        "## What comes back",
        "## Failed in this run",
        "## Chapter 1: the returned structure",
        "### The layer returns one tensor of the documented shape.",
        "### The last step equals the output.",
        "## Chapter 2: other outcomes",
        "### A claim that a subject gets wrong, recorded as a known difference.",
        "### A claim that needs a GPU.",
        "### A claim whose docstring carries its snippet.",
        "## Chapter 3: a chapter a -k selection leaves out",
        "### Nothing but a pass.",
    ]
    environment = section(markdown, "## Environment")
    for label in ("Python", "TensorFlow", "Keras", "backend", "devices"):
        assert f"\n| {label} | " in environment
    assert "\n| suite revision | unknown |" in environment  # pytester's directory is no git checkout
    run = section(markdown, "## This run")
    assert "| selection | the whole suite (`chapters`) |" in run
    assert "| tests | 10 selected of 10 collected, 10 ran |" in run
    assert "| verdict | 1 failed, 1 xfailed, 1 skipped, 7 passed |" in run
    assert "| results file | `reports/results.jsonl` |" in run

    structures = section(markdown, "## What comes back")
    assert "| layer | default | sequences |" in structures
    assert "| LSTM | output (2, 5) | output (2, 10, 5) |" in structures

    structure_claim = section(markdown, "### The layer returns one tensor of the documented shape.")
    assert "Keras code for the case `GRU-default-call`:" in structure_claim
    assert "layer = keras.layers.GRU(5)" in structure_claim
    # Cases with the same verdict and observation share a row.
    assert "| `GRU-sequences-call`, `LSTM-sequences-call` | passed | returned structure: output (2, 10, 5) |" in structure_claim

    snippet_claim = section(markdown, "### A claim whose docstring carries its snippet.")
    assert "```python\nlayer = keras.layers.LSTM(5, return_state=True)\n```" in snippet_claim
    assert "The snippet below is the claim's own." in snippet_claim
    assert "| (one case) | passed | kernel entries vary: holds |" in snippet_claim

    other_outcomes = section(markdown, "## Chapter 2: other outcomes")
    assert "| xfailed: known difference demo: Keras 9 returns three |" in other_outcomes
    assert "| skipped: no GPU on this machine |" in other_outcomes


def test_a_planted_failure_shows_as_a_failure(suite):
    suite.runpytest_inprocess().assert_outcomes(**OUTCOMES)
    markdown = read_report(suite)

    failed = section(markdown, "## Failed in this run")
    assert "The last step equals the output. (`LSTM-sequences-call`)" in failed
    assert "GRU-sequences-call" not in failed
    chapters = section(markdown, "## Chapters")
    assert "(#chapter-1-the-returned-structure) | 2 | 6 | fails: 1 failed, 5 passed |" in chapters

    claim = section(markdown, "### The last step equals the output.")
    assert "`test_last_step` · fails: 1 failed, 1 passed" in claim
    # The observation's pipes are escaped, so the table keeps its three columns.
    assert (
        "| `LSTM-sequences-call` | **failed** (below) | \\|h\\| against sequence\\[:, -1]: (2, 5), max abs difference 1 |"
        in claim
    )
    assert "| `GRU-sequences-call` | passed | \\|h\\| against sequence\\[:, -1]: (2, 5), max abs difference 0 |" in claim
    message = claim.split("**`LSTM-sequences-call` failed:**")[1]
    assert "Claim:    The last step equals the output." in message
    assert "max |observed - expected| = 1" in message
    assert "Reproduce:" in message


def test_the_results_file_has_a_self_contained_record_per_test_phase(suite):
    suite.runpytest_inprocess().assert_outcomes(**OUTCOMES)
    records = [r for r in read_results(suite) if r["$report_type"] == "TestReport"]
    calls = {r["nodeid"]: r for r in records if r["when"] == "call"}
    failing = calls["chapters/test_zeta.py::test_last_step[LSTM-sequences-call]"]
    assert failing["outcome"] == "failed"
    (meta,) = [value for name, value in failing["user_properties"] if name == "spec"]
    assert meta["chapter"] == 1 and meta["chapter_title"] == "the returned structure"
    assert meta["claim"] == "The last step equals the output."
    axes = (meta["case"], meta["layer"], meta["configuration"], meta["path"])
    assert axes == ("LSTM-sequences-call", "LSTM", "sequences", "call")
    assert {"python", "tensorflow", "keras", "backend", "devices", "suite revision"} <= set(meta["environment"])
    observations = [p for p in failing["user_properties"] if p[0] != "spec"]
    assert observations == [["|h| against sequence[:, -1]", {"shape": [2, 5], "max_abs_difference": 1.0}]]
    assert all(any(name == "spec" for name, _ in r["user_properties"]) for r in records)

    # The file holds everything the report shows: its chapters render again from it alone.
    results = report_render.results_from_reports(read_results(suite))
    assert Counter(r.outcome for r in results) == Counter(OUTCOMES)
    again = report_render.markdown(results, results[0].meta["environment"], {})
    written = read_report(suite)
    assert again[again.index("## Chapter 1") :] == written[written.index("## Chapter 1") :]


def first_test_record(pytester) -> dict:
    first = next(r for r in read_results(pytester) if r["$report_type"] == "TestReport")
    return dict(first["user_properties"])["spec"]


def test_the_first_record_says_whether_the_run_was_the_whole_suite(suite):
    """The merge into the matrix reads this: a whole run of the suite, and how many tests it selected."""
    suite.runpytest_inprocess().assert_outcomes(**OUTCOMES)
    first = first_test_record(suite)
    assert (first["selection"], first["whole suite"], first["selected"]) == ("the whole suite (`chapters`)", True, 10)
    suite.runpytest_inprocess("-k", "structure").assert_outcomes(passed=4, deselected=6)
    first = first_test_record(suite)
    assert (first["selection"], first["whole suite"], first["selected"]) == ("-k `structure`", False, 4)
    suite.runpytest_inprocess("chapters/test_zeta.py").assert_outcomes(passed=5, failed=1)
    assert first_test_record(suite)["whole suite"] is False


def test_a_selection_says_which_part_ran(suite):
    suite.runpytest_inprocess("-k", "structure").assert_outcomes(passed=4, deselected=6)
    markdown = read_report(suite)
    assert_clean_markdown(markdown)
    run = section(markdown, "## This run")
    assert "| selection | -k `structure` |" in run
    assert "| tests | 4 selected of 10 collected, 4 ran |" in run
    chapters = section(markdown, "## Chapters")
    assert "| [Chapter 1: the returned structure](#chapter-1-the-returned-structure) | 1 | 4 | holds: 4 passed |" in chapters
    assert "| Chapter 2: other outcomes |  |  | not in this run |" in chapters
    assert "| Chapter 3: a chapter a -k selection leaves out |  |  | not in this run |" in chapters


def test_a_chapter_that_cannot_be_collected_is_reported(suite):
    suite.path.joinpath("chapters/test_broken.py").write_text('"""Chapter 4: broken."""\nimport not_a_module\n')
    result = suite.runpytest_inprocess()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    markdown = read_report(suite)
    assert_clean_markdown(markdown)
    assert "| session | exit status 2 (interrupted) |" in section(markdown, "## This run")
    failed = section(markdown, "## Failed in this run")
    assert "- could not collect `chapters/test_broken.py`: ModuleNotFoundError: No module named 'not_a_module'" in failed
    assert "| Chapter 4: broken |  |  | could not be collected |" in section(markdown, "## Chapters")


def test_spec_option_prints_the_claims_by_chapter(suite):
    result = suite.runpytest_inprocess("--spec")
    result.stdout.fnmatch_lines(
        [
            "*= spec =*",
            "Chapter 1: the returned structure",
            "  ok    The layer returns one tensor of the documented shape.",
            "          passed for GRU, LSTM x default, sequences x call (4 cases)",
            "  FAIL  The last step equals the output.",
            "          failed for LSTM-sequences-call",
            "          passed for GRU-sequences-call",
            "Chapter 2: other outcomes",
            "  xfail A claim that a subject gets wrong, recorded as a known difference.",
            "          xfailed for 1 test",
            "*spec report: reports?spec.md*",
        ]
    )


def test_under_xdist_the_report_is_the_same(suite, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    suite.runpytest_inprocess().assert_outcomes(**OUTCOMES)
    alone = read_report(suite)
    suite.runpytest_inprocess("-n", "2").assert_outcomes(**OUTCOMES)
    assert read_report(suite) == alone


def test_a_report_elsewhere_has_a_results_file_only_when_one_is_named(suite):
    """reports/ keeps the two files of one run: a report written elsewhere writes neither there."""
    report = suite.path / "elsewhere/spec.md"
    suite.runpytest_inprocess(f"--spec-report={report}").assert_outcomes(**OUTCOMES)
    assert not (suite.path / "reports").exists()
    assert "| results file | none (`--report-log=PATH` writes one) |" in section(report.read_text(), "## This run")

    suite.runpytest_inprocess(f"--spec-report={report}", "--report-log=elsewhere/results.jsonl").assert_outcomes(**OUTCOMES)
    assert not (suite.path / "reports").exists()
    assert "| results file | `elsewhere/results.jsonl` |" in section(report.read_text(), "## This run")
    records = [json.loads(line) for line in (suite.path / "elsewhere/results.jsonl").read_text().splitlines()]
    assert len({r["nodeid"] for r in records if r["$report_type"] == "TestReport"}) == sum(OUTCOMES.values())


@pytest.mark.parametrize(
    "option, given, problem",
    [
        ("--spec-report", "out", "is a directory; name a file in it, e.g. --spec-report=out/spec.md"),
        ("--spec-report", "notes.txt/spec.md", "cannot create the folder */notes.txt: */notes.txt is a file; name a path in a folder"),
        ("--report-log", "out", "is a directory; name a file in it, e.g. --report-log=out/results.jsonl"),
        ("--spec-report", "picture.md", "picture-returns.svg, where the report's picture goes, is a directory; remove it or name another report"),
    ],
    ids=["a directory", "a file in the way", "a results file that is a directory", "a directory where the picture goes"],
)
def test_a_report_path_that_cannot_be_written_stops_the_run_before_it_starts(suite, option, given, problem):
    suite.mkdir("out")
    suite.mkdir("picture-returns.svg")
    suite.path.joinpath("notes.txt").write_text("")
    last_results = suite.path / "reports/results.jsonl"
    last_results.parent.mkdir()
    last_results.write_text("the last run's results\n")
    result = suite.runpytest_inprocess(f"{option}={given}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {option}={given}: *{problem}"])
    result.stdout.no_fnmatch_line("*passed*")
    assert last_results.read_text() == "the last run's results\n"


def test_a_claim_no_layer_under_test_qualifies_for_is_skipped_with_what_is_missing(pytester):
    pytester.makeini(INI)
    pytester.mkpydir("chapters")
    pytester.path.joinpath("chapters/test_c.py").write_text(
        '"""Chapter 1: the cell state."""\n'
        "import pytest\n"
        "from keras_rnn_spec.catalogue import select\n"
        "from keras_rnn_spec.parameters import or_skipped\n\n\n"
        '@pytest.mark.parametrize("layer", or_skipped([], "a cell state c", select("")), ids=str)\n'
        "def test_c(layer):\n"
        '    """c is not h."""\n'
    )
    result = pytester.runpytest_inprocess("--spec")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["  skip  c is not h.", "          skipped for no layer with a cell state c"])
    reason = "no layer under test has a cell state c: SimpleRNN has state h; GRU has state h; LSTM has states h, c"
    assert f"| `no layer with a cell state c` | skipped: {reason} |" in read_report(pytester)


def test_markdown_escapes_markup_outside_code_spans():
    assert report_render.cell("|h| <= `a|b`, _h, x_y, 2*3, o * c, <b>, __init__") == (
        "\\|h\\| <= `a\\|b`, \\_h, x_y, 2\\*3, o \\* c, \\<b>, \\_\\_init\\_\\_"
    )
    assert report_render.prose("# not a heading\n> not a quote") == "\\# not a heading\n\\> not a quote"


def test_phases_combine_into_the_worst_outcome():
    def phase(when, outcome, **extra):
        return {"$report_type": "TestReport", "nodeid": "m.py::t", "when": when, "outcome": outcome, **extra}

    crash = {"reprcrash": {"message": "AssertionError: broke"}}
    setup_error = [phase("setup", "failed", longrepr=crash), phase("teardown", "passed")]
    later = {"reprcrash": {"message": "later"}}
    call_then_teardown = [
        phase("setup", "passed"),
        phase("call", "failed", longrepr=crash),
        phase("teardown", "failed", longrepr=later),
    ]
    strict_xpass = [phase("setup", "passed"), phase("call", "failed", longrepr="[XPASS(strict)] why")]
    skip = [phase("setup", "skipped", longrepr=["m.py", 3, "Skipped: no GPU"]), phase("teardown", "passed")]
    outcomes = [
        (r.outcome, r.detail)
        for records in (setup_error, call_then_teardown, strict_xpass, skip)
        for r in report_render.results_from_reports(records)
    ]
    assert outcomes == [
        ("error", "AssertionError: broke"),
        ("failed", "AssertionError: broke"),
        ("failed", "[XPASS(strict)] why"),
        ("skipped", "no GPU"),
    ]


def chapter_rows(markdown: str) -> list[str]:
    """The rows of the report's chapters table, without its header and delimiter."""
    return [line for line in section(markdown, "## Chapters").splitlines() if line.startswith("| ")][1:]


def test_every_chapter_is_listed_once_whether_it_ran_or_not(suite):
    """The chapters table has one row per chapter module: the modules that ran and those found on disk
    are named alike, so a chapter that ran is not also listed as "not in this run"."""
    chapters = sorted(path.name for path in (suite.path / "chapters").glob("test_*.py"))
    suite.runpytest_inprocess().assert_outcomes(**OUTCOMES)
    rows = chapter_rows(read_report(suite))
    assert len(rows) == len(chapters), rows
    assert not [row for row in rows if "not in this run" in row], rows
    suite.runpytest_inprocess("-k", "structure").assert_outcomes(passed=4, deselected=6)
    rows = chapter_rows(read_report(suite))
    assert len(rows) == len(chapters), rows
    assert len([row for row in rows if row.endswith("| not in this run |")]) == len(chapters) - 1, rows


def test_an_export_route_that_runs_names_the_steps_it_passed(tmp_path):
    """Chapter 22's first claim names each step it checked: where the artifact exported and loaded, "the
    export and load steps" hold; no observation names an empty step ("the  step")."""
    case = "saved_model-serve-SimpleRNN-default"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "keras_rnn_spec/test_export.py"]
    command += ["-k", f"test_the_model_exports_loads_and_runs and {case}", f"--spec-report={tmp_path / 'spec.md'}"]
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "CI": "true"})
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    markdown = (tmp_path / "spec.md").read_text(encoding="utf-8")
    (row,) = [line for line in markdown.splitlines() if line.startswith(f"| `{case}`")]
    assert "| passed | the export and load steps: holds<br>the run step: holds<br>" in row, row
    assert "the  step" not in markdown


def test_the_first_screen_answers_with_the_four_configurations_the_numbers_and_the_picture():
    """Before the environment, within its first 40 lines, the report shows what each of the four
    configurations returned, the picture's link and the first sample's numbers: the sequence step by
    step, its last step beside the output and h, and c."""
    example = synthetic_example()
    lines = rendered([[report_render.NOTEBOOK_EXAMPLE, example]], picture="spec-returns.svg").splitlines()
    first_screen = lines[: lines.index("## Environment")]
    assert len(first_screen) <= 40, "\n".join(first_screen)
    assert_first_screen_shows(first_screen, example, "spec-returns.svg")


def test_the_picture_shows_each_configuration_from_the_observed_numbers():
    """The picture is XML with one band per configuration, and each cell's title is the example's value."""
    example = synthetic_example()
    svg = report_render.returns_picture(example)
    assert picture_values(svg) == drawn_from(example)
    bands = re.findall(r">return_sequences=(True|False)<", svg)
    assert bands == [str(entry["flags"]["return_sequences"]) for entry in example["returns"]]


NOTEBOOK_CHAPTER = '''
"""Chapter 4: the notebook. A test that records the notebook example, as chapter 1 of the spec does."""

import json

EXAMPLE = json.loads({example!r})


def test_example(request):
    """The example is recorded."""
    request.node.user_properties.append(("notebook example", EXAMPLE))
'''


def test_the_run_writes_the_picture_beside_the_report_and_only_with_the_example(suite):
    """Wherever the report goes, the picture of the run's notebook example goes beside it, linked by its
    name; a run without the example leaves no picture of an earlier run beside its report."""
    example = synthetic_example()
    suite.path.joinpath("chapters/test_notebook.py").write_text(NOTEBOOK_CHAPTER.format(example=json.dumps(example)))
    outcomes = {**OUTCOMES, "passed": OUTCOMES["passed"] + 1}
    for report in ("reports/spec.md", "elsewhere/notes.md"):
        suite.runpytest_inprocess(f"--spec-report={report}").assert_outcomes(**outcomes)
        picture = (suite.path / report).with_name(Path(report).stem + "-returns.svg")
        assert f"]({picture.name})" in (suite.path / report).read_text()
        assert picture_values(picture.read_text()) == drawn_from(example)
    suite.runpytest_inprocess("--spec-report=reports/spec.md", "-k", "structure").assert_outcomes(passed=4, deselected=7)
    assert not (suite.path / "reports/spec-returns.svg").exists()
    assert "-returns.svg" not in read_report(suite)


def test_a_known_difference_is_stated_once_and_its_cases_refer_to_it_by_id():
    """A known difference that several cases are expected to fail by is described once, with the cases it
    applied to; their rows share one row that names it by id."""
    difference = Difference("demo-difference", "a behaviour", ("x",), {"backend": "tensorflow"}, "Keras returns three", "this self-test")
    meta = {"module": "test_x.py", "chapter": 1, "chapter_title": "x", "test": "test_x", "claim": "A claim."}
    cases = ["SimpleRNN", "GRU", "LSTM"]
    reports = [
        {
            "$report_type": "TestReport",
            "nodeid": f"test_x.py::test_x[{case}]",
            "when": "call",
            "outcome": "skipped",
            "wasxfail": difference.describe(),
            "user_properties": [[report_render.META, {**meta, "case": case, "order": order}]],
        }
        for order, case in enumerate(cases)
    ]
    markdown = report_render.markdown(report_render.results_from_reports(reports), {}, {})
    assert markdown.count(difference.observed) == markdown.count(difference.source) == 1
    known = section(markdown, "## Known differences")
    assert f"**`{difference.id}`** (when: backend tensorflow): {difference.observed}" in known
    assert f"3 cases: {', '.join(f'`{case}`' for case in cases)}" in known
    rows = [line for line in section(markdown, "### A claim.").splitlines() if line.startswith("| `")]
    assert rows == [f"| {', '.join(f'`{case}`' for case in cases)} | xfailed: known difference `{difference.id}` |  |"]


def test_cases_that_differ_only_in_their_largest_differences_share_a_row_and_failures_keep_theirs():
    """Passing cases whose observations differ only in their numbers are one row, showing the largest
    ("<= " where they differ); a failing case keeps its own row and its message below the table."""
    differences = [0.0, 1e-7, 3e-7]
    meta = {"module": "test_x.py", "chapter": 1, "chapter_title": "x", "test": "test_x", "claim": "A claim."}

    def report(order, case, difference, outcome="passed", **extra):
        observation = ["h against the reference", {"shape": [2, 5], "max_abs_difference": difference}]
        properties = [[report_render.META, {**meta, "case": case, "order": order}], observation]
        return {"$report_type": "TestReport", "nodeid": f"test_x.py::test_x[{case}]", "when": "call", "outcome": outcome, "user_properties": properties, **extra}

    reports = [report(order, f"case{order}", difference) for order, difference in enumerate(differences)]
    reports.append(report(3, "broken", 1.0, "failed", longrepr={"reprcrash": {"message": "AssertionError: off by one"}}))
    claim = section(report_render.markdown(report_render.results_from_reports(reports), {}, {}), "### A claim.")
    largest = report_render.describe_number(max(differences))
    passing = ", ".join(f"`case{order}`" for order in range(len(differences)))
    rows = [line for line in claim.splitlines() if line.startswith("| `")]
    assert rows == [
        f"| {passing} | passed | h against the reference: (2, 5), max abs difference <= {largest} |",
        "| `broken` | **failed** (below) | h against the reference: (2, 5), max abs difference 1 |",
    ]
    assert "**`broken` failed:**\n\n```text\nAssertionError: off by one\n```" in claim
