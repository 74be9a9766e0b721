"""Render a run's test reports as the spec: Markdown for a reader, short lines for the terminal.

The input is the run's test reports in pytest's serialized form (`pytest_report_to_serializable`,
the same objects pytest-reportlog writes to the results file, one per line). keras_rnn_spec/report.py gives
every test a user property named "spec" with its chapter, claim, case and environment; the verify
helper adds one (what, observation) property per comparison. A test's phases (setup, call,
teardown) are combined into one `Result`. Nothing here imports Keras, so a results file can be
rendered, or merged with others, without the subject installed.
"""

import ast
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape as escape_xml

META = "spec"  # the user property that carries a test's metadata
REPRODUCED = "reproducer executed"  # the user property of a test whose values came from executing its case's reproducer


def claim_sentence(docstring: str | None, test: str) -> str:
    """A claim's sentence: its test's docstring's first line (the test's name where it has none)."""
    return docstring.strip().splitlines()[0] if docstring and docstring.strip() else test


def claims_in(package: Path) -> dict[tuple[str, str], str]:
    """{(chapter file, function): sentence} of every claim under `package`, read from the source without
    importing it: every function test_* of its test_*.py files, and its `claim_sentence`."""
    return {
        (path.name, node.name): claim_sentence(ast.get_docstring(node), node.name)
        for path in sorted(package.glob("test_*.py"))
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")
    }

# How each outcome reads, in the order the counts are listed.
OUTCOMES = ("failed", "error", "xpassed", "xfailed", "skipped", "passed")
BAD = ("failed", "error")
# When phases disagree, the worse outcome stands; among equals, the first (a call's failure stays
# the reason even if teardown fails too).
RANK = {"passed": 0, "xpassed": 1, "skipped": 2, "xfailed": 2, "failed": 3, "error": 3}

# The environment's rows, in this order and with these labels (others follow under their own names).
ENVIRONMENT_LABELS = {
    "python": "Python",
    "tensorflow": "TensorFlow",
    "jax": "JAX",
    "torch": "PyTorch",
    "keras": "Keras",
    "backend": "backend",
    "devices": "devices",
    "numpy": "numpy",
    "suite revision": "suite revision",
}

MAX_OBSERVATIONS_IN_A_CELL = 4
MAX_MESSAGE = 200  # characters of an exception's message in a table cell (the results file keeps 400)
NOTEBOOK_EXAMPLE = "notebook example"  # the observation keras_rnn_spec/test_notebook.py records for the opening
EXPORT_LISTING = "what the runtime lists"  # chapter 22's record of one route's inputs and outputs, for its tables
KNOWN_DIFFERENCE = "known difference"  # keras_rnn_spec/differences.py: the observation and the xfail reason start so
# differences.Difference.describe(): "known difference ID (CONDITION): OBSERVED [source: SOURCE]".
DESCRIBED_DIFFERENCE = re.compile(r"known difference (?P<id>\S+) \((?P<when>[^)]*)\): (?P<observed>.*) \[source: (?P<source>.*)\]", re.DOTALL)
# A comparison's number in a described observation, and in the summary of a long run of them.
DIFFERENCE_NUMBER = re.compile(r"(max abs difference(?: of all \d+:)? )(\S+?)(?=$|[;,<])", re.MULTILINE)


@dataclass
class Result:
    """One test with its phases combined: the verdict, why, and what it observed."""

    nodeid: str
    meta: dict
    outcome: str = "passed"  # one of OUTCOMES
    detail: str = ""  # the failure message, or the skip or xfail reason
    observations: list = field(default_factory=list)  # (what, value), in the order recorded
    reproduced: bool = False  # its values came from executing the reproducer its case prints

    @property
    def case(self) -> str:
        return self.meta.get("case", "")


@dataclass
class Claim:
    """One claim test: its sentence and the results of its cases."""

    test: str
    sentence: str
    details: str = ""
    snippet: str = ""
    snippet_case: str = ""  # the case whose code the snippet is; empty for a docstring's snippet
    results: list = field(default_factory=list)


@dataclass
class Chapter:
    """One claim module."""

    module: str
    number: int | None
    title: str
    intro: str = ""
    claims: dict = field(default_factory=dict)  # test name -> Claim, in the order of the run

    @property
    def heading(self) -> str:
        return f"Chapter {self.number}: {self.title}" if self.number is not None else self.module

    @property
    def results(self) -> list:
        return [result for claim in self.claims.values() for result in claim.results]


# ---------------------------------------------------------------------------------------------
# From serialized reports to results, chapters and claims


def results_from_reports(reports) -> list[Result]:
    """Combine the phases of each test into one Result, in the order the tests were collected."""
    results: dict[str, Result] = {}
    for report in reports:
        if report.get("$report_type") != "TestReport":
            continue
        properties = report.get("user_properties")
        properties = [tuple(p) for p in properties] if isinstance(properties, list) else []
        meta = next((value for name, value in properties if name == META), None)
        nodeid = report["nodeid"]
        result = results.setdefault(nodeid, Result(nodeid, meta or _meta_from_nodeid(nodeid)))
        if meta and len(meta) > len(result.meta):  # the phase that carries the documentation fields
            result.meta = meta
        result.reproduced = result.reproduced or (REPRODUCED, True) in properties
        observations = [(name, value) for name, value in properties if name not in (META, REPRODUCED)]
        if len(observations) >= len(result.observations):  # a later phase holds all of them
            result.observations = observations
        outcome, detail = _phase_outcome(report)
        if RANK[outcome] > RANK[result.outcome]:
            result.outcome, result.detail = outcome, detail
    return sorted(results.values(), key=lambda r: (r.meta.get("order", 0), r.nodeid))


def _meta_from_nodeid(nodeid: str) -> dict:
    """What a test without the "spec" property can still be named by."""
    module, _, name = nodeid.partition("::")
    test = name.split("[")[0]
    return {"module": module, "chapter": None, "chapter_title": module, "test": test, "claim": test}


def _phase_outcome(report: dict) -> tuple[str, str]:
    outcome = report["outcome"]
    if "wasxfail" in report:  # the test is marked xfail
        if outcome == "skipped":
            return "xfailed", report["wasxfail"]
        if outcome == "passed" and report["when"] == "call":
            return "xpassed", report["wasxfail"]
    if outcome == "failed":
        return ("failed" if report["when"] == "call" else "error"), _message(report.get("longrepr"))
    if outcome == "skipped":
        return "skipped", _message(report.get("longrepr"))
    return "passed", ""


def _message(longrepr) -> str:
    """The message of a serialized failure or skip."""
    if isinstance(longrepr, dict):  # an exception: its message is the crash entry's
        crash = longrepr.get("reprcrash") or {}
        return crash.get("message") or "(no message; see the run's output)"
    if isinstance(longrepr, (list, tuple)) and len(longrepr) == 3:  # a skip: (path, line, reason)
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr or "")


def chapters_from_results(results: list[Result]) -> list[Chapter]:
    """Group results by module and claim: numbered chapters in number order, then other modules."""
    chapters: dict[str, Chapter] = {}
    for result in results:
        meta = result.meta
        module = meta["module"]
        chapter = chapters.setdefault(module, Chapter(module, meta.get("chapter"), meta.get("chapter_title", module)))
        claim = chapter.claims.setdefault(meta["test"], Claim(meta["test"], meta.get("claim", meta["test"])))
        # The first test of a module carries the chapter's text, the first of a claim the claim's.
        if "chapter_intro" in meta:
            chapter.intro = meta["chapter_intro"]
        if "claim_details" in meta:
            claim.details, claim.snippet = meta["claim_details"], meta.get("snippet", "")
            claim.snippet_case = meta.get("snippet_case", "")
        claim.results.append(result)
    return sorted(chapters.values(), key=lambda c: (c.number is None, c.number or 0, c.module))


def count(results) -> Counter:
    return Counter(result.outcome for result in results)


def describe_counts(counts: Counter) -> str:
    return ", ".join(f"{counts[o]} {o}" for o in OUTCOMES if counts[o]) or "no tests ran"


def verdict(results) -> str:
    """A claim's or chapter's verdict in one word or phrase, from its cases' outcomes."""
    counts = count(results)
    if counts["failed"] or counts["error"] or counts["xpassed"]:
        return "fails"
    if counts["passed"] and counts["xfailed"]:
        return "holds, with known differences"
    if counts["passed"]:
        return "holds"
    if counts["xfailed"]:
        return "known difference"
    return "not checked"


# ---------------------------------------------------------------------------------------------
# Observations


def describe_shape(shape) -> str:
    return "(" + ", ".join(str(n) for n in shape) + (",)" if len(shape) == 1 else ")")


def describe_number(value: float) -> str:
    return "0" if value == 0 else f"{value:.3g}"


def describe_observation(what: str, value) -> str:
    """One recorded comparison, as the notebook would have printed it: names, shapes, differences."""
    if not isinstance(value, dict):
        return f"{what}: {value}"
    if what == NOTEBOOK_EXAMPLE:
        return f"{what}: shown at the top of this report"
    if what == KNOWN_DIFFERENCE and "id" in value:  # keras_rnn_spec/differences.py, stated once in its section
        return f"{what} {code(value['id'])}"
    if what == EXPORT_LISTING:
        return f"inputs {', '.join(value['inputs'])}; outputs {', '.join(value['outputs'])}"
    if "error" in value:  # spec.refusals.record_raised
        if value["error"] is None:
            return f"{what}: nothing (every step returned)"
        message = value["message"]
        message = message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "..."
        return f"{what} at step {value['step']}: {value['error']}: {message}"
    if "names" in value and "shapes" in value:
        names, shapes = value["names"], value["shapes"]
        if len(names) == len(shapes):
            return f"{what}: " + ", ".join(f"{n} {describe_shape(s)}" for n, s in zip(names, shapes))
        observed = ", ".join(describe_shape(s) for s in shapes)
        return f"{what}: {observed} (expected {', '.join(names)})"
    parts = []
    for key, item in value.items():
        if key == "shape":
            parts.append(describe_shape(item))
        elif key == "max_abs_difference":
            parts.append(f"max abs difference {describe_number(item)}")
        elif key == "holds":
            parts.append("holds" if item else "does not hold")
        else:
            parts.append(f"{key} {item}")
    return f"{what}: {', '.join(parts)}"


def describe_observations(observations) -> list[str]:
    """The observations of one test; long runs of comparisons are shortened to a summary."""
    lines = [describe_observation(what, value) for what, value in observations]
    if len(lines) <= MAX_OBSERVATIONS_IN_A_CELL:
        return lines
    shown = MAX_OBSERVATIONS_IN_A_CELL - 1
    differences = [v["max_abs_difference"] for _, v in observations if isinstance(v, dict) and "max_abs_difference" in v]
    summary = f"... and {len(lines) - shown} more comparisons"
    if differences:
        summary += f"; largest max abs difference of all {len(lines)}: {describe_number(max(differences))}"
    return [*lines[:shown], summary]


def returned_structures(results) -> tuple[list[str], dict]:
    """The first returned structure observed for each layer and configuration, in the given order."""
    configurations: list[str] = []
    table: dict[str, dict[str, str]] = {}
    for result in results:
        layer, configuration = result.meta.get("layer"), result.meta.get("configuration")
        if not layer or not configuration:
            continue
        for what, value in result.observations:
            if isinstance(value, dict) and "names" in value and "shapes" in value:
                row = table.setdefault(layer, {})
                if configuration not in row:
                    row[configuration] = describe_observation(what, value).partition(": ")[2]
                    if configuration not in configurations:
                        configurations.append(configuration)
                break
    return configurations, table


# ---------------------------------------------------------------------------------------------
# Markdown

# What Markdown could read as markup in plain text, each escaped with a backslash (CommonMark lets
# any ASCII punctuation be escaped, and a backslash before it always renders as the character):
# backslashes, stray backticks, `*`, `|`, `~` and `$` (GitHub's strikethrough and math) anywhere; an
# underscore unless it sits between two letters or digits (inside a word it is literal, so
# return_sequences stays as written, but each one of `__init__` is escaped); `[` (a link or a
# reference definition); `<` opening a tag or an autolink; `&` opening an entity; `#` or `>`
# opening a line. Lines opening with `-` keep their meaning: docstrings write lists that way.
_MARKUP = re.compile(
    r"[\\`*|~$]|(?<![^\W_])_|_(?![^\W_])|\[|<(?=[A-Za-z/!?])|&(?=#?\w+;)|^[ \t]*[#>]", re.MULTILINE
)
_CODE_SPAN = re.compile(r"(`[^`\n]+`)")


def _escaped(text: str, *, in_table: bool) -> str:
    parts = _CODE_SPAN.split(text)
    out = []
    for index, part in enumerate(parts):
        if index % 2 == 0:  # plain text (odd parts are code spans, literal as they are)
            out.append(_MARKUP.sub(lambda m: m[0][:-1] + "\\" + m[0][-1], part))
        else:  # in a table a `|` ends the cell even inside a code span, unless escaped
            out.append(part.replace("|", "\\|") if in_table else part)
    return "".join(out)


def prose(text: str) -> str:
    """Text from a docstring or a message, safe in Markdown: its `code` spans kept, the rest escaped.
    Give it the text as written, once: escaping already escaped text shows the backslashes."""
    return _escaped(text, in_table=False)


def cell(text: str) -> str:
    """Text as written, for a table cell: as `prose`, with `|` escaped in code spans too and line
    breaks as <br>. The same rule as `prose`: once, on the text as written."""
    return _escaped(text, in_table=True).replace("\n", "<br>")


def code(text: str) -> str:
    return f"`{text}`" if text else ""


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table; the cells are already escaped."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def fenced(text: str, language: str = "") -> list[str]:
    fence = "```"
    while fence in text:
        fence += "`"
    return [fence + language, text.rstrip("\n"), fence, ""]


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def markdown(results: list[Result], environment: dict, run: dict, collection_errors=(), chapters_on_disk=(), picture="") -> str:
    """The spec report.

    run: "selection" (what was selected, in words), "selected" and "deselected" (numbers, or None
    where unknown), "results_file" (a path, or empty when none was written), "session" (how the
    session ended, when it did not run its selection to the end).
    chapters_on_disk: (number, title, module) of every chapter module under the test paths, so
    that a partial run names the chapters it left out.
    picture: the link, relative to the report, of `returns_picture`'s drawing of the notebook example
    ("" when none is written).
    """
    chapters = chapters_from_results(results)
    counts = count(results)
    example = notebook_example(results)
    lines = ["# Keras recurrent layers: the spec, as this run observed it", ""]
    if example is not None:  # the first screen answers the notes' question
        lines += _opening(example, picture)
    lines += [
        "Each heading below is a claim, checked in this run against the installed Keras; every shape "
        "and number is what the run observed. Rendered by `pytest` (keras_rnn_spec/report.py) from the run's "
        "own test reports: nothing in it is written by hand.",
        "",
        "## Environment",
        "",
    ]
    labelled = [key for key in ENVIRONMENT_LABELS if key in environment]
    ordered = labelled + [key for key in environment if key not in ENVIRONMENT_LABELS]
    environment_rows = [[ENVIRONMENT_LABELS.get(key, key), cell(str(environment[key]))] for key in ordered]
    lines += table(["subject", "version"], environment_rows)

    lines += ["## This run", ""]
    tests = f"{len(results)} ran"
    if run.get("selected") is not None:
        collected = run["selected"] + (run.get("deselected") or 0)
        tests = f"{run['selected']} selected of {collected} collected, {len(results)} ran"
    run_rows = [
        ["selection", cell(run.get("selection", "the whole suite"))],
        ["tests", tests],
        ["verdict", describe_counts(counts)],
        ["reproducers", f"{sum(result.reproduced for result in results)} of the {len(results)} tests executed the reproducer their case prints and read what they check from it"],
    ]
    if run.get("session"):
        run_rows.append(["session", cell(run["session"])])
    if "results_file" in run:
        written = cell(code(run["results_file"])) if run["results_file"] else "none (`--report-log=PATH` writes one)"
        run_rows.append(["results file", written])
    lines += table(["run", ""], run_rows)

    if example is not None:
        lines += _notebook_example(example)
    uncollected = {nodeid.split("::")[0].rpartition("/")[2] for nodeid, _ in collection_errors}  # by file name, as chapters_on_disk names them
    lines += _contents(chapters, chapters_on_disk, uncollected)
    lines += _known_differences(chapters)
    lines += _structures([result for chapter in chapters for result in chapter.results])
    lines += _export_listings([result for chapter in chapters for result in chapter.results])
    lines += _failures(chapters, collection_errors)
    for chapter in chapters:
        lines += _chapter(chapter)
    return "\n".join(lines).rstrip("\n") + "\n"


def notebook_example(results) -> dict | None:
    """The notebook example keras_rnn_spec/test_notebook.py recorded, or None when that test did not run."""
    recorded = (value for result in results for what, value in result.observations if what == NOTEBOOK_EXAMPLE)
    return next(recorded, None)


def _returned(entry: dict) -> str:
    """What one configuration returned: each tensor's name and shape, the output said to be every step or the last."""
    parts = [f"{name} {describe_shape(shape)}" for name, shape in zip(entry["names"], entry["shapes"])]
    parts[0] += ": every step" if entry["flags"]["return_sequences"] else ": the last step"
    return ", ".join(parts)


def _opening(example: dict, picture: str) -> list[str]:
    """The first screen: the answer in one sentence, what the four configurations returned, the picture,
    and the first sample's numbers: the sequence, its last step beside the output and h, and c."""
    returns = {(e["flags"]["return_sequences"], e["flags"]["return_state"]): e for e in example["returns"]}
    sequence_shape = describe_shape(returns[True, False]["shapes"][0])
    output_shape = describe_shape(returns[False, False]["shapes"][0])
    states = returns[False, True]["names"][1:]
    lines = [
        "**return_sequences or return_state?** `return_sequences=True` makes the output the hidden state "
        f"of every step, {sequence_shape}, instead of the last step's alone, {output_shape}; `return_state=True` "
        f"returns, after that output, the layer's final states ({', '.join(states)}): h is the last step's "
        "output again, and the LSTM's cell state c is returned by nothing else. What LSTM(5) returned on "
        "the notebook's x of shape (2, 10, 3) in this run:",
        "",
    ]
    rows = [
        [str(sequences), str(state), cell(_returned(returns[sequences, state]))]
        for sequences, state in ((False, False), (True, False), (False, True), (True, True))
    ]
    lines += table(["`return_sequences`", "`return_state`", "LSTM(5) returns"], rows)
    if picture:
        lines += [f"![What each configuration returns: the steps of sample 0, the returned ones marked]({picture})", ""]
    lines += ["The first sample's numbers (the notebook's In [5] and In [6], below), to 4 decimals:", ""]
    lines += fenced(_sample_numbers(example["sample"]), "text")
    return lines


def _sample_numbers(sample: dict) -> str:
    """The sequence step by step, then the output, h and c under its last step, each with what it equals."""
    def row(values) -> str:
        return "[" + " ".join(f"{value:8.4f}" for value in values) + "]"

    sequence = sample["sequence"]
    last = len(sequence)
    lines = [f"{'step':>9}  sequence[0], step by step (return_sequences=True)"]
    lines += [f"{step:>9}  {row(values)}" for step, values in enumerate(sequence, start=1)]
    for name in ("output", "h", "c"):
        if name not in sample:
            continue
        difference = max(abs(a - b) for a, b in zip(sample[name], sequence[-1]))
        if difference == 0:
            note = f"= step {last}"
        elif name == "c":
            note = "the cell state: no step of the sequence"
        else:
            note = f"step {last}, within {describe_number(difference)}"
        lines.append(f"{name + '[0]':>9}  {row(sample[name])}  {note}")
    return "\n".join(lines)


# The picture: one band per configuration, the steps of sample 0 as columns of coloured units.
UNIT_W, UNIT_H, STEP_GAP, BAND_H, LEFT, TOP = 16, 9, 5, 95, 190, 64


def _colour(value: float, scale: float) -> str:
    """Blue for negative, red for positive, white for zero, saturating at `scale`."""
    strength = min(abs(value) / scale, 1.0) if scale else 0.0
    fade = round(255 * (1 - strength))
    return f"rgb(255,{fade},{fade})" if value > 0 else f"rgb({fade},{fade},255)"


def returns_picture(example: dict) -> str:
    """An SVG drawing, from the notebook example's numbers, of what each configuration returns: the
    timeline of steps 1..T of sample 0 (one coloured cell per unit), the returned steps in full colour
    and framed, the others faded; h and c as boxes of their own. Each cell's <title> is its value."""
    sample = example["sample"]
    sequence = sample["sequence"]
    steps, units = len(sequence), len(sequence[0])
    values = [v for name in sample for v in (sample[name] if name != "sequence" else [x for row in sequence for x in row])]
    scale = max(abs(v) for v in values) or 1.0
    step_w = UNIT_W + STEP_GAP
    strip_h = units * UNIT_H
    boxes_x = LEFT + steps * step_w + 30
    width = boxes_x + 2 * (UNIT_W + 50) + 10
    height = TOP + len(example["returns"]) * BAND_H + 30
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="20" font-size="14" font-weight="bold">What LSTM({units}) returns: sample 0 of x, '
        f'{steps} steps, this run\'s values</text>',
        '<text x="10" y="38" fill="#555">Each column is one step, each cell one unit. Framed and in colour: returned;</text>',
        '<text x="10" y="54" fill="#555">faded: computed, not returned.</text>',
    ]

    def strip(x, y, column, label, returned):
        group = [f'<g opacity="{1 if returned else 0.25}">']
        for unit, value in enumerate(column):
            group.append(
                f'<rect x="{x}" y="{y + unit * UNIT_H}" width="{UNIT_W}" height="{UNIT_H}" fill="{_colour(value, scale)}" '
                f'stroke="#ccc" stroke-width="0.5"><title>{label}[{unit}] = {value!r}</title></rect>'
            )
        return [*group, "</g>"]

    for band, entry in enumerate(example["returns"]):
        top = TOP + band * BAND_H
        flags = entry["flags"]
        strip_y = top + 28
        for line, (text, style) in enumerate(
            [
                (f"return_sequences={flags['return_sequences']}", 'font-weight="bold"'),
                (f"return_state={flags['return_state']}", 'font-weight="bold"'),
                ("returns " + ", ".join(name.split()[-1] for name in entry["names"]), 'fill="#555"'),
            ]
        ):
            out.append(f'<text x="10" y="{strip_y + 8 + line * 16}" {style}>{escape_xml(text)}</text>')
        for step, column in enumerate(sequence):
            x = LEFT + step * step_w
            returned = flags["return_sequences"] or step == steps - 1
            out += strip(x, strip_y, column, f"sequence[0, {step}]", returned)
            out.append(f'<text x="{x + UNIT_W / 2}" y="{strip_y + strip_h + 13}" font-size="9" text-anchor="middle">{step + 1}</text>')
        if flags["return_sequences"]:
            first, label = LEFT, f"output {describe_shape(entry['shapes'][0])}: every step"
        else:
            first, label = LEFT + (steps - 1) * step_w, f"output {describe_shape(entry['shapes'][0])}: the last step"
        last = LEFT + steps * step_w - STEP_GAP
        out.append(f'<rect x="{first - 2}" y="{strip_y - 2}" width="{last - first + 4}" height="{strip_h + 4}" '
                   'fill="none" stroke="black" stroke-width="2"/>')
        out.append(f'<text x="{last}" y="{strip_y - 6}" text-anchor="end">{label}</text>')
        if flags["return_state"]:
            for index, name in enumerate(entry["names"][1:]):
                key = name.split()[-1]
                x = boxes_x + index * (UNIT_W + 50)
                out += strip(x, strip_y, sample[key], key, True)
                dashed = ' stroke-dasharray="4 2"' if key == "c" else ""
                out.append(f'<rect x="{x - 2}" y="{strip_y - 2}" width="{UNIT_W + 4}" height="{strip_h + 4}" fill="none" '
                           f'stroke="black" stroke-width="2"{dashed}/>')
                out.append(f'<text x="{x + UNIT_W / 2}" y="{strip_y - 6}" text-anchor="middle">{escape_xml(name)}</text>')
                note = "= last step" if key == "h" else "cell state"
                out.append(f'<text x="{x + UNIT_W / 2}" y="{strip_y + strip_h + 13}" font-size="9" text-anchor="middle">{note}</text>')
    legend_y = height - 12
    out.append(f'<text x="10" y="{legend_y}" fill="#555">colour: blue negative, white 0, red positive; full colour at |value| = '
               f'{describe_number(scale)}</text>')
    return "\n".join([*out, "</svg>", ""])


def _notebook_example(example: dict) -> list[str]:
    """The notes' In [5] as this run computed it: its code, what it printed, the equalities the notes point out."""
    lines = [
        "## The notebook's example, computed by this run",
        "",
        "The notes' cell In [5]: LSTM(5) with `return_state=True` on N(0, 1) data of shape (2, 10, 3), "
        "through `Model.predict`, default initialisers after `keras.utils.set_random_seed(2)`. The notes' own "
        "numbers came from TensorFlow 1's initialisers; these are this run's.",
        "",
        *fenced(example["code"], "python"),
        "It printed:",
        "",
        *fenced(example["printed"], "text"),
    ]
    for sentence, measure, value in example["equalities"]:
        lines.append(f"- {prose(sentence)}: {code(measure)} = {describe_number(value)}")
    return [*lines, ""]


def _contents(chapters, chapters_on_disk, uncollected) -> list[str]:
    """Every chapter of the suite in number order: those that ran with their verdicts, the others named."""
    ran = {chapter.module for chapter in chapters}
    entries = []  # (sort key, row)
    for chapter in chapters:
        link = f"[{cell(chapter.heading)}](#{slug(chapter.heading)})"
        results = chapter.results
        row = [link, str(len(chapter.claims)), str(len(results)), f"{verdict(results)}: {describe_counts(count(results))}"]
        entries.append(((chapter.number is None, chapter.number or 0, chapter.module), row))
    for number, title, module in chapters_on_disk:
        if module not in ran:
            heading = f"Chapter {number}: {title}" if number is not None else module
            status = "could not be collected" if module in uncollected else "not in this run"
            entries.append(((number is None, number or 0, module), [cell(heading), "", "", status]))
    rows = [row for _, row in sorted(entries, key=lambda entry: entry[0])]
    return ["## Chapters", "", *table(["chapter", "claims", "tests", "verdict"], rows)]


def _structures(results) -> list[str]:
    configurations, structures = returned_structures(results)
    if not structures:
        return []
    lines = [
        "## What comes back",
        "",
        "The first returned structure observed in this run for each layer and flag configuration, "
        "in chapter order (names and shapes, as the claims recorded them).",
        "",
    ]
    rows = [[cell(layer)] + [cell(row.get(c, "")) for c in configurations] for layer, row in structures.items()]
    return lines + table(["layer", *(cell(c) for c in configurations)], rows)


def _export_listings(results) -> list[str]:
    """Chapter 22's tables: per route, what it lists for the widest one-layer model it ran (most
    outputs, a sequence first), the widest Bidirectional model and the widest streaming model (its
    inputs), each output with the Keras output it holds, beside Keras' order."""
    listings = [value for result in results for what, value in result.observations if what == EXPORT_LISTING]
    if not listings:
        return []
    lines = [
        "## After export: what each route lists",
        "",
        "Chapter 22's models as each runtime lists their outputs (or the streaming model's inputs), in the "
        "runtime's own order, each output with the Keras output it holds (by value). Each route shows the "
        "widest model it ran; a route that refused every such model is not in the table (the chapter says "
        "which step refused).",
        "",
    ]
    kinds = (
        ("one layer", "outputs", lambda v: not v["model"].startswith("Bidirectional") and not v["model"].endswith("-streaming")),
        ("Bidirectional", "outputs", lambda v: v["model"].startswith("Bidirectional")),
        ("streaming", "inputs", lambda v: v["model"].endswith("-streaming")),
    )
    for title, shown, chosen in kinds:
        widest: dict = {}  # route -> its listing of the widest model: most entries, a sequence first
        for value in filter(chosen, listings):
            key = (len(value["keras" if shown == "outputs" else "keras_inputs"]), value["keras"][0] == "sequence")
            if value["route"] not in widest or key > widest[value["route"]][0]:
                widest[value["route"]] = (key, value)
        if not widest:
            continue
        rows = []
        for route, (_, value) in widest.items():
            keras = value["keras" if shown == "outputs" else "keras_inputs"]
            rows.append([code(route), code(value["model"]), cell(", ".join(keras)), cell(", ".join(value[shown]))])
        lines += [f"{title.capitalize() if title[0].islower() else title}, its {shown}:", ""]
        lines += table(["route", "model", f"Keras' {shown}", f"{shown}, as the runtime lists them"], rows)
    return lines


def _failures(chapters, collection_errors) -> list[str]:
    failing = [
        (chapter, claim) for chapter in chapters for claim in chapter.claims.values() if verdict(claim.results) == "fails"
    ]
    if not failing and not collection_errors:
        return []
    lines = ["## Failed in this run", ""]
    for chapter, claim in failing:
        cases = [r.case or r.nodeid for r in claim.results if r.outcome in BAD or r.outcome == "xpassed"]
        where = f"[{prose(chapter.heading)}](#{slug(chapter.heading)})"
        lines.append(f"- {where}: {prose(claim.sentence)} ({', '.join(code(c) for c in cases)})")
    for nodeid, message in collection_errors:
        last_line = message.strip().splitlines()[-1].removeprefix("E").strip() if message.strip() else ""
        lines.append(f"- could not collect {code(nodeid)}: {prose(last_line)}")
    lines.append("")
    for nodeid, message in collection_errors:
        lines += [f"**{prose(nodeid)} could not be collected:**", "", *fenced(message, "text")]
    return lines


def _chapter(chapter: Chapter) -> list[str]:
    results = chapter.results
    lines = [f"## {prose(chapter.heading)}", ""]
    lines += [f"{code(chapter.module)} · {verdict(results)}: {describe_counts(count(results))}", ""]
    if chapter.intro:
        lines += [prose(chapter.intro), ""]
    for claim in chapter.claims.values():
        lines += _claim(claim)
    return lines


def _claim(claim: Claim) -> list[str]:
    lines = [f"### {prose(claim.sentence)}", ""]
    lines += [f"{code(claim.test)} · {verdict(claim.results)}: {describe_counts(count(claim.results))}", ""]
    if claim.details:
        lines += [prose(claim.details), ""]
    if claim.snippet:
        if claim.snippet_case:
            lines += [f"Keras code for the case {code(claim.snippet_case)}:", ""]
        lines += fenced(claim.snippet, "python")
    rows = [[", ".join(cell(code(case)) for case in cases) or "(one case)", shown, observed] for cases, shown, observed in grouped(claim.results)]
    lines += table(["cases" if len(claim.results) > 1 else "case", "verdict", "observed"], rows)
    for result in claim.results:
        if result.outcome in BAD or result.outcome == "xpassed":
            lines += [f"**{code(result.case or result.nodeid)} {result.outcome}:**", "", *fenced(result.detail, "text")]
    return lines


def grouped(results) -> list[tuple[list[str], str, str]]:
    """(cases, verdict cell, observed cell) with one row per distinct verdict and observation, in the
    order of each group's first case. Observations that differ only in their largest differences are one
    row: a number all its cases share is shown as it is, else "<= the largest"."""
    groups: dict[tuple[str, str], tuple[list[str], list[list[float]]]] = {}
    for result in results:
        observed = "<br>".join(cell(line) for line in describe_observations(result.observations))
        numbers = [float(number) for _, number in DIFFERENCE_NUMBER.findall(observed)]
        key = (_verdict_cell(result), DIFFERENCE_NUMBER.sub(lambda m: m[1] + "#", observed))
        cases, seen = groups.setdefault(key, ([], []))
        cases.append(result.case)
        seen.append(numbers)
    rows = []
    for (shown, template), (cases, seen) in groups.items():
        columns = iter(zip(*seen))

        def number(match):
            column = next(columns)
            shared = len(set(column)) == 1
            return match[1] + ("" if shared else "<= ") + describe_number(max(column))

        rows.append(([case for case in cases if case], shown, DIFFERENCE_NUMBER.sub(number, template)))
    return rows


def _verdict_cell(result: Result) -> str:
    if result.outcome in BAD or result.outcome == "xpassed":
        return f"**{result.outcome}** (below)"
    known = DESCRIBED_DIFFERENCE.fullmatch(result.detail) if result.outcome == "xfailed" else None
    if known:  # stated once, in the known differences section
        return f"xfailed: known difference {code(known['id'])}"
    if result.outcome in ("xfailed", "skipped"):
        return cell(f"{result.outcome}: {result.detail}")
    return result.outcome


def _known_differences(chapters) -> list[str]:
    """Each known difference that applied in this run, once: its id, condition, what is observed, its
    source, and the cases it applied to, claim by claim."""
    found: dict[str, tuple[dict, dict]] = {}  # id -> (its description's parts, claim heading -> cases)
    for chapter in chapters:
        for claim in chapter.claims.values():
            for result in claim.results:
                described = [result.detail] if result.outcome == "xfailed" else []
                described += [v["detail"] for what, v in result.observations if what == KNOWN_DIFFERENCE and isinstance(v, dict)]
                for text in described:
                    match = DESCRIBED_DIFFERENCE.fullmatch(text)
                    if match:
                        parts, claims = found.setdefault(match["id"], (match.groupdict(), {}))
                        claims.setdefault((chapter.heading, claim.sentence), []).append(result.case or result.nodeid)
    if not found:
        return []
    lines = [
        "## Known differences",
        "",
        "Where the installed subject departs from a claim (its cases are expected failures, xfailed) or answers "
        "otherwise where the spec allows it, as the known differences table (keras_rnn_spec/known_differences.toml) "
        "states it. Each is stated once here; the tables below name it by id.",
        "",
    ]
    for identifier, (parts, claims) in found.items():
        lines += [f"**{code(identifier)}** (when: {prose(parts['when'])}): {prose(parts['observed'])}", ""]
        lines += [f"Source: {prose(parts['source'])}", ""]
        for (heading, sentence), cases in claims.items():
            where = f"[{prose(heading)}](#{slug(heading)})"
            lines.append(f"- {where}, {prose(sentence)} {len(cases)} case{'s' * (len(cases) != 1)}: {', '.join(code(c) for c in cases)}")
        lines.append("")
    return lines


# ---------------------------------------------------------------------------------------------
# Terminal


# A claim's verdict as a mark in the margin, and the colour of its line.
MARKS = {
    "fails": ("FAIL", "red"),
    "holds": ("ok", "green"),
    "holds, with known differences": ("ok", "green"),
    "known difference": ("xfail", "yellow"),
    "not checked": ("skip", "yellow"),
}


def terminal_lines(results: list[Result]) -> list[tuple[str, str]]:
    """The spec as short lines, each with its colour ("" for none): chapters, claims, their cases."""
    lines = []
    for chapter in chapters_from_results(results):
        lines.append((chapter.heading, ""))
        for claim in chapter.claims.values():
            mark, colour = MARKS[verdict(claim.results)]
            lines.append((f"  {mark:<5} {claim.sentence}", colour))
            for outcome in OUTCOMES:
                cases = [r for r in claim.results if r.outcome == outcome]
                if cases:
                    lines.append((f"          {outcome} for {_which(cases, list_all=outcome != 'passed')}", ""))
    return lines


def _which(results, *, list_all: bool) -> str:
    """The cases, by name where few or where each matters, else as layers x configurations x paths."""
    names = [r.case for r in results if r.case]
    if not names:
        return f"{len(results)} test" + ("s" if len(results) != 1 else "")
    if list_all or len(names) <= 3:
        return ", ".join(names)
    keys = ("layer", "configuration", "path")
    axes = [list(dict.fromkeys(r.meta.get(key) for r in results)) for key in keys]
    known = [axis for axis in axes if None not in axis]
    distinct = {tuple(r.meta.get(key) for key in keys) for r in results}
    if known and math.prod(len(axis) for axis in known) == len(results) == len(distinct):
        return " x ".join(", ".join(axis) for axis in known) + f" ({len(results)} cases)"
    if None in axes[0]:
        return f"{len(results)} cases"
    return f"{', '.join(axes[0])} ({len(results)} cases)"
