"""Merge the results files of several environments into one compatibility matrix (Markdown).

    python -m tools.compatibility results/*.jsonl.gz                    # print it
    python -m tools.compatibility results/*.jsonl.gz --output docs/compatibility.md
    python -m tools.compatibility results/*.jsonl.gz --check           # is docs/compatibility.md behind?

Each input is one run's results file (pytest-reportlog JSON lines, gzipped or not; the nox
sessions write results/ENVIRONMENT.jsonl.gz), a run of the whole suite that finished. Verdicts are
only comparable when the claims are the same, so only runs of one suite are merged: every file's
suite revision must be a commit (keras_rnn_spec/revision.py), and files from different commits are merged
only when no file of the suite differs between those commits (this checkout's git tells). The
document names the newest of them. Anything else is refused with one line naming the file, and
nothing is written.

The document: the environments, the claims whose verdict is not the same `pass N` everywhere, the
full table (a row per claim, a column per environment), and each known difference that applied,
once, with the environments it applied to. A claim is its module and function (test_flags.py,
test_x), worded as the checkout's keras_rnn_spec/ words it now: rewording a claim's sentence needs the
document regenerated, not the matrix rerun; adding, renaming or removing a claim needs the rerun.
The document depends only on the results and the claims' sentences, so regenerating it from
committed results gives the same file; `--check` says when it has fallen behind.
"""

import argparse
import gzip
import json
import re
import sys
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from keras_rnn_spec.report_render import cell, chapters_from_results, claims_in, prose, results_from_reports, table
from keras_rnn_spec.revision import UNKNOWN, history_length, is_commit, suite_changes
from tools.outputs import output_problem

ROOT = Path(__file__).resolve().parents[1]  # the checkout whose git and keras_rnn_spec/ are read
DOCUMENT = "docs/compatibility.md"
FINISHED = (0, 1)  # pytest's exit codes for a session that ran its selection to the end
GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class Run:
    """One environment's results file, read and checked."""

    path: Path
    name: str
    environment: dict
    results: list

    @property
    def revision(self) -> str:
        return self.environment.get("suite revision", UNKNOWN)


def refuse(path, problem: str, fix: str) -> NoReturn:
    raise SystemExit(f"{path}: {problem}: {fix}")


def file_environment(path: Path) -> str:
    """The environment a results file is named after: tf2.12 for results/tf2.12.jsonl.gz."""
    return re.sub(r"\.jsonl?(\.gz)?$", "", path.name)


def rerun(path: Path) -> str:
    """How to make the file anew: its nox session, for a file of the matrix (results/NAME.jsonl.gz)."""
    if path.parent.name == "results":
        return f"rerun its environment without pytest arguments (`nox -s {file_environment(path)}`)"
    return "rerun the whole spec with --report-log naming this file"


def read_records(path: Path) -> list[dict]:
    """The JSON records of a results file, gzipped or not."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        refuse(path, "no such file", "give the results files of the matrix, results/ENVIRONMENT.jsonl.gz")
    except OSError as error:  # a directory, no permission
        refuse(path, f"cannot be read ({error.strerror})", "give the results files of the matrix, results/ENVIRONMENT.jsonl.gz")
    try:
        text = (gzip.decompress(data) if data.startswith(GZIP_MAGIC) else data).decode("utf-8")
    except (OSError, EOFError, zlib.error) as error:  # BadGzipFile is an OSError; EOFError: truncated
        refuse(path, f"a corrupt or truncated gzip file ({error})", rerun(path))
    except UnicodeDecodeError:
        refuse(path, "neither gzip nor UTF-8 text, so not a results file", "give the JSON lines a spec run writes (--report-log)")
    if is_benchmark_run(text):
        refuse(
            path,
            "a pytest-benchmark JSON (written by `pytest benchmarks/`), not a spec run's results",
            "give the results files the spec writes, results/ENVIRONMENT.jsonl.gz (`nox -s ENVIRONMENT`)",
        )
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            refuse(path, f"line {number} is not JSON (a truncated or corrupt results file)", rerun(path))
        if not isinstance(record, dict):
            refuse(path, f"line {number} is not a pytest-reportlog record (a JSON object)", rerun(path))
        records.append(record)
    return records


def is_benchmark_run(text: str) -> bool:
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:  # JSON lines, or not JSON at all
        return False
    return isinstance(whole, dict) and "benchmarks" in whole


def read_run(path: Path) -> Run:
    """A results file's run, refused unless it holds a finished run of the whole suite."""
    records = read_records(path)
    results = results_from_reports(records)
    if not results:
        refuse(path, "no test results in it (no TestReport record)", f"give the results file of a spec run, or {rerun(path)}")
    finish = next((r for r in records if r.get("$report_type") == "SessionFinish"), None)
    if finish is None:
        refuse(path, "the run did not finish (no SessionFinish record: killed, or the file is cut short)", rerun(path))
    if finish.get("exitstatus") not in FINISHED:
        refuse(path, f"the run stopped early (pytest exit status {finish.get('exitstatus')})", rerun(path))
    first = results[0].meta
    if "whole suite" not in first:
        refuse(
            path,
            "it does not record whether it ran the whole suite (written before the suite recorded it), "
            "so it may be a partial run",
            rerun(path),
        )
    if not first["whole suite"]:
        refuse(path, f"a partial run ({first.get('selection', 'selection not recorded')}), not the whole suite on Keras' own layers", rerun(path))
    if len(results) != first.get("selected"):
        refuse(path, f"{len(results)} of its {first.get('selected')} selected tests ran (stopped by -x or --maxfail?)", rerun(path))
    environment = results[0].meta.get("environment", {})
    return Run(path, environment.get("environment") or file_environment(path), environment, results)


def one_suite(runs: list[Run], root: Path) -> str:
    """The newest revision of the runs, when all of them ran the same suite; refuses otherwise."""
    not_commits = [run for run in runs if not is_commit(run.revision)]
    if not_commits:
        named = ", ".join(f"{run.path} ({run.revision})" for run in not_commits)
        raise SystemExit(
            f"{named}: not a run of a commit (the suite had uncommitted changes, or the run was outside "
            "a git checkout): commit the suite, then rerun those environments"
        )
    revisions = sorted({run.revision for run in runs})
    if len(revisions) == 1:
        return revisions[0]
    lengths = {revision: history_length(root, revision) for revision in revisions}
    missing = [revision for revision in revisions if lengths[revision] is None]
    newest = max(revisions, key=lambda revision: (lengths[revision] or 0, revision))
    changed = {} if missing else {revision: suite_changes(root, revision, newest) for revision in revisions}
    missing += [revision for revision, changes in changed.items() if changes is None]
    if missing:
        named = ", ".join(f"{run.path} ({run.revision})" for run in runs if run.revision in missing)
        raise SystemExit(
            f"{named}: this checkout ({root}) does not have revision {', '.join(missing)}, so it cannot tell "
            "whether the files ran the same suite: run the merge in a clone that has those commits"
        )
    differing = {revision: changes for revision, changes in changed.items() if changes}
    if differing:
        files = ", ".join(f"{run.path} ({run.revision})" for run in runs)
        between = "; ".join(f"{', '.join(changes)} differ between {revision} and {newest}" for revision, changes in differing.items())
        raise SystemExit(
            f"{files}: results of different suites ({between}): rerun the environments of "
            f"{', '.join(differing)} at {newest}"
        )
    return newest


def environment_key(name: str):
    """tf2.12 ... tf2.21 in release order, then the other subjects by name."""
    release = re.fullmatch(r"tf(\d+)\.(\d+)", name)
    return (0, int(release[1]), int(release[2]), "") if release else (1, 0, 0, name)


def verdict(results) -> str:
    counts = Counter(result.outcome for result in results)
    total = sum(counts.values())
    if counts["passed"] == total:
        return f"pass {total}"
    parts = [f"{counts[o]} {o}" for o in ("failed", "error", "xpassed", "xfailed", "skipped") if counts[o]]
    if counts["passed"]:
        parts.append(f"{counts['passed']} passed")
    return ", ".join(parts)


def differences_applied(results) -> set[str]:
    """The known differences a run used: strict xfails' reasons and "expect" entries read by claims."""
    found = {r.detail for r in results if r.outcome in ("xfailed", "xpassed")}
    for result in results:
        found.update(value["detail"] for what, value in result.observations if what == "known difference")
    return found


def read_runs(paths: list[Path]) -> list[Run]:
    runs, files = [], {}
    for path in paths:
        run = read_run(path)
        if run.name in files:
            raise SystemExit(
                f"{files[run.name]} and {path}: both hold environment {run.name}: give one results file per environment"
            )
        files[run.name] = path
        runs.append(run)
    return sorted(runs, key=lambda run: environment_key(run.name))


def merge(paths: list[Path], root: Path) -> str:
    """The compatibility matrix of the results files, with `root` the checkout whose git compares
    revisions and whose keras_rnn_spec/ gives the claims' sentences."""
    runs = read_runs(paths)
    return render(runs, one_suite(runs, root), spec_sentences(root))


def render(runs: list[Run], revision: str, sentences: dict[tuple[str, str], str]) -> str:
    """The document; a claim (module, function) reads as `sentences` words it, else as its results do."""
    names = [run.name for run in runs]

    # Rows: every claim of every run, in chapter order, then test order.
    claims = {}
    for run in runs:
        for chapter in chapters_from_results(run.results):
            for test, claim in chapter.claims.items():
                key = (chapter.number if chapter.number is not None else 999, chapter.module, test)
                sentence = sentences.get((chapter.module, test), claim.sentence)
                claims.setdefault(key, (chapter, sentence, {}))[2][run.name] = verdict(claim.results)
    order = {key: index for index, key in enumerate(claims)}  # first-seen order within a chapter
    rows, differing = [], []
    for key in sorted(claims, key=lambda k: (k[0], k[1], order[k])):
        chapter, sentence, by_environment = claims[key]
        cells = [by_environment.get(name, "not run") for name in names]
        row = [cell(f"{chapter.number}" if chapter.number is not None else chapter.module), cell(sentence), *map(cell, cells)]
        rows.append(row)
        if len(set(cells)) > 1 or not cells[0].startswith("pass "):
            differing.append(row)

    older = {run.revision for run in runs} - {revision}
    lines = [
        "# Compatibility matrix",
        "",
        f"Generated by `python -m tools.compatibility` from the results files of suite revision "
        f"`{revision}`, one column per environment. A cell counts the claim's cases: `pass N` "
        "when all N passed; otherwise how many passed, failed, were expected failures (a known "
        "difference, listed below the tables) or were skipped.",
        "",
    ]
    for old in sorted(older):
        ran_there = ", ".join(run.name for run in runs if run.revision == old)
        lines += [f"{prose(ran_there)} ran at `{old}`: the same suite (no file of it differs from `{revision}`).", ""]
    lines += ["## Environments", ""]
    labels = ["python", "numpy", "tensorflow", "jax", "torch", "keras", "backend", "devices"]
    lines += table(["environment", *labels], [[cell(run.name), *(cell(str(run.environment.get(k, ""))) for k in labels)] for run in runs])
    header = ["ch.", "claim", *map(cell, names)]
    lines += ["## Claims that differ between environments", ""]
    if differing:
        lines += ["The claims whose cell is not the same `pass N` in every environment; the full table follows.", ""]
        lines += table(header, differing)
    else:
        lines += ["None: every claim passed all its cases, the same number of them, in every environment.", ""]
    lines += ["## Claims by environment", "", *table(header, rows)]
    lines += ["## Known differences that applied", ""]
    applied = {run.name: differences_applied(run.results) for run in runs}
    for detail in sorted(set().union(*applied.values())):
        where = ", ".join(name for name in names if detail in applied[name])
        lines += [f"- {prose(detail)}", "", f"  Applied in {prose(where)}.", ""]
    without = [name for name in names if not applied[name]]
    if without:
        lines += [f"None applied in {prose(', '.join(without))}.", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------------------------
# --check: has the document fallen behind the results, or the results behind the spec?


def spec_sentences(root: Path) -> dict[tuple[str, str], str]:
    """{(module, function): sentence} of every claim in root/keras_rnn_spec, as keras_rnn_spec/report.py
    records them. A claim is its module and function: a sentence reworded since the results were run
    is the same claim."""
    return claims_in(root / "keras_rnn_spec")


def results_sentences(runs: list[Run]) -> dict[tuple[str, str], str]:
    return {(r.meta["module"], r.meta["test"]): r.meta.get("claim", r.meta["test"]) for run in runs for r in run.results}


def check(paths: list[Path], document: Path, root: Path) -> list[str]:
    """The ways `document` has fallen behind (empty: it has not); prints what changed without failing."""
    runs = read_runs(paths)
    revision = one_suite(runs, root)
    in_results, in_spec = results_sentences(runs), spec_sentences(root)
    problems = []
    regenerate = f"regenerate it (the same command with --output {document} instead of --check)"
    if not document.is_file():
        problems.append(f"{document}: no such file: {regenerate}")
    elif document.read_text(encoding="utf-8") != render(runs, revision, in_spec):
        problems.append(f"{document}: differs from the merge of the given results files: {regenerate}")
    for module, test in sorted(in_spec.keys() - in_results.keys()):
        problems.append(f"{module}::{test}: a claim of the spec in no results file ({in_spec[module, test]!r}): rerun the matrix")
    for module, test in sorted(in_results.keys() - in_spec.keys()):
        problems.append(f"{module}::{test}: in the results but no longer in the spec ({in_results[module, test]!r}): rerun the matrix")
    changes = suite_changes(root, revision, "HEAD")
    if changes is None:
        print(f"note: this checkout cannot compare the results' revision {revision} with HEAD")
    elif changes:
        print(f"note: suite files changed since the results' revision {revision}: {', '.join(changes)} (the verdicts may be out of date)")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.compatibility", description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path, help="results files, one per environment")
    parser.add_argument("--output", type=Path, help="where to write the matrix (default: print it)")
    parser.add_argument(
        "--check",
        action="store_true",
        help=f"write nothing; fail (exit 1, a line per problem) when the document (--output, default {DOCUMENT}) "
        "differs from the merge of the results files, or the results' claims from the spec's",
    )
    arguments = parser.parse_args(argv)
    # --check only reads --output
    problem = None if arguments.output is None or arguments.check else output_problem(arguments.output)
    if problem:
        raise SystemExit(f"--output {arguments.output}: {problem}")
    if arguments.check:
        problems = check(arguments.results, arguments.output or ROOT / DOCUMENT, ROOT)
        print("\n".join(problems) or f"up to date: {len(arguments.results)} results files, the claims of keras_rnn_spec/")
        return 1 if problems else 0
    document = merge(arguments.results, ROOT)
    if arguments.output is None:
        sys.stdout.write(document)
        return 0
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(document, encoding="utf-8")
    print(f"wrote {arguments.output} from {len(arguments.results)} results files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
