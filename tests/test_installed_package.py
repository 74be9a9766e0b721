"""Self-tests of the spec as a package: a wheel built from the repository, installed into a fresh
virtual environment, run on a user's layer from a directory outside the repository.

The fresh environment sees this one's site-packages through a .pth file: the Keras, TensorFlow and
pytest a user already has are the subject and the runner, as the package intends (it pins none of
them), and pip installs the wheel with --no-index, so a dependency the wheel declares and this
environment lacks would fail the install. The runs use `python -P -m pytest`: the directory pytest
runs in is not put on sys.path by Python, so the plugin's own import of the user's module is tested.
"""

import fnmatch
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT = 900
# The export chapter is left out of the user's run: on one layer it is 550 more tests (about a minute
# here) of the same chapter the clone's default run and test_snippets.py run under SPEC_LAYERS.
NOT_EXPORT = ("-m", "not export")


def run(command: list, cwd: Path, timeout: int = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    environment = {name: value for name, value in os.environ.items() if name not in ("SPEC_LAYERS", "PYTHONPATH")}
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The python of a fresh virtual environment with the wheel built from the repository installed."""
    source = tmp_path_factory.mktemp("source")
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copy(ROOT / "README.md", source)
    shutil.copytree(ROOT / "keras_rnn_spec", source / "keras_rnn_spec", ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path_factory.mktemp("wheels")
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), str(source)], source)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("keras_rnn_spec-*.whl")
    environment = tmp_path_factory.mktemp("venv")
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], environment).stdout.strip()
    Path(purelib, "subject.pth").write_text(sysconfig.get_path("purelib") + "\n")
    installing = run([str(python), "-m", "pip", "install", "--quiet", "--no-index", str(wheel)], environment)
    assert installing.returncode == 0, installing.stdout + installing.stderr
    return python


def project_with(tmp_path: Path, **files: str) -> Path:
    """A user's directory outside the repository with examples/coupled_lstm.py and the given files."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "examples" / "coupled_lstm.py", project)
    for name, text in files.items():
        (project / name).write_text(textwrap.dedent(text))
    return project


def spec_run(python: Path, project: Path, *args: str) -> subprocess.CompletedProcess:
    command = [str(python), "-P", "-m", "pytest", "-p", "no:cacheprovider", "--pyargs", "keras_rnn_spec"]
    return run([*command, "--rnn-spec-layers=coupled_lstm:LAYERS", *args], project)


@pytest.fixture(scope="module")
def users_run(installed, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The user's folder and the run of the installed spec on its layer, chapter 22 left out."""
    project = project_with(tmp_path_factory.mktemp("user"))
    return project, spec_run(installed, project, *NOT_EXPORT)


def test_the_installed_plugin_runs_the_spec_on_a_users_layer_from_outside_the_repository(users_run):
    """`pytest --pyargs keras_rnn_spec --rnn-spec-layers=coupled_lstm:LAYERS` in a folder holding only the
    layer's module runs every chapter on it, and writes no report."""
    project, done = users_run
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-3000:]
    assert "layers: CoupledLSTM (SPEC_LAYERS=coupled_lstm:LAYERS)" in done.stdout
    summary = done.stdout.strip().splitlines()[-1]
    assert " passed" in summary and int(summary.split(" passed")[0].split()[-1]) > 200, summary
    assert not list(project.glob("reports")) and not list(project.rglob("*.md")) and not list(project.rglob("*.jsonl"))


def test_an_installed_run_reads_like_a_clones(users_run):
    """An installed run, with no pytest configuration of the user's, prints each skip with its reason,
    each known difference once with its count and no expected failure one by one, and no warning
    that the subject's internals raise."""
    _, done = users_run
    counted = re.search(r"(\d+) skipped", done.stdout.strip().splitlines()[-1])
    reasons = re.findall(r"^SKIPPED \[(\d+)\] .*: \S.*$", done.stdout, re.MULTILINE)
    assert counted and sum(map(int, reasons)) == int(counted[1]), done.stdout[-3000:]
    assert [line for line in done.stdout.splitlines() if line.startswith("applied to 1 test: ")], done.stdout[-3000:]
    assert not re.search(r"^XFAIL ", done.stdout, re.MULTILINE)
    assert "warnings summary" not in done.stdout, done.stdout[-3000:]


def test_a_users_differences_file_is_merged_with_the_packaged_table(installed, tmp_path):
    """A --rnn-spec-differences file's entries apply beside the packaged ones, matched on ids without folders."""
    mine = """
        [[difference]]
        id = "coupled-gate-differs"
        behaviour = "My layer's flags"
        tests = ["test_flags.py::test_configurations_agree_where_they_overlap*"]
        when = {}
        observed = "a planted entry"
        source = "this self-test"
        """
    project = project_with(tmp_path, **{"mine.toml": mine})
    done = spec_run(installed, project, "--collect-only", "-q", "--rnn-spec-differences=mine.toml")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    applied = [line for line in done.stdout.splitlines() if line.startswith("applied to")]
    assert any("known difference coupled-gate-differs (always)" in line for line in applied), applied
    assert len(applied) > 1, "the packaged table no longer applies beside the user's"


def test_an_id_the_packaged_table_has_is_refused_in_one_line(installed, tmp_path):
    """A user's entry reusing a packaged id stops pytest with one line naming both files."""
    packaged_id = "stateful-predict-skips-the-batch-check-once-traced"
    mine = f"""
        [[difference]]
        id = "{packaged_id}"
        behaviour = "b"
        tests = ["x"]
        when = {{}}
        observed = "o"
        source = "s"
        """
    project = project_with(tmp_path, **{"mine.toml": mine})
    done = spec_run(installed, project, "--collect-only", "-q", "--rnn-spec-differences=mine.toml")
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR:")]
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout[-2000:] + done.stderr[-2000:]
    assert len(errors) == 1, done.stderr
    assert fnmatch.fnmatchcase(
        errors[0],
        f"ERROR: known differences table {project / 'mine.toml'}: entry '{packaged_id}' is already in "
        "*/site-packages/keras_rnn_spec/known_differences.toml; give yours another id",
    ), errors[0]


def test_keras_classes_are_a_marker_a_user_can_deselect(installed, tmp_path):
    """-m "not keras_classes" leaves out exactly the claims about Keras' own classes, and no other."""
    project = project_with(tmp_path)
    everything = spec_run(installed, project, "--collect-only", "-q")
    without = spec_run(installed, project, "--collect-only", "-q", "-m", "not keras_classes")
    assert everything.returncode == without.returncode == 0, without.stdout[-2000:] + without.stderr[-2000:]
    left_out = {line for line in everything.stdout.splitlines() if "::" in line} - set(without.stdout.splitlines())
    chapters = {line.split("::")[0] for line in left_out}
    assert chapters == {"test_cells.py", "test_implementations.py", "test_convlstm.py"}, chapters


USER_SUITE = {
    "conftest.py": """
        from hypothesis import settings

        settings.register_profile("mine", max_examples=3)
        settings.load_profile("mine")
        """,
    "pytest.ini": """
        [pytest]
        filterwarnings = default::UserWarning
        """,
    "test_mine.py": """
        import warnings

        from hypothesis import settings


        def test_the_spec_left_my_settings_alone(pytestconfig):
            assert settings._current_profile == "mine"
            assert settings.default.max_examples == 3
            assert pytestconfig.getini("filterwarnings") == ["default::UserWarning"]
            # The repository's pytest.ini turns every warning into an error; a user's run keeps its own filters.
            assert ("error", None, Warning, None, 0) not in warnings.filters
        """,
}


def test_a_run_inside_a_users_suite_keeps_their_hypothesis_profile_and_warning_filters(installed, tmp_path):
    """Run beside a user's own tests, the spec leaves their Hypothesis profile and warning filters as they were."""
    project = project_with(tmp_path, **USER_SUITE)
    done = run(
        [str(installed), "-P", "-m", "pytest", "-p", "no:cacheprovider", "--pyargs", "keras_rnn_spec.test_properties", "test_mine.py", "-q"],
        project,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1].startswith("10 passed"), done.stdout[-1000:]


def test_a_chapter_named_by_its_module_gets_the_packaged_differences(installed, tmp_path):
    """`--pyargs keras_rnn_spec.test_stateful` (pytest's ids are then "::test_...") still matches the
    packaged table's patterns: the known TensorFlow batch-check bug is an expected failure, not a failure."""
    project = project_with(tmp_path)
    command = [str(installed), "-P", "-m", "pytest", "-p", "no:cacheprovider", "-q", "--pyargs", "keras_rnn_spec.test_stateful"]
    done = run([*command, "--rnn-spec-layers=coupled_lstm:LAYERS", "-k", "refused_after_a_predict"], project)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "stateful-predict-skips-the-batch-check-once-traced" in done.stdout
    assert re.fullmatch(r"\d+ deselected, 1 xfailed in .*", done.stdout.strip().splitlines()[-1]), done.stdout[-1000:]


def test_the_installed_spec_lists_each_of_its_chapters_once(installed, tmp_path):
    """A report of one chapter of the installed spec names every chapter of the package once: the one
    that ran with its verdict, the others as not in this run (the user's folder has no test paths)."""
    project = project_with(tmp_path)
    command = [str(installed), "-P", "-m", "pytest", "-p", "no:cacheprovider", "-q", "--pyargs", "keras_rnn_spec.test_structure"]
    done = run([*command, "--rnn-spec-layers=coupled_lstm:LAYERS", "--spec-report=spec.md"], project)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    chapters = sorted((ROOT / "keras_rnn_spec").glob("test_*.py"))
    table = (project / "spec.md").read_text(encoding="utf-8").split("\n## Chapters\n")[1].split("\n## ")[0]
    rows = [line for line in table.splitlines() if line.startswith("| ")][1:]
    assert len(rows) == len(chapters), rows
    assert len([row for row in rows if row.endswith("| not in this run |")]) == len(chapters) - 1, rows


# -- a layer author's own test file (keras_rnn_spec.claims_for, README "From your own test file")

AUTHORS_SUITE = {
    "test_my_layers.py": """
        from coupled_lstm import LAYERS
        from keras_rnn_spec import KERAS_LAYERS, RecurrentLayer, claims_for, reference
        from keras_rnn_spec.subject import keras


        def reversed_reference(weights, inputs, initial_state=None, **options):
            \"\"\"A planted fault: the float64 LSTM run over the steps in reverse.\"\"\"
            return reference.lstm(weights, inputs[:, ::-1], initial_state, **options)


        MISREAD = RecurrentLayer("MisreadLSTM", keras.layers.LSTM, ("h", "c"), reversed_reference)
        REFERENCE_CLAIM = "test_reference.py::test_every_returned_tensor_matches_the_float64_reference"

        test_coupled_lstm = claims_for(LAYERS)
        test_misread_lstm = claims_for(MISREAD, expected_failed_claims={REFERENCE_CLAIM + "[*-call]": "reads the steps in reverse"})
        test_keras_own = claims_for(KERAS_LAYERS)
        """,
}


def authors_run(installed: Path, project: Path, *args: str) -> subprocess.CompletedProcess:
    return run([str(installed), "-P", "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE", *args], project)


def test_a_layer_authors_test_file_runs_the_claims_on_their_layers_and_keras_own_in_one_session(installed, tmp_path):
    """claims_for in a user's test file, run against the installed wheel, parametrizes every chapter with
    each set of layers it is given, side by side in one session, and their expected failures, narrowed
    to cases, are strict expected failures: the cases they do not name still fail."""
    project = project_with(tmp_path, **AUTHORS_SUITE)
    collected = authors_run(installed, project, "--collect-only")
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-2000:]
    ids = [line for line in collected.stdout.splitlines() if "::" in line]
    for holder, layer in (("test_coupled_lstm", "CoupledLSTM"), ("test_misread_lstm", "MisreadLSTM"), ("test_keras_own", "GRU")):
        assert f"test_my_layers.py::{holder}::test_flags.py::test_configurations_agree_where_they_overlap[{layer}-default-vs-sequences-call]" in ids
    spec = run([str(installed), "-P", "-m", "pytest", "-p", "no:cacheprovider", "-q", "--pyargs", "keras_rnn_spec", "--collect-only"], project)
    # The same claims and cases as a run of the spec itself on Keras' own layers, in the same order.
    assert [nodeid.split("::test_keras_own::")[1] for nodeid in ids if "::test_keras_own::" in nodeid] == [
        line for line in spec.stdout.splitlines() if "::" in line
    ]
    done = authors_run(installed, project, "-k", "test_reference")
    failed = sorted(line.split("[")[1].split("]")[0] for line in done.stdout.splitlines() if line.startswith("FAILED "))
    assert failed == [f"MisreadLSTM-{flags}-predict" for flags in ("default", "sequences", "sequences-state", "state")], done.stdout[-3000:]
    assert re.search(r"^4 failed, \d+ passed, \d+ deselected, 4 xfailed in ", done.stdout.strip().splitlines()[-1], re.MULTILINE), done.stdout[-1000:]


def test_an_expected_failure_naming_no_claim_is_refused_in_one_line(installed, tmp_path):
    """expected_failed_claims naming a claim the spec does not have stops the collection of that test
    file with one line naming the key and the form a claim's name takes."""
    typo = "test_flags.py::test_configurations_agree"
    suite = {"test_typo.py": f"from coupled_lstm import LAYERS\nfrom keras_rnn_spec import claims_for\n\ntest_mine = claims_for(LAYERS, expected_failed_claims={{{typo!r}: 'why'}})\n"}
    done = authors_run(installed, project_with(tmp_path, **suite), "--collect-only")
    assert done.returncode == pytest.ExitCode.INTERRUPTED, done.stdout[-3000:] + done.stderr[-2000:]
    section = done.stdout.split("ERROR collecting test_typo.py")[1].split("=====")[0].strip("_ \n").splitlines()
    assert section == [
        f"expected_failed_claims names {typo!r}, which is no claim of the spec: name one as CHAPTER::FUNCTION "
        "(test_flags.py::test_configurations_agree_where_they_overlap), optionally followed by [case pattern]; "
        "`pytest --pyargs keras_rnn_spec --collect-only -q` lists them"
    ], section
