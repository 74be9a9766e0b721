"""The spec report: every run writes what it observed, as a document and as a results file.

A pytest plugin, registered by keras_rnn_spec/plugin.py when a run of the spec names a report path
(`--spec-report=PATH`, or the `spec_report` ini option: the repository's pytest.ini sets
reports/spec.md) or asks for `--spec`. It writes, relative to the rootdir (reports/ is ignored by git):

- the report (reports/spec.md in a clone): the specification as this run observed it. When chapter
  1's LSTM case ran, it opens with the answer to the notes' question: what the four configurations
  returned, a picture and the first sample's numbers; then an environment header, what part of the
  suite ran, the notebook's In [5] as this run computed it, the chapters, each known difference once
  with the cases it applied to, then chapter by chapter (a chapter is a claim module whose
  docstring starts "Chapter N: title.") each claim's sentence, a Keras snippet with its check, what
  its cases observed (returned structures and shapes, largest differences against the reference)
  and their verdicts, one row per distinct verdict and observation, with failures, expected failures
  and skips given with their reasons. It is rendered by keras_rnn_spec/report_render.py from the run's
  own test reports; nothing in it is hand-written.
- the picture beside it (spec.md -> spec-returns.svg): what each configuration returns, drawn from
  the notebook example's arrays; written with the report, and removed when the run has no example.
- the results (reports/results.jsonl, `--report-log=PATH`): the machine-readable results, written by default
  only beside the default report (a report elsewhere gets one when --report-log names it), so that
  the two files in reports/ always describe the same run. The format is
  pytest-reportlog's, a maintained pytest-dev plugin: one JSON object per line for each phase
  (setup, call, teardown) of each test, with its outcome, its failure or skip reason, the xfail
  reason ("wasxfail") and its `user_properties`. It is pytest's own serialization of its test
  reports, so any pytest tooling reads it, and it keeps what JUnit XML would flatten (xfail against
  skip, structured property values). This plugin adds one user property to every test, "spec",
  so that each record stands on its own when results from many environments are merged:
      module, chapter (its number, or null), chapter_title, test (the function), claim (the
      docstring's first line), case (the parameter id), layer / configuration / path (where the
      parameters name them), order (position in the collection), environment (keras_rnn_spec.subject's
      versions and devices, "layers" (those under test), "suite revision" (keras_rnn_spec/revision.py: the
      commit, "-dirty" when a file of the suite differs from it, or "unknown"),
      and "environment" when SPEC_ENVIRONMENT names it);
      the run's first test adds selection (keras_rnn_spec/selection.py, in words), "whole suite" (a
      boolean) and selected (how many tests), which the compatibility matrix's merge reads;
      the first test of a module adds chapter_intro; the first test of a claim adds
      claim_details, snippet and snippet_case.
  The verify helper's observations follow it as (what, observation) pairs. A test's outcome is
  that of its worst phase; `report_render.results_from_reports` reads the file back that way.

`--spec` also prints the claims, chapter by chapter, with the cases each passed or failed for.

Under pytest-xdist the workers collect the tests and attach the "spec" property; the controller
receives every phase's report through `pytest_runtest_logreport` (pytest-reportlog writes the
file there too), and each worker sends its selection counts through xdist's `workeroutput`.
"""

import ast
import fnmatch
import functools
import inspect
import os
import re
from importlib import metadata
from pathlib import Path

import pytest

from keras_rnn_spec import reference, report_render, selection, subject
from keras_rnn_spec.cases import case_of
from keras_rnn_spec.catalogue import DEFAULT, Flags, RecurrentLayer, selection_at, selection_of
from keras_rnn_spec.observe import Case, snippet_imports
from keras_rnn_spec.invocation import DEFAULT_REPORT, PACKAGE, PACKAGE_DIR, installed, report_path, selects_the_spec
from keras_rnn_spec.revision import suite_revision

DEFAULT_RESULTS = "reports/results.jsonl"
CHAPTER = re.compile(r"Chapter\s+(\d+):\s*(.*)")
FENCED = re.compile(r"^```[ \t]*\w*[ \t]*\n(.*?)^```[ \t]*$\n?", re.MULTILINE | re.DOTALL)
WORKER_OUTPUT_KEY = "spec_report_selection"


@pytest.hookimpl(tryfirst=True)  # before pytest-reportlog reads its option and opens its file
def pytest_configure(config):
    written = report_path(config)
    if not config.option.collectonly:  # a bad path fails now, not after the whole run
        # --spec-report is relative to the rootdir; pytest-reportlog opens --report-log as given.
        given = {
            "--spec-report": (written, config.rootpath),
            "--report-log": (getattr(config.option, "report_log", None), config.invocation_params.dir),
        }
        for option, (value, base) in given.items():
            problem = unwritable(base / value, option, value) if value else ""
            picture = picture_path(base / value) if option == "--spec-report" and value else None
            if not problem and picture and picture.is_dir():  # written beside the report, in its folder
                problem = f"{picture}, where the report's picture goes, is a directory; remove it or name another report"
            if problem:
                raise pytest.UsageError(f"{option}={value}: {problem}")
    # The default results file goes with the default report only, so that the two files in
    # reports/ always describe the same run; a report written elsewhere has a results file when
    # --report-log names one. None on a run that only collects (it would overwrite the last run's
    # results with an empty log).
    default_report = written and (config.rootpath / written).resolve() == (config.rootpath / DEFAULT_REPORT).resolve()
    if default_report and getattr(config.option, "report_log", "absent") is None and not config.option.collectonly:
        config.option.report_log = str(config.rootpath / DEFAULT_RESULTS)
    config.pluginmanager.register(SpecReport(config), "spec-report")


def picture_path(report: Path) -> Path:
    """Where the report's picture of the notebook example goes: beside it, spec.md -> spec-returns.svg."""
    return report.with_name(f"{report.stem}-returns.svg")


def unwritable(path: Path, option: str, given: str) -> str:
    """Why a file cannot be written at `path` (`given` as `option`), with the fix; or ""."""
    if path.is_dir():
        example = Path(given) / ("spec.md" if option == "--spec-report" else "results.jsonl")
        return f"{path} is a directory; name a file in it, e.g. {option}={example}"
    folder = next(parent for parent in path.parents if parent.exists())
    if not folder.is_dir():
        return f"cannot create the folder {path.parent}: {folder} is a file; name a path in a folder"
    if not os.access(path if path.exists() else folder, os.W_OK):
        return f"cannot write {path} (permission denied); name a path you can write to"
    return ""


class SpecReport:
    def __init__(self, config):
        self.config = config
        self.on_worker = hasattr(config, "workerinput")
        self.reports: list[dict] = []
        self.collection_errors: list[tuple[str, str]] = []
        self.selected: int | None = None
        self.deselected = 0
        self.written: Path | None = None

    # -- every process: attach the metadata, count the selection

    def pytest_deselected(self, items):
        self.deselected += len(items)

    def pytest_collection_finish(self, session):
        environment = run_environment(str(self.config.rootpath), str(selection_of(self.config)))
        seen_modules, seen_tests = set(), set()
        for order, item in enumerate(sorted(session.items, key=definition_order)):
            meta = record_metadata(item, order, environment)
            if meta["module"] not in seen_modules:  # the chapter's text travels with its first test
                seen_modules.add(meta["module"])
                meta.update(chapter_text(item))
            if order == 0:  # the run's selection, so that a merge of results can refuse a partial run
                meta["selection"] = selection.describe(self.config)
                meta["whole suite"] = selection.is_whole_suite(self.config, session, self.deselected)
                meta["selected"] = len(session.items)
            if (meta["module"], meta["test"]) not in seen_tests:  # the claim's, with the claim's first test
                seen_tests.add((meta["module"], meta["test"]))
                meta.update(claim_text(item))
            item.user_properties.append((report_render.META, meta))
        self.selected = len(session.items)
        if self.on_worker:
            self.config.workeroutput[WORKER_OUTPUT_KEY] = {"selected": self.selected, "deselected": self.deselected}

    # -- the controller (or the only process): gather the reports, write the report

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error):
        counts = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY)
        if counts:  # every worker collects the same tests
            self.selected, self.deselected = counts["selected"], counts["deselected"]

    def pytest_runtest_logreport(self, report):
        if not self.on_worker:
            self.reports.append(self.config.hook.pytest_report_to_serializable(config=self.config, report=report))

    def pytest_collectreport(self, report):
        if report.failed and not self.on_worker:
            self.collection_errors.append((report.nodeid, str(report.longrepr)))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus):
        if self.on_worker or self.config.option.collectonly or not report_path(self.config):
            return
        results = report_render.results_from_reports(self.reports)
        environment = results[0].meta["environment"] if results and "environment" in results[0].meta else None
        run = {
            "selection": selection.describe(self.config),
            "selected": self.selected,
            "deselected": self.deselected,
            "results_file": self._relative(getattr(self.config.option, "report_log", None)),
            "session": session_outcome(exitstatus),
        }
        path = self.config.rootpath / report_path(self.config)
        drawn = picture_path(path)
        example = report_render.notebook_example(results)
        text = report_render.markdown(
            results,
            environment or run_environment(str(self.config.rootpath), str(selection_of(self.config))),
            run,
            self.collection_errors,
            chapters_on_disk(self.config),
            picture=drawn.name if example is not None else "",
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if example is not None:
            drawn.write_text(report_render.returns_picture(example), encoding="utf-8")
        else:  # a picture left by an earlier run would be another run's numbers beside this report
            drawn.unlink(missing_ok=True)
        self.written = path

    def pytest_terminal_summary(self, terminalreporter):
        if self.on_worker:
            return
        if self.config.option.spec:
            terminalreporter.section("spec")
            for line, colour in report_render.terminal_lines(report_render.results_from_reports(self.reports)):
                terminalreporter.write_line(line, **({colour: True} if colour else {}))
        if self.written:
            terminalreporter.write_sep("-", f"spec report: {self._relative(self.written)}")

    def _relative(self, path) -> str:
        if not path:
            return ""
        try:
            return str(Path(path).resolve().relative_to(self.config.rootpath))
        except ValueError:
            return str(path)


def session_outcome(exitstatus) -> str:
    """Empty for a session that ran its selection to the end, whatever the verdicts."""
    if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return ""
    return f"exit status {int(exitstatus)} ({pytest.ExitCode(exitstatus).name.lower().replace('_', ' ')})"


# ---------------------------------------------------------------------------------------------
# What each test's record says about it


@functools.cache
def run_environment(root: str, layers: str) -> dict:
    """The subject's versions and devices, the layers under test (in words), the suite revision, and
    the environment's name if set."""
    # An installed package is its release, not a commit of whatever repository holds the environment.
    revision = f"{PACKAGE} {metadata.version(PACKAGE)} (installed)" if installed() else suite_revision(root)
    found = {**subject.versions(), "layers": layers, "suite revision": revision}
    if os.environ.get("SPEC_ENVIRONMENT"):  # the nox session's name (noxfile.py)
        found["environment"] = os.environ["SPEC_ENVIRONMENT"]
    return found


@functools.cache
def module_chapter(docstring: str) -> tuple[int | None, str, str]:
    """(number, title, intro) of a module docstring "Chapter N: title. Summary...\\n\\nMore..."."""
    first, _, rest = (docstring or "").strip().partition("\n")
    match = CHAPTER.match(first)
    if not match:
        return None, first.strip().rstrip("."), rest.strip()
    title, _, summary = match[2].partition(". ")
    return int(match[1]), title.strip().rstrip("."), f"{summary.strip()}\n\n{rest.strip()}".strip()


def definition_order(item) -> tuple:
    """Where a test is defined: its file, its function's line, its parameters' indices in the order
    pytest generates them. The report's order (and so each claim's first case, whose code the report
    shows), whatever order the run takes: pytest-randomly shuffles it, xdist splits it."""
    path, line, _ = item.reportinfo()
    indices = tuple(item.callspec.indices.values()) if hasattr(item, "callspec") else ()
    return str(path), line or 0, indices


def record_metadata(item, order: int, environment: dict) -> dict:
    module = item.path.name  # the same whether the spec runs from a clone or an installed package
    number, title, _ = module_chapter(inspect.getdoc(getattr(item, "module", None)) or "")
    function = getattr(item, "function", None)
    doc = inspect.getdoc(function) if function is not None else None
    test = getattr(item, "originalname", item.name)
    return {
        "module": module,
        "chapter": number,
        "chapter_title": title or module,
        "test": test,
        "claim": report_render.claim_sentence(doc, test),
        "case": item.callspec.id if hasattr(item, "callspec") else "",
        **case_axes(item),
        "order": order,
        "environment": environment,
    }


def case_axes(item) -> dict:
    """The layer, flag configuration and run path of a test, where its parameters name them."""
    axes = {}
    params = item.callspec.params if hasattr(item, "callspec") else {}
    for name, value in params.items():
        if isinstance(value, Case):
            found = {"layer": str(value.layer), "configuration": str(value.flags), "path": value.path}
        elif isinstance(getattr(value, "layer", None), RecurrentLayer):  # a chapter's own case class
            found = {"layer": str(value.layer), **({"path": value.path} if isinstance(getattr(value, "path", None), str) else {})}
        elif isinstance(value, RecurrentLayer):
            found = {"layer": str(value)}
        elif isinstance(value, Flags):
            found = {"configuration": str(value)}
        elif name == "path" and isinstance(value, str):
            found = {"path": value}
        else:
            continue
        for key, described in found.items():
            axes.setdefault(key, described)  # the first parameter that names an axis decides it
    return axes


def chapter_text(item) -> dict:
    return {"chapter_intro": module_chapter(inspect.getdoc(getattr(item, "module", None)) or "")[2]}


def claim_text(item) -> dict:
    """The claim's explanation and snippet: its first case's code, followed by the claim's check.

    The check is a fenced block in the docstring: code that continues the case's snippet (using the
    names the snippet binds, such as `output, h, c`) and performs the claim's comparison. A block
    that starts with an import is a whole snippet of its own (for a claim whose cases print no
    code, or whose case code cannot lead to the check, such as a refusal).
    """
    function = getattr(item, "function", None)
    doc = (inspect.getdoc(function) if function is not None else None) or ""
    body = doc.partition("\n")[2]
    fence = FENCED.search(body)
    check = fence[1].rstrip("\n") if fence else ""
    details = FENCED.sub("", body).strip()
    case = case_of(item)
    whole = check.startswith("import ")  # a snippet of its own, not a continuation of the case's
    layer = getattr(case, "layer", None)
    if isinstance(layer, RecurrentLayer) and not selection_at(item).keras_own:
        check = check_for(check, layer, whole=whole)
    if case is not None and not whole:
        snippet = "\n\n".join(part for part in (case.snippet(), check) if part)
        params = item.callspec.params if hasattr(item, "callspec") else {}
        # A case made by the claim's reproduced_by function is named by the test's id.
        named = str(case) if any(value is case for value in params.values()) else item.callspec.id
        return {"claim_details": details, "snippet": snippet, "snippet_case": named}
    if check:
        return {"claim_details": details, "snippet": check, "snippet_case": ""}
    return {"claim_details": details}


# The claims' checks are written for each claim's first case in the default run, SimpleRNN. On
# another layer under test (SPEC_LAYERS) a check compares with that layer's own reference, and a
# whole snippet (a refusal's) builds that layer; a check that builds Keras' SimpleRNN beside the case
# (to compare with it) is left out.
SIMPLE_RNN_REFERENCE = "reference.simple_rnn"
SIMPLE_RNN = "keras.layers.SimpleRNN(5)"


def check_for(check: str, layer: RecurrentLayer, *, whole: bool) -> str:
    """A claim's check as it applies to `layer`, one of a user's layers, or "" where it cannot."""
    if layer.reference is reference.simple_rnn:
        return check
    if SIMPLE_RNN in check:
        if not whole:
            return ""
        imports = [line for line in snippet_imports(layer) if line not in check.splitlines()]
        check = "\n".join([*imports, check.replace(SIMPLE_RNN, layer.constructor_code(5, DEFAULT))])
    if SIMPLE_RNN_REFERENCE not in check:
        return check
    if layer.reference is None:
        return ""
    function, arguments = layer.reference, ""
    if isinstance(function, functools.partial):  # a variant: GRU(reset_after=False)
        arguments = "".join(f", {key}={value!r}" for key, value in function.keywords.items())
        function = function.func
    where = "reference" if function.__module__ == reference.__name__ else function.__module__
    called = f"{where}.{function.__qualname__}"
    imports = [] if where == "reference" else [f"import {where}"]
    if arguments:
        imports.append("import functools")
        called = f"functools.partial({called}{arguments})"
    return "\n".join([*imports, check.replace(SIMPLE_RNN_REFERENCE, called)])


# ---------------------------------------------------------------------------------------------
# Which part of the suite ran


def chapters_on_disk(config) -> list[tuple[int | None, str, str]]:
    """(number, title, module) of every test module of the suite, read without importing.

    The suite is what lies under the test paths, and the spec's own folder when the run names the spec
    (`pytest --pyargs keras_rnn_spec` from an installed package, where the test paths are the user's).
    A module is named by its file name, as `record_metadata` names the module of a test that ran.
    """
    patterns = config.getini("python_files")
    folders = [config.rootpath / testpath for testpath in config.getini("testpaths")]
    if selects_the_spec(config):
        folders.append(PACKAGE_DIR)
    found: dict[str, tuple[int | None, str, str]] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            if path.name in found or not any(fnmatch.fnmatch(path.name, pattern) for pattern in patterns):
                continue
            try:
                docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
            except (SyntaxError, UnicodeDecodeError):  # reported as a collection error if selected
                docstring = ""
            number, title, _ = module_chapter(docstring or "")
            found[path.name] = (number, title, path.name)
    return list(found.values())
