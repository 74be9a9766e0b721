"""Self-tests of the compatibility matrix (tools/compatibility.py): the document a person reads,
rendered by a real Markdown library; every bad input and --output refused with one line; revisions
merged only when they are one suite; `--check` failing when docs/compatibility.md has fallen behind.

The results files are written here, in pytest-reportlog's format (one JSON record per line, the
"spec" user property keras_rnn_spec/report.py adds), rather than read from results/: each test states the
runs it merges.
"""

import gzip
import json
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

import bad_outputs
from keras_rnn_spec import report_render
from tools import compatibility

WHOLE_SUITE = "the whole suite (`spec`)"
REVISION = "1234abc"


def report_record(module, test, sentence, case, outcome, reason, environment, order, observations=()):
    """One test's call phase as pytest-reportlog writes it."""
    meta = {"module": module, "chapter": 1, "chapter_title": "Chapter one", "test": test, "claim": sentence}
    meta.update(case=case, order=order, environment=environment)
    record = {"$report_type": "TestReport", "nodeid": f"{module}::{test}[{case}]", "when": "call", "longrepr": None}
    record["user_properties"] = [["spec", meta], *(["known difference", {"detail": d}] for d in observations)]
    if outcome == "xfailed":  # a strict xfail: skipped, with the known difference as its reason
        return {**record, "outcome": "skipped", "wasxfail": reason}
    return {**record, "outcome": outcome}


def write_results(path, name, claims, *, revision=REVISION, selection=WHOLE_SUITE, whole=True, exitstatus=0, ran=None):
    """A results file of environment `name`: claims is [(module, test, sentence, [(case, outcome, reason)])]."""
    environment = {"python": "3.11.7", "keras": "3.15.1 (keras)", "backend": "tensorflow", "suite revision": revision}
    environment["environment"] = name
    records = [{"pytest_version": "9.0.3", "$report_type": "SessionStart"}]
    for module, test, sentence, cases in claims:
        for case, outcome, reason, *observations in cases:
            order = len(records) - 1
            records.append(report_record(module, test, sentence, case, outcome, reason, environment, order, *observations))
    if selection is not None:  # what keras_rnn_spec/report.py records on a run's first test
        first = records[1]["user_properties"][0][1]
        first.update({"selection": selection, "whole suite": whole, "selected": len(records) - 1})
    del records[1 + (len(records) - 1 if ran is None else ran) :]  # the tests that did not run (-x)
    if exitstatus is not None:
        records.append({"exitstatus": exitstatus, "$report_type": "SessionFinish"})
    text = "".join(json.dumps(record) + "\n" for record in records)
    path.write_bytes(gzip.compress(text.encode()) if path.suffix == ".gz" else text.encode())
    return path


ONE_CLAIM = [("test_a.py", "test_one", "Sentence one.", [("LSTM", "passed", "")])]
TWO_CLAIMS = [*ONE_CLAIM, ("test_a.py", "test_two", "Sentence two.", [("GRU", "passed", "")])]
SPEC_OF_TWO_CLAIMS = 'def test_one():\n    """Sentence one.\n\n    Details."""\n\n\ndef test_two():\n    """Sentence two."""\n'


def results_dir(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir(exist_ok=True)
    return folder


# ---------------------------------------------------------------------------------------------
# The document, rendered

MARKDOWN = MarkdownIt("commonmark").enable("table")


def rendered_texts(document: str) -> list[str]:
    """The text of each heading, paragraph and table cell as a reader sees it (markup other than
    code spans and line breaks shows as <token>, so that a leak is visible)."""
    def text(child):
        if child.type in ("text", "code_inline"):
            return child.content
        return "\n" if child.type in ("softbreak", "hardbreak") or child.content == "<br>" else f"<{child.type}>"

    return ["".join(map(text, token.children)) for token in MARKDOWN.parse(document) if token.type == "inline"]


# Markdown's markup in claim sentences and known differences: (as written, as a reader must see it).
SENTENCES = [
    ("In [5]: returns [_h, h, c]; |h| <= |tanh(c)| since h = o * tanh(c).", None),
    ("`__init__` and __init__ of `a|b`, x_y, _h_, 2*3*4, <b>, &amp; ~~no~~ $x$ # 1.", "__init__ and __init__ of a|b, x_y, _h_, 2*3*4, <b>, &amp; ~~no~~ $x$ # 1."),
    ("A \\ backslash, a [link](x) and ![image](y), then **bold**.", None),
]
DIFFERENCES = [
    "known difference k (keras <3): Keras 2.x SimpleRNN.__init__ pops `implementation` [source: RNN._validate_state_spec; a|b]",
    "known difference e (backend torch): IndexError 'index 0 is out of bounds' from sequences[:, 0] & *that* is <all>",
]


@pytest.fixture
def matrix(tmp_path):
    """A matrix of three environments whose claims and known differences hold Markdown's markup:
    the first difference applies (an xfail) in tf2.12 and tf2.13, the second (read by a claim) in tf2.13."""
    def claims(first_outcome, observations):
        return [
            ("test_a.py", "test_one", SENTENCES[0][0], [("LSTM", first_outcome, DIFFERENCES[0])]),
            ("test_a.py", "test_two", SENTENCES[1][0], [("GRU", "passed", "", observations)]),
            ("test_a.py", "test_three", SENTENCES[2][0], [("GRU", "passed", "")]),
        ]

    files = [
        write_results(results_dir(tmp_path) / "tf2.12.jsonl.gz", "tf2.12", claims("xfailed", [])),
        write_results(results_dir(tmp_path) / "tf2.13.jsonl.gz", "tf2.13", claims("xfailed", [DIFFERENCES[1]])),
        write_results(results_dir(tmp_path) / "keras3-jax.jsonl", "keras3-jax", claims("passed", [])),
    ]
    return compatibility.merge(files, tmp_path)


def test_claims_and_differences_render_exactly_as_written(matrix):
    """Rendered by a CommonMark library, every claim sentence and known difference reads as written: no backslash, no emphasis, no link."""
    texts = rendered_texts(matrix)

    for written, seen in SENTENCES:
        assert (seen or written) in texts
    for difference in DIFFERENCES:
        assert difference.replace("`", "") in texts
    assert "<em>" not in MARKDOWN.render(matrix) and "<a " not in MARKDOWN.render(matrix)


def test_each_known_difference_is_listed_once_with_its_environments(matrix):
    """Each known difference that applied is listed once, followed by the environments it applied in."""
    texts = rendered_texts(matrix)

    first, second = (texts.index(difference.replace("`", "")) for difference in DIFFERENCES)
    assert [texts.count(difference.replace("`", "")) for difference in DIFFERENCES] == [1, 1]
    assert texts[first + 1] == "Applied in tf2.12, tf2.13."
    assert texts[second + 1] == "Applied in tf2.13."
    assert "None applied in keras3-jax." in texts


def test_the_differences_table_holds_the_claims_not_passing_alike_everywhere(tmp_path):
    """The table above the full one holds the claims whose cell is not the same `pass N` in every environment."""
    def claims(second_cases, third_outcome):
        return [
            ("test_a.py", "test_alike", "Passes alike.", [("LSTM", "passed", "")]),
            ("test_a.py", "test_count", "Passes, with more cases in one.", second_cases),
            ("test_a.py", "test_xfail", "Fails as known in one.", [("LSTM", third_outcome, "known difference k")]),
            ("test_a.py", "test_known", "Fails as known everywhere.", [("LSTM", "xfailed", "known difference k")]),
        ]

    one, two = [("LSTM", "passed", "")], [("LSTM", "passed", ""), ("GRU", "passed", "")]
    files = [
        write_results(tmp_path / "tf2.12.jsonl", "tf2.12", claims(one, "xfailed")),
        write_results(tmp_path / "tf2.13.jsonl", "tf2.13", claims(two, "passed")),
    ]
    document = compatibility.merge(files, tmp_path)
    differing = document.partition("## Claims that differ between environments")[2].partition("## Claims by environment")[0]

    assert [line.strip("| ").split(" | ")[1:] for line in differing.splitlines() if line.startswith("| 1 ")] == [
        ["Passes, with more cases in one.", "pass 1", "pass 2"],
        ["Fails as known in one.", "1 xfailed", "pass 1"],
        ["Fails as known everywhere.", "1 xfailed", "1 xfailed"],
    ]


def test_no_differing_claim_is_said_in_one_line(tmp_path):
    """When every claim passes alike everywhere, the differences table is one line saying so."""
    files = [write_results(tmp_path / f"{name}.jsonl", name, ONE_CLAIM) for name in ("tf2.12", "tf2.13")]

    differing = compatibility.merge(files, tmp_path).partition("## Claims that differ between environments\n\n")[2]

    assert differing.partition("\n\n")[0] == (
        "None: every claim passed all its cases, the same number of them, in every environment."
    )


@settings(max_examples=300)
@given(st.text(alphabet="ab1 _*|[]()<>&#;:!~$\\-=+./", min_size=1).map(str.strip).filter(bool))
def test_any_text_without_backticks_reads_in_a_table_cell_as_written(text):
    """Text of Markdown's punctuation, escaped once by `cell`, renders in a table cell exactly as written."""
    document = f"| a |\n|---|\n| {report_render.cell(text)} |\n"

    assert rendered_texts(document)[1] == text


# ---------------------------------------------------------------------------------------------
# Output and bad input


def test_without_output_the_matrix_goes_to_stdout_and_nothing_is_written(tmp_path, monkeypatch, capsys):
    """Without --output the matrix is printed, and no file (docs/compatibility.md least of all) is written."""
    results = write_results(tmp_path / "tf2.12.jsonl", "tf2.12", ONE_CLAIM)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(compatibility, "ROOT", tmp_path)  # the checkout's docs/, were it written

    assert compatibility.main([str(results)]) == 0

    assert capsys.readouterr().out == compatibility.merge([results], tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tf2.12.jsonl"]


def corrupt_gzip(path):
    path.write_bytes(b"\x1f\x8b\x08\x00 not deflate data")


def truncated_gzip(path):
    write_results(path, "x", ONE_CLAIM)
    path.write_bytes(path.read_bytes()[:-30])


def truncated_lines(path):
    write_results(path, "x", ONE_CLAIM)
    text = path.read_text()
    path.write_text(text[: len(text) // 2])  # within the test's record, line 2


def benchmark_json(path):
    path.write_text(json.dumps({"machine_info": {}, "benchmarks": [], "datetime": ""}, indent=4))


BAD_INPUTS = {
    # name: (file name, how to make it, what the message must say)
    "missing": ("tf2.12.jsonl.gz", lambda path: None, "no such file"),
    "corrupt gzip": ("tf2.12.jsonl.gz", corrupt_gzip, "corrupt or truncated gzip"),
    "truncated gzip": ("tf2.12.jsonl.gz", truncated_gzip, "corrupt or truncated gzip"),
    "truncated JSON lines": ("tf2.12.jsonl", truncated_lines, "line 2 is not JSON"),
    "not text": ("tf2.12.jsonl", lambda path: path.write_bytes(b"\xff\xfe\x00"), "neither gzip nor UTF-8"),
    "empty": ("tf2.12.jsonl", lambda path: path.write_text(""), "no test results"),
    "a pytest-benchmark JSON": ("run.json", benchmark_json, "a pytest-benchmark JSON"),
    "a partial run": ("tf2.12.jsonl", lambda path: write_results(path, "x", ONE_CLAIM, selection="-k `masking`", whole=False), "a partial run (-k `masking`)"),
    "a run on other layers": ("tf2.12.jsonl", lambda path: write_results(path, "x", ONE_CLAIM, selection="the whole suite (`spec`); SPEC_LAYERS=my:LAYERS", whole=False), "SPEC_LAYERS=my:LAYERS), not the whole suite on Keras' own layers"),
    "a run stopped early": ("tf2.12.jsonl", lambda path: write_results(path, "x", TWO_CLAIMS, ran=1), "1 of its 2 selected tests ran"),
    "no selection recorded": ("tf2.12.jsonl", lambda path: write_results(path, "x", ONE_CLAIM, selection=None), "does not record whether it ran the whole suite"),
    "a directory": ("tf2.12.jsonl", lambda path: path.mkdir(), "cannot be read (Is a directory)"),
    "an unfinished run": ("tf2.12.jsonl", lambda path: write_results(path, "x", ONE_CLAIM, exitstatus=None), "did not finish"),
    "an interrupted run": ("tf2.12.jsonl", lambda path: write_results(path, "x", ONE_CLAIM, exitstatus=2), "exit status 2"),
    "a dirty revision": ("tf2.12.jsonl", lambda path: write_results(path, "x", ONE_CLAIM, revision="1234abc-dirty"), "(1234abc-dirty): not a run of a commit"),
    "an unknown revision": ("tf2.12.jsonl", lambda path: write_results(path, "x", ONE_CLAIM, revision="unknown"), "(unknown): not a run of a commit"),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_is_refused_in_one_line_naming_the_file(tmp_path, name):
    """A results file that is not a finished run of the whole suite at a commit is refused with one line naming it, and nothing is written."""
    file_name, make, problem = BAD_INPUTS[name]
    bad = tmp_path / file_name
    make(bad)
    good = write_results(tmp_path / "tf2.21.jsonl", "tf2.21", ONE_CLAIM)
    output = tmp_path / "out" / "compatibility.md"

    with pytest.raises(SystemExit) as refused:
        compatibility.main([str(good), str(bad), "--output", str(output)])

    message = str(refused.value.code)
    assert message.startswith(str(bad)) and problem in message and "\n" not in message
    assert not output.parent.exists()


def test_two_files_of_one_environment_are_refused_naming_both(tmp_path):
    """Two results files of the same environment are refused with one line naming both."""
    first = write_results(results_dir(tmp_path) / "tf2.12.jsonl.gz", "tf2.12", ONE_CLAIM)
    second = write_results(tmp_path / "copy.jsonl", "tf2.12", ONE_CLAIM)
    output = tmp_path / "out.md"

    with pytest.raises(SystemExit) as refused:
        compatibility.main([str(first), str(second), "--output", str(output)])

    assert str(refused.value.code) == f"{first} and {second}: both hold environment tf2.12: give one results file per environment"
    assert not output.exists()


@pytest.mark.parametrize(("output", "made", "read_only", "problem"), bad_outputs.BAD_OUTPUTS)
def test_an_output_no_file_can_be_written_at_is_refused_in_one_line(tmp_path, output, made, read_only, problem):
    """An --output that is a directory, lies under a file or may not be written is refused with one line naming --output, and nothing is written."""
    results = write_results(tmp_path / "tf2.21.jsonl", "tf2.21", ONE_CLAIM)
    output = tmp_path / output.format(name="compatibility.md")
    before = bad_outputs.make(tmp_path, made, read_only, "compatibility.md")

    with pytest.raises(SystemExit) as refused:
        compatibility.main([str(results), "--output", str(output)])

    message = str(refused.value.code)
    assert message.startswith(f"--output {output}: ") and problem in message and "\n" not in message
    assert bad_outputs.holds(tmp_path) == before


# ---------------------------------------------------------------------------------------------
# Revisions: one suite, perhaps several commits


def git(repository, *arguments) -> str:
    identity = ["-c", "user.name=self-test", "-c", "user.email=self-test@example.invalid", "-c", "commit.gpgsign=false"]
    done = subprocess.run(["git", *identity, *arguments], cwd=repository, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit(repository, files: dict[str, str]) -> str:
    """Write the files, commit them, and return the commit as keras_rnn_spec/revision.py names it (7 digits)."""
    for name, text in files.items():
        (repository / name).parent.mkdir(parents=True, exist_ok=True)
        (repository / name).write_text(text)
    git(repository, "add", "--all")
    git(repository, "commit", "--quiet", "--message", "self-test commit")
    return git(repository, "rev-parse", "--short=7", "HEAD")


@pytest.fixture
def repository(tmp_path, monkeypatch):
    """A git checkout with a one-claim keras_rnn_spec/, as the checkout the tool reads (its ROOT)."""
    root = tmp_path / "checkout"
    root.mkdir()
    git(root, "init", "--quiet")
    monkeypatch.setattr(compatibility, "ROOT", root)
    return root


def test_commits_of_one_suite_merge_under_the_newest(repository, tmp_path):
    """Files from commits whose suite files are the same merge; the document names the newest and says the others ran the same suite."""
    first = commit(repository, {"keras_rnn_spec/test_a.py": SPEC_OF_TWO_CLAIMS})
    second = commit(repository, {"results/tf2.12.jsonl": "results", "docs/compatibility.md": "a document"})
    files = [
        write_results(tmp_path / "tf2.12.jsonl", "tf2.12", ONE_CLAIM, revision=first),
        write_results(tmp_path / "tf2.13.jsonl", "tf2.13", ONE_CLAIM, revision=second),
    ]

    document = compatibility.merge(files, repository)

    assert f"from the results files of suite revision `{second}`" in document
    assert f"tf2.12 ran at `{first}`: the same suite (no file of it differs from `{second}`)." in document


def test_commits_of_different_suites_are_refused_naming_files_revisions_and_changes(repository, tmp_path):
    """Files from commits whose suite differs are refused with one line naming the files, their revisions and the changed suite files."""
    first = commit(repository, {"keras_rnn_spec/test_a.py": SPEC_OF_TWO_CLAIMS})
    second = commit(repository, {"keras_rnn_spec/test_a.py": SPEC_OF_TWO_CLAIMS + "# changed\n", "noxfile.py": ""})
    older = write_results(tmp_path / "tf2.12.jsonl", "tf2.12", ONE_CLAIM, revision=first)
    newer = write_results(tmp_path / "tf2.13.jsonl", "tf2.13", ONE_CLAIM, revision=second)

    with pytest.raises(SystemExit) as refused:
        compatibility.merge([older, newer], repository)

    assert str(refused.value.code) == (
        f"{older} ({first}), {newer} ({second}): results of different suites (keras_rnn_spec/test_a.py, noxfile.py differ "
        f"between {first} and {second}): rerun the environments of {first} at {second}"
    )


def test_commits_this_checkout_lacks_are_refused_naming_them(repository, tmp_path):
    """A revision this checkout does not have is refused with one line naming its file and pointing to a clone that has it."""
    known = commit(repository, {"keras_rnn_spec/test_a.py": SPEC_OF_TWO_CLAIMS})
    ours = write_results(tmp_path / "tf2.12.jsonl", "tf2.12", ONE_CLAIM, revision=known)
    theirs = write_results(tmp_path / "tf2.13.jsonl", "tf2.13", ONE_CLAIM, revision="fedcba9")

    with pytest.raises(SystemExit) as refused:
        compatibility.merge([ours, theirs], repository)

    message = str(refused.value.code)
    assert message.startswith(f"{theirs} (fedcba9): this checkout ({repository}) does not have revision fedcba9")
    assert message.endswith("run the merge in a clone that has those commits") and str(ours) not in message


# ---------------------------------------------------------------------------------------------
# --check


@pytest.fixture
def checked(repository, tmp_path):
    """A checkout whose two claims the results file holds, and the document merged from it."""
    revision = commit(repository, {"keras_rnn_spec/test_a.py": SPEC_OF_TWO_CLAIMS})
    results = write_results(tmp_path / "tf2.21.jsonl", "tf2.21", TWO_CLAIMS, revision=revision)
    document = repository / "docs" / "compatibility.md"
    document.parent.mkdir()
    compatibility.main([str(results), "--output", str(document)])
    return results, document


def check(results, capsys) -> tuple[int, list[str]]:
    capsys.readouterr()
    status = compatibility.main([str(results), "--check"])
    return status, capsys.readouterr().out.splitlines()


def test_check_passes_when_only_results_and_documents_changed_since(checked, repository, capsys):
    """--check passes on a checkout where only results and documents were committed since the results' revision."""
    results, _ = checked
    commit(repository, {"results/tf2.21.jsonl": results.read_text(), "README.md": "more prose"})

    assert check(results, capsys) == (0, ["up to date: 1 results files, the claims of keras_rnn_spec/"])


def test_check_fails_when_the_document_differs_from_the_merge(checked, capsys):
    """--check fails, naming the document, when it is not what merging the results gives now."""
    results, document = checked
    document.write_text(document.read_text().replace("pass 1", "pass 2"))

    assert check(results, capsys) == (
        1,
        [f"{document}: differs from the merge of the given results files: regenerate it (the same command with "
         f"--output {document} instead of --check)"],
    )


def test_check_fails_when_claims_were_added_or_removed_since_the_results(checked, repository, capsys):
    """--check fails with a line per claim (module and function) added or removed in keras_rnn_spec/ since the results were run."""
    results, _ = checked
    (repository / "keras_rnn_spec" / "test_a.py").write_text(SPEC_OF_TWO_CLAIMS.partition("\n\n\ndef test_two")[0])
    (repository / "keras_rnn_spec" / "test_b.py").write_text('def test_new():\n    """A new claim."""\n\n\ndef helper():\n    pass\n')

    assert check(results, capsys) == (
        1,
        [
            "test_b.py::test_new: a claim of the spec in no results file ('A new claim.'): rerun the matrix",
            "test_a.py::test_two: in the results but no longer in the spec ('Sentence two.'): rerun the matrix",
        ],
    )


def test_a_reworded_sentence_needs_the_document_regenerated_not_the_matrix_rerun(checked, repository, capsys):
    """A claim is its function: after its sentence is reworded, --check asks for the document anew, which reads as the spec now words it."""
    results, document = checked
    (repository / "keras_rnn_spec" / "test_a.py").write_text(SPEC_OF_TWO_CLAIMS.replace("Sentence one.", "Sentence one, reworded."))

    assert check(results, capsys) == (
        1,
        [f"{document}: differs from the merge of the given results files: regenerate it (the same command with "
         f"--output {document} instead of --check)"],
    )
    compatibility.main([str(results), "--output", str(document)])
    assert "Sentence one, reworded." in document.read_text() and "Sentence one." not in document.read_text()
    assert check(results, capsys) == (0, ["up to date: 1 results files, the claims of keras_rnn_spec/"])


def test_check_notes_suite_changes_that_leave_the_claims_alone(checked, repository, capsys):
    """--check passes but says so when suite files changed since the results' revision and the claims did not."""
    results, _ = checked
    revision = git(repository, "rev-parse", "--short=7", "HEAD")
    commit(repository, {"keras_rnn_spec/reference.py": "STEP = 1\n"})

    assert check(results, capsys) == (
        0,
        [
            f"note: suite files changed since the results' revision {revision}: keras_rnn_spec/reference.py (the verdicts may be out of date)",
            "up to date: 1 results files, the claims of keras_rnn_spec/",
        ],
    )
