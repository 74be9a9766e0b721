"""Self-tests of the printed reproducers beyond each claim's first case: pasted into a fresh Python
process, a reproducer gives the arrays its claim checked.

tests/test_snippets.py runs each claim's first case as the report prints it. Here a seeded sample is
drawn from a collection of the whole spec on Keras' own layers: at least two cases of every chapter,
then more at random, and chapter 22's exports apart (its routes that cannot run here are passed
over, as the chapter skips them). The claim's arrays are computed in this process by the function
its claims read them through (OBSERVED below: an observer, or the executed reproducer's names); the
reproducer's are what its last line prints (chapter 22's: `outputs`), read from a fresh Python
process that runs every sampled reproducer in a namespace of its own.

The arrays must be equal bit for bit: the subject computes the same float32 operations on the same
seeded weights and data in both processes. Chapter 22's are compared as a set, each of the claim's
arrays held by one of the reproducer's: a SavedModel signature returns a dict built from a protobuf
map, whose order changes from process to process (keras_rnn_spec/test_export.py, DICT_WITHOUT_ORDER).

A chapter whose cases are of a kind OBSERVED does not list fails the self-test that the sample spans
every chapter.
"""

import ast
import inspect
import json
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from pasting import pasted

from keras_rnn_spec import bidirectional, cells, convlstm, observe, passing, report_render, stacks, stateful, subject
from keras_rnn_spec.cases import SteppedCase, WrittenCase, case_of
from keras_rnn_spec.exporting import ExportCase, Exports
from keras_rnn_spec.invocation import PACKAGE_DIR
from keras_rnn_spec.masks import MaskedCase

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SEED = 25
SAMPLE = 48  # cases of the chapters other than 22 (at least 40)
EXPORT_SAMPLE = 8
PER_CHAPTER = 2



def printed_names(code: str) -> list[str]:
    """The names the reproducer's last line prints: print(output, h, c, sep=...)."""
    last = ast.parse(code).body[-1]
    assert isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) and last.value.func.id == "print", code
    return [argument.id for argument in last.value.args if isinstance(argument, ast.Name)]


def bound_names(case) -> list:
    """What the claims of a case read from its executed reproducer: the names its last line prints.
    A refusal's reproducer raises here, as it does pasted."""
    bound = observe.reproduced(case)
    return [bound[name] for name in printed_names(case.snippet())]


# Each kind of case, and what its claims compare: the observation's arrays, or the reproducer's names.
OBSERVED = {
    **dict.fromkeys(
        (observe.Case, cells.StackedCellsCase, MaskedCase, bidirectional.BidirectionalCase, convlstm.ConvCase, stacks.StackCase),
        lambda case: observe.observe(case).outputs,
    ),
    **dict.fromkeys(
        (WrittenCase, SteppedCase, stateful.StatefulCase, passing.PassingCase, passing.EncoderDecoderCase),
        bound_names,
    ),
}

pytestmark = pytest.mark.skipif(
    (subject.KERAS_MAJOR, subject.backend_name()) != (3, "tensorflow"),
    reason="the sample is drawn from the default subject's collection (Keras 3 on TensorFlow)",
)


def flat(value) -> list[np.ndarray]:
    """The arrays a value holds, in order (a dict's by sorted key; a caught refusal, or None: its
    type's name), here and in RUNNER's fresh process alike."""
    if isinstance(value, dict):
        return flat([value[key] for key in sorted(value)])
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in flat(item)]
    if value is None or isinstance(value, BaseException):
        return [np.asarray(type(value).__name__)]
    return [np.asarray(value)]


# Runs each reproducer of a JSON list (stdin) in a namespace of its own and saves, per reproducer,
# the arrays the given names hold (flattened by `flat`, whose source it holds) to DIRECTORY/N.npz;
# prints one JSON line each.
RUNNER = """
import contextlib, io, json, sys, traceback
import numpy as np

""" + inspect.getsource(flat) + """
directory = sys.argv[1]
for number, (code, names) in enumerate(json.load(sys.stdin)):
    namespace = {"__name__": "__reproducer__"}
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # what it prints is not this runner's output
            exec(compile(code, f"<reproducer {number}>", "exec"), namespace)
        np.savez(f"{directory}/{number}.npz", *[leaf for name in names for leaf in flat(namespace[name])])
        error, raised = "", ""
    except BaseException as exception:
        error, raised = traceback.format_exc(limit=-3), type(exception).__name__
    print(json.dumps({"error": error, "raised": raised}), flush=True)
"""


class Collected:
    def pytest_collection_finish(self, session):
        self.items = list(session.items)


def collect_the_spec() -> list:
    """The items of the whole spec on Keras' own layers, collected in this process (no report written)."""
    collected = Collected()
    options = ["--collect-only", "-q", "-p", "no:cacheprovider", "-n", "0", "-o", "spec_report="]
    environment = {name: os.environ.pop(name) for name in ("SPEC_LAYERS",) if name in os.environ}
    try:
        assert pytest.main([*options, str(PACKAGE_DIR)], plugins=[collected]) == pytest.ExitCode.OK
    finally:
        os.environ.update(environment)
    return collected.items


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> list[dict]:
    """The sampled cases: chapter, test id, reproducer, the names it binds and the arrays the claim checked."""
    items = collect_the_spec()
    rng = random.Random(SEED)
    by_chapter: dict[str, list] = {}
    for item in items:
        case = case_of(item)
        if type(case) in OBSERVED:
            by_chapter.setdefault(item.path.name, []).append(item)
    chosen = [item for chapter in sorted(by_chapter) for item in rng.sample(by_chapter[chapter], PER_CHAPTER)]
    rest = [item for chapter in sorted(by_chapter) for item in by_chapter[chapter] if item not in chosen]
    chosen += rng.sample(rest, SAMPLE - len(chosen))
    drawn = [{"chapter": item.path.name, "id": item.nodeid, "case": case_of(item)} for item in chosen]
    for entry in drawn:
        try:
            entry["checked"] = flat(OBSERVED[type(entry["case"])](entry["case"]))
            entry["names"] = printed_names(entry["case"].snippet())
        except Exception as error:  # a refusal (no timesteps, say): the reproducer must raise it too
            entry["raised"], entry["names"] = type(error).__name__, []
    exports = Exports(tmp_path_factory.mktemp("exports"))
    export_items = [item for item in items if isinstance(case_of(item), ExportCase)]
    for item in rng.sample(export_items, len(export_items)):
        if sum(entry["chapter"] == "test_export.py" for entry in drawn) == EXPORT_SAMPLE:
            break
        case = case_of(item)
        step, outcome = exports.runtime(case)
        if step or outcome.unavailable:
            continue  # a route this machine cannot take, or one the chapter's first claim reports failing
        returned = exports.first_run(case)
        if isinstance(returned, Exception):
            continue  # the chapter's first claim reports it
        drawn.append({"chapter": "test_export.py", "id": item.nodeid, "case": case, "names": ["outputs"], "checked": [array for _, array in returned]})
    exports.close()
    return drawn


@pytest.fixture(scope="module")
def reproduced(sample, tmp_path_factory) -> list[dict]:
    """Each sampled reproducer run in one fresh Python process (pasting.pasted): the error it
    raised, or the arrays its names hold."""
    arrays = tmp_path_factory.mktemp("arrays")
    results = pasted(RUNNER, [[entry["case"].snippet(), entry["names"]] for entry in sample], str(arrays))
    for number, result in enumerate(results):
        if not result["error"]:
            with np.load(arrays / f"{number}.npz") as saved:
                result["arrays"] = [saved[f"arr_{k}"] for k in range(len(saved.files))]
    return results


def test_the_sample_spans_every_chapter(sample):
    """The sample holds at least 40 cases besides chapter 22's, at least two of every other chapter, and
    cases of chapter 22."""
    per_chapter = Counter(entry["chapter"] for entry in sample)
    every = {path.name for path in PACKAGE_DIR.glob("test_*.py")}
    assert sum(per_chapter.values()) - per_chapter["test_export.py"] >= SAMPLE
    assert per_chapter["test_export.py"] == EXPORT_SAMPLE
    assert set(per_chapter) == every and min(per_chapter.values()) >= PER_CHAPTER, sorted(every - set(per_chapter))


def test_each_pasted_reproducer_gives_the_arrays_its_claim_checked(sample, reproduced):
    """Each sampled reproducer, pasted into a fresh process, runs, and the names it prints hold exactly
    the arrays the claim checked (chapter 22: the same arrays, in whatever order the artifact returns
    them); where the claim's run raised (a refusal), the reproducer raises the same error."""
    wrong = []
    for entry, result in zip(sample, reproduced, strict=True):
        if "raised" in entry or result["error"]:
            if result["raised"] != entry.get("raised"):
                expected, got = entry.get("raised", "nothing"), result["raised"] or "nothing"
                wrong.append(f"{entry['id']}: the claim's run raised {expected}, the reproducer {got}\n{result['error']}")
            continue
        checked, printed = entry["checked"], result["arrays"]
        if entry["chapter"] == "test_export.py":
            unmatched = [k for k, array in enumerate(checked) if not any(np.array_equal(array, other) for other in printed)]
            agrees = len(checked) == len(printed) and not unmatched
        else:
            agrees = len(checked) == len(printed) and all(map(np.array_equal, checked, printed))
        if not agrees:
            shapes = [a.shape for a in checked], [a.shape for a in printed]
            largest = [float(np.max(np.abs(a - b))) for a, b in zip(checked, printed) if a.shape == b.shape]
            wrong.append(f"{entry['id']}: checked {shapes[0]}, printed {shapes[1]}, largest differences {largest}")
    assert not wrong, f"{len(wrong)} of {len(sample)} reproducers disagree with their claim:\n" + "\n".join(wrong)


def spec_run(*arguments, layers: str | None = None) -> subprocess.CompletedProcess:
    """A run of the spec from tests/ (where broken_layers is importable), as a user's pytest runs it."""
    environment = {key: value for key, value in os.environ.items() if key != "SPEC_LAYERS"}
    if layers:
        environment["SPEC_LAYERS"] = layers
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0", "--rootdir", str(ROOT), "-c", str(ROOT / "pytest.ini")]
    return subprocess.run([*command, *arguments], cwd=HERE, env=environment, capture_output=True, text=True, timeout=600)


def test_a_reproducer_that_raises_fails_its_claim_at_the_reproducers_line(tmp_path):
    """A reproducer that raises where its claim expected values fails that claim: the traceback's last
    frame is the reproducer's line, and the claim, case and code follow; no internal error."""
    # broken_layers.DroppedCellStateLSTM returns [output, h]: the reproducer's `output, h, c = layer(x)` raises.
    done = spec_run(
        str(PACKAGE_DIR / "test_relations.py"),
        "-k", "DroppedCellStateLSTM and test_output_is_h and state-call",
        f"--report-log={tmp_path / 'results.jsonl'}", f"--spec-report={tmp_path / 'spec.md'}",
        layers="broken_layers:UNDER_TEST",
    )  # fmt: skip
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout + done.stderr
    frame = "<reproducer DroppedCellStateLSTM-state-call>:8: in <module>\n    output, h, c = layer(x)\n"
    assert frame in done.stdout, done.stdout
    after = done.stdout[done.stdout.index(frame) :]
    assert "ValueError: not enough values to unpack (expected 3, got 2)" in after
    for line in ("Claim:    With return_state=True", "Case:     broken_layers.DroppedCellStateLSTM(5, return_state=True)", "Reproduce:"):
        assert line in after, after
    assert "INTERNALERROR" not in done.stdout + done.stderr


def test_the_report_counts_the_tests_that_read_their_values_from_their_reproducer(tmp_path):
    """The report's "reproducers" row counts the tests marked as having read their own case's executed
    reproducer: every LSTM test of chapter 4 (each observes its own case), and every test of chapter
    22's along the SavedModel's serve (the Keras half, the export, the load and the first run, as printed)."""
    results, report = tmp_path / "results.jsonl", tmp_path / "spec.md"
    done = spec_run(
        str(PACKAGE_DIR / "test_flags.py"), str(PACKAGE_DIR / "test_export.py"),
        "-k", "test_flags and LSTM or saved_model-serve-LSTM-sequences-state and not (stateful or unrolled or fixed)",
        f"--report-log={results}", f"--spec-report={report}",
    )  # fmt: skip
    assert done.returncode == pytest.ExitCode.OK, done.stdout + done.stderr
    records = [json.loads(line) for line in results.read_text().splitlines()]
    calls = [r for r in records if r.get("$report_type") == "TestReport" and r["when"] == "call"]
    marked: dict[str, set] = {}
    for record in calls:
        executed = [report_render.REPRODUCED, True] in record["user_properties"]
        marked.setdefault(record["nodeid"].split("::")[0].rpartition("/")[2], set()).add(executed)
    assert marked == {"test_flags.py": {True}, "test_export.py": {True}}, marked
    assert f"| reproducers | {len(calls)} of the {len(calls)} tests executed" in report.read_text()
