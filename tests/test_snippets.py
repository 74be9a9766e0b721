"""Self-tests of the spec report's code: every snippet in the report of a default run runs, and checks its claim.

A default `pytest` run writes its report into a temporary directory. Each claim's Keras snippet
(its first case's code followed by the claim's check, keras_rnn_spec/report.py `claim_text`) is run in a
fresh namespace of one Python process, and so is the notebook example the report opens with; its
output must be what the report says it printed.
"""

import re

import pytest
from markdown_it import MarkdownIt

from keras_rnn_spec import differences, report_render
from notebook_examples import assert_first_screen_shows, drawn_from, picture_values, rendered, synthetic_example
from pasting import pasted


# Runs each snippet of a JSON list (stdin) in a namespace of its own; prints one JSON result per snippet.
RUNNER = """
import contextlib, io, json, sys, traceback
for snippet in json.load(sys.stdin):
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(snippet, "<snippet>", "exec"), {"__name__": "__snippet__"})
        error = ""
    except BaseException:
        error = traceback.format_exc(limit=-2)
    print(json.dumps({"printed": printed.getvalue(), "error": error}))
"""


@pytest.fixture
def default_report(default_run) -> str:
    """The Markdown report of the default run (the whole spec, default options; tests/conftest.py)."""
    return default_run.report


def fenced_under_headings(report: str) -> list[tuple[str, str, str]]:
    """(heading, language, code) of every fenced block, with the heading it is under."""
    found, heading = [], ""
    tokens = MarkdownIt().parse(report)
    for token, following in zip(tokens, tokens[1:] + [None]):
        if token.type == "heading_open":
            heading = following.content
        elif token.type == "fence":
            found.append((heading, token.info.strip(), token.content))
    return found


def run_snippets(snippets: list[str]) -> list[dict]:
    """Each snippet's result: what it printed, and the error it raised ("" when none)."""
    return pasted(RUNNER, snippets)


def claim_snippets(report: str) -> list[tuple[str, str, str]]:
    """(claim sentence, its Python snippet, the verdict of its first case) of every claim with a snippet.

    A claim is a level-3 heading; the snippet is written for the first case of its table.
    """
    found = []
    for section in report.split("\n### ")[1:]:
        blocks = [code for _, language, code in fenced_under_headings("### " + section) if language == "python"]
        rows = [line for line in section.splitlines() if line.startswith(("| `", "| (one case) |"))]
        if blocks and rows:
            found.append((section.partition("\n")[0], blocks[0], rows[0].split(" | ")[1]))
    return found


def claims_without_a_snippet(report: str) -> list[str]:
    with_one = {claim for claim, _, _ in claim_snippets(report)}
    return [claim for claim in (section.partition("\n")[0] for section in report.split("\n### ")[1:]) if claim not in with_one]


def test_every_claim_shows_keras_code(default_report):
    """Every claim of the report has a Keras snippet: its case's code, with the claim's check."""
    assert claims_without_a_snippet(default_report) == []


def test_every_claim_snippet_runs_and_checks_what_the_run_found(default_report):
    """Each claim's snippet, as the report renders it, runs to the end where its first case passed; where
    that case is a known difference (xfailed), the snippet's check fails with an AssertionError, as the
    claim did; where the run skipped that case (chapter 22: a route without names, one that refused
    the model), there is nothing to agree with."""
    snippets = claim_snippets(default_report)
    results = run_snippets([code for _, code, _ in snippets])
    assert len(results) == len(snippets)
    wrong = []
    for (claim, code, verdict), result in zip(snippets, results):
        if verdict.startswith("skipped"):
            continue  # the run did not check the claim on its first case: nothing for the snippet to agree with
        if verdict.startswith("xfailed"):
            expected = "its check to fail (a known difference)"
            agrees = result["error"].rstrip().splitlines()[-1:] == ["AssertionError"]
        else:
            expected = "it to run and its check to pass"
            agrees = verdict == "passed" and not result["error"]
        if not agrees:
            wrong.append(f"{claim} (first case {verdict}; expected {expected})\n{code}\n{result['error']}")
    summary = f"{len(wrong)} of {len(snippets)} snippets did not do what their claim's run did:"
    assert not wrong, "\n\n".join([summary, *wrong])


def test_a_user_layers_snippets_run_and_check_it(example_run):
    """Under SPEC_LAYERS each snippet whose first case passed runs and checks the user's layer: a check
    written for SimpleRNN compares with the user's reference, or is left out where it builds SimpleRNN."""
    report = example_run.report
    assert claims_without_a_snippet(report) == [], "claims without Keras code under SPEC_LAYERS"
    snippets = [(claim, code) for claim, code, verdict in claim_snippets(report) if verdict == "passed"]
    assert len(snippets) >= 40, f"only {len(snippets)} claims with a passing first case have a snippet"
    assert all("SimpleRNN" not in code for _, code in snippets)
    failed = [
        f"{claim}\n{code}\n{result['error']}"
        for (claim, code), result in zip(snippets, run_snippets([code for _, code in snippets]))
        if result["error"]
    ]
    assert not failed, f"{len(failed)} of {len(snippets)} snippets failed on the user's layer:\n\n" + "\n\n".join(failed)


def test_every_claim_snippet_performs_a_check(default_report):
    """Each claim's snippet asserts what the claim says (an assert statement, or numpy.testing's)."""
    unchecked = [claim for claim, code, _ in claim_snippets(default_report) if "assert" not in code]
    assert not unchecked, "snippets without a check:\n" + "\n".join(unchecked)


def test_the_notebook_example_prints_what_the_report_shows(default_report):
    """The opening's code, run again, prints the arrays the report shows (they were computed by the run)."""
    blocks = [
        (language, code)
        for heading, language, code in fenced_under_headings(default_report)
        if heading.startswith("The notebook's example")
    ]
    assert [language for language, _ in blocks] == ["python", "text"], blocks
    (_, code), (_, printed) = blocks
    (result,) = run_snippets([code])
    assert not result["error"], result["error"]
    assert result["printed"].rstrip("\n") == printed.rstrip("\n")


def test_the_first_screen_answers_with_the_runs_own_numbers(default_run):
    """The default run's report opens, in its first 40 lines, with what the four configurations returned,
    the picture's link and the first sample's numbers, as the run recorded the notebook example; the
    picture beside the report is drawn from the same numbers."""
    example = report_render.notebook_example(default_run.results)
    assert example is not None, "the default run recorded no notebook example"
    assert_first_screen_shows(default_run.report.splitlines()[:40], example, "spec-returns.svg")
    assert picture_values(default_run.picture) == drawn_from(example)


def test_no_known_difference_is_stated_twice(default_run):
    """Each known difference's text is in the report once at most; the cases it applies to name it by id."""
    stated = {d.id: default_run.report.count(report_render.prose(d.observed)) for d in differences.load()}
    assert not {identifier: times for identifier, times in stated.items() if times > 1}
    if any(result.outcome == "xfailed" for result in default_run.results):
        assert any(stated.values()), "the run had expected failures and the report states no known difference"


REFUSAL_CHAPTERS = ("Chapter 16:", "Chapter 18:", "Chapter 21:")
RAISED = re.compile(r"raised at step (build|call): [\w.]+: \S")


def test_refusals_show_the_exception_they_observed(default_report):
    """In chapters 16, 18 and 21 every claim that an input is refused shows, in its observed column, what was raised."""
    chapters = [section for section in default_report.split("\n## ") if section.startswith(REFUSAL_CHAPTERS)]
    assert len(chapters) == len(REFUSAL_CHAPTERS)
    claims = [claim for chapter in chapters for claim in chapter.split("\n### ")[1:]]
    refusals = [claim for claim in claims if re.search(r"\b(refuse[sd]?|raises)\b", claim.partition("\n")[0])]
    assert refusals
    silent = [claim.partition("\n")[0] for claim in refusals if not RAISED.search(claim)]
    assert not silent, "refusal claims whose report does not show the exception:\n" + "\n".join(silent)


def test_the_opening_is_left_out_when_the_notebook_example_did_not_run():
    """A run that did not record the notebook example (a selection) has no opening section, and no placeholder."""
    assert "notebook's example" not in rendered([])
    text = rendered([[report_render.NOTEBOOK_EXAMPLE, synthetic_example()]])
    assert "## The notebook's example, computed by this run" in text
    assert "```python\nprint(1)\n```" in text and "```text\n1\n```" in text and "- one is one: `1 - 1` = 0" in text


def test_a_user_layers_snippet_imports_its_module():
    """A snippet for a SPEC_LAYERS layer imports the layer's module, so it runs when pasted (no NameError)."""
    from examples.coupled_lstm import LAYERS
    from keras_rnn_spec.catalogue import STATE
    from keras_rnn_spec.observe import Case

    snippet = Case(LAYERS[0], STATE, "call").snippet()
    assert "import examples.coupled_lstm\n" in snippet
    (result,) = run_snippets([snippet])
    assert not result["error"], f"{snippet}\n{result['error']}"


def test_a_raised_exception_is_shown_with_its_step_type_and_message():
    """The "raised" observation reads as the step, the exception's type and its message (cut in a table cell)."""
    raised = {"error": "builtins.ValueError", "message": "expected ndim=3 " + "x" * 300, "step": "build"}
    shown = report_render.describe_observation("raised", raised)
    assert shown.startswith("raised at step build: builtins.ValueError: expected ndim=3 x")
    assert len(shown) < len("raised at step build: builtins.ValueError: ") + report_render.MAX_MESSAGE + 1
    assert report_render.describe_observation("raised", {"error": None}) == "raised: nothing (every step returned)"
