"""Self-tests of SPEC_LAYERS (keras_rnn_spec/catalogue.py, conftest.py) and of examples/my_layer.py,
the template README's "Your own layer" points to.

A value that names no catalogue entries stops pytest at start-up with one usage error; the header
and reports/spec.md name the layers under test; a user layer that a copy through its config breaks
(as Bidirectional and saving copy it) fails its claims with notes naming the claim and the cause;
the template passes the whole spec, report included. The runs are pytest subprocesses
with the repository as rootdir, writing their report and results into tmp_path.
"""

import importlib
import inspect
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import spec_runs

from keras_rnn_spec import catalogue, report

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT = 600  # seconds; each run imports TensorFlow and runs a claim or two

# Modules a user might name, written into tmp_path (on the subprocess's PYTHONPATH).
USER_MODULES = {
    "user_values": """
        from examples.coupled_lstm import CoupledLSTM
        EMPTY = []
        NAMES = ["CoupledLSTM"]
        COUNT = 3
        CLASSES = [CoupledLSTM]
    """,
    "raising_module": """
        RATE = 1 / 0
    """,
    "missing_dependency": """
        import no_such_dependency
    """,
    # NoFromConfigRNN: a cell in keras.layers.RNN whose get_config leaves the cell out, with no
    # from_config: RNN's own from_config then looks for the cell (README, "Your own layer"). Its
    # reference is twice SimpleRNN's, so that the reference claim fails in the verify helper, not in
    # Keras. UnitsOnlyRNN takes none of the arguments the spec makes a layer with.
    "broken_user_layers": """
        from keras_rnn_spec import reference
        from keras_rnn_spec.catalogue import RecurrentLayer
        from keras_rnn_spec.subject import keras


        @keras.saving.register_keras_serializable(package="broken_user_layers")
        class NoFromConfigRNN(keras.layers.RNN):
            def __init__(self, units, **kwargs):
                super().__init__(keras.layers.SimpleRNNCell(units), **kwargs)

            def get_config(self):
                config = super().get_config()
                del config["cell"]
                return {**config, "units": self.cell.units}


        def doubled_simple_rnn(weights, inputs, initial_state=None, **options):
            sequence, states = reference.simple_rnn(weights, inputs, initial_state, **options)
            return 2 * sequence, [2 * state for state in states]


        class UnitsOnlyRNN(keras.layers.SimpleRNN):
            def __init__(self, units):
                super().__init__(units)


        LAYERS = [
            RecurrentLayer("NoFromConfigRNN", NoFromConfigRNN, ("h",), doubled_simple_rnn),
            RecurrentLayer("UnitsOnlyRNN", UnitsOnlyRNN, ("h",), reference.simple_rnn),
        ]
    """,
}


@pytest.fixture(scope="module")
def user_modules(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("user_modules")
    for name, text in USER_MODULES.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(text))
    return folder


def run_pytest(output: Path, spec_layers: str | None, *args: str, modules: Path) -> subprocess.CompletedProcess:
    """pytest on the repository, SPEC_LAYERS set (or unset), `modules` importable, the report and results in `output`."""
    environment = {**os.environ, "PYTHONPATH": str(modules)}
    environment.pop("SPEC_LAYERS", None)
    if spec_layers is not None:
        environment["SPEC_LAYERS"] = spec_layers
    command = [sys.executable, "-m", "pytest", *spec_runs.cache_options(), f"--spec-report={output / 'spec.md'}"]
    command += [f"--report-log={output / 'results.jsonl'}", *args]
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=RUN_TIMEOUT)


# -- a value that names no catalogue entries: what selected_layers says, in the process

NAMES_NO_ENTRIES = [
    ("examples.coupled_lstm", "no ':' between the module and the attribute"),
    ("examples.coupled_lstm:", "no attribute after the ':'"),
    (":LAYERS", "no module before the ':'"),
    ("no_such_module:LAYERS", "there is no module no_such_module"),
    ("examples.no_such_module:LAYERS", "there is no module examples.no_such_module"),
    ("examples.coupled_lstm:NO_SUCH", "module examples.coupled_lstm has no attribute NO_SUCH"),
    (
        "examples.coupled_lstm:CoupledLSTM",
        'CoupledLSTM is a class, not a catalogue entry: wrap it in keras_rnn_spec.catalogue.RecurrentLayer, as RecurrentLayer("CoupledLSTM", CoupledLSTM,',
    ),
    ("user_values:CLASSES", 'CLASSES holds a class, not a catalogue entry: wrap it in keras_rnn_spec.catalogue.RecurrentLayer, as RecurrentLayer("CoupledLSTM",'),
    ("user_values:EMPTY", "EMPTY is an empty list"),
    ("user_values:NAMES", "NAMES holds 'CoupledLSTM', not a RecurrentLayer"),
    ("user_values:COUNT", "COUNT is 3, not a RecurrentLayer"),
    ("raising_module:LAYERS", "importing raising_module raised ZeroDivisionError: division by zero (at "),
    (
        "missing_dependency:LAYERS",
        "importing missing_dependency raised ModuleNotFoundError: No module named 'no_such_dependency' (at ",
    ),
]


@pytest.mark.parametrize(("value", "problem"), NAMES_NO_ENTRIES, ids=[value for value, _ in NAMES_NO_ENTRIES])
def test_a_value_naming_no_entries_is_refused_with_what_was_found(value, problem, user_modules, monkeypatch):
    """A SPEC_LAYERS value that names no catalogue entries is refused with what it found there."""
    monkeypatch.syspath_prepend(str(user_modules))
    with pytest.raises(catalogue.SpecLayersError) as refused:
        catalogue.selected_layers(value)
    assert problem in str(refused.value)


def test_an_entry_or_a_list_of_entries_is_accepted():
    """SPEC_LAYERS may name one entry or a list of them; no value means Keras' own layers."""
    from examples.coupled_lstm import LAYERS

    assert catalogue.selected_layers("examples.coupled_lstm:LAYERS") == tuple(LAYERS)
    assert catalogue.selected_layers("keras_rnn_spec.catalogue:GRU") == (catalogue.GRU,)
    assert catalogue.selected_layers("") == (catalogue.SIMPLE_RNN, catalogue.GRU, catalogue.LSTM)


# -- the same, as a user sees it

@pytest.mark.parametrize("value", ["examples.coupled_lstm:CoupledLSTM", "raising_module:LAYERS"])
def test_a_bad_value_stops_pytest_with_one_usage_error(value, user_modules, tmp_path):
    """pytest stops at start-up with exit code 4 and one line naming SPEC_LAYERS, its form and what
    was found; no traceback, and no report or results written."""
    run = run_pytest(tmp_path, value, "keras_rnn_spec/test_flags.py", modules=user_modules)
    problem = dict(NAMES_NO_ENTRIES)[value]
    errors = [line for line in run.stderr.splitlines() if line.startswith("ERROR:")]
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout + run.stderr
    assert len(errors) == 1, run.stderr
    assert errors[0].startswith(f"ERROR: SPEC_LAYERS={value}: {problem}")
    assert "--rnn-spec-layers (or SPEC_LAYERS) must be package.module:ATTRIBUTE" in errors[0]
    assert "Traceback" not in run.stdout + run.stderr
    assert not list(tmp_path.iterdir())


# -- the layers under test, named

@pytest.mark.parametrize(
    ("value", "named"),
    [
        (None, "SimpleRNN, GRU, LSTM (Keras' own)"),
        ("examples.coupled_lstm:LAYERS", "CoupledLSTM (SPEC_LAYERS=examples.coupled_lstm:LAYERS)"),
    ],
    ids=["keras-own", "spec-layers"],
)
def test_the_header_names_the_layers_under_test(value, named, tmp_path):
    """The report header names the layers under test: Keras' own, or SPEC_LAYERS's with its value."""
    run = run_pytest(tmp_path, value, "--collect-only", "keras_rnn_spec/test_flags.py", modules=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"\nlayers: {named}\n" in run.stdout


def test_the_option_comes_before_the_variable_and_is_named_in_its_refusal(user_modules, tmp_path):
    """--rnn-spec-layers chooses the layers over SPEC_LAYERS, and a bad value is refused under its own name."""
    chosen = run_pytest(tmp_path, "no_such_module:LAYERS", "--collect-only", "--rnn-spec-layers=keras_rnn_spec.catalogue:GRU", "keras_rnn_spec/test_flags.py", modules=user_modules)
    assert chosen.returncode == 0, chosen.stdout + chosen.stderr
    assert "\nlayers: GRU (SPEC_LAYERS=keras_rnn_spec.catalogue:GRU)\n" in chosen.stdout
    refused = run_pytest(tmp_path, None, "--collect-only", "--rnn-spec-layers=raising_module:LAYERS", "keras_rnn_spec/test_flags.py", modules=user_modules)
    errors = [line for line in refused.stderr.splitlines() if line.startswith("ERROR:")]
    assert refused.returncode == pytest.ExitCode.USAGE_ERROR, refused.stdout + refused.stderr
    assert errors and errors[0].startswith("ERROR: --rnn-spec-layers=raising_module:LAYERS: importing raising_module raised ZeroDivisionError"), errors


def test_the_report_environment_names_keras_own_layers():
    """reports/spec.md's environment table has the layers under test, Keras' own in a default run."""
    keras_own = str(catalogue.select(""))
    assert keras_own == "SimpleRNN, GRU, LSTM (Keras' own)"
    assert report.run_environment(str(ROOT), keras_own)["layers"] == keras_own


# -- a user layer that a copy through its config breaks

BIDIRECTIONAL_CLAIM = "keras_rnn_spec/test_bidirectional.py::test_returns_the_outputs_then_forward_states_then_backward_states"
REFERENCE_CLAIM = "keras_rnn_spec/test_reference.py::test_every_returned_tensor_matches_the_float64_reference"
FLAGS_CLAIM = "keras_rnn_spec/test_flags.py::test_configurations_agree_where_they_overlap"


@pytest.fixture(scope="module")
def broken_layers_run(user_modules, tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """On NoFromConfigRNN, a Bidirectional claim (Keras raises) and a reference claim (the verify
    helper fails); on UnitsOnlyRNN, a flags claim. The run, and the folder holding its report."""
    output = tmp_path_factory.mktemp("broken_layers_run")
    run = run_pytest(
        output,
        "broken_user_layers:LAYERS",
        f"{BIDIRECTIONAL_CLAIM}[NoFromConfigRNN-concat-sequences]",
        f"{REFERENCE_CLAIM}[NoFromConfigRNN-default-call]",
        f"{FLAGS_CLAIM}[UnitsOnlyRNN-default-vs-sequences-call]",
        modules=user_modules,
    )
    return run, output


def failure_section(output: str, test: str) -> str:
    """The text pytest prints under the heading of a failed test named `test` (with its parameters)."""
    sections = re.split(r"\n_+ (\S+) _+\n", output)
    found = [text for name, text in zip(sections[1::2], sections[2::2]) if name.startswith(f"{test}[")]
    assert len(found) == 1, f"no single failure of {test} in:\n{output[-3000:]}"
    return found[0]


def claim_sentence(nodeid: str) -> str:
    """The claim of a test 'keras_rnn_spec/test_x.py::test_y': its docstring's first line."""
    path, function = nodeid.split("::")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    return inspect.getdoc(getattr(module, function)).splitlines()[0]


def test_an_error_inside_keras_is_given_the_claim_and_its_cause(broken_layers_run):
    """A claim that Keras fails on with a raw error names the claim, and the cause in the user's
    layer: the from_config it inherits from keras.layers.RNN, with the fix and where it is described."""
    failure = failure_section(broken_layers_run[0].stdout, "test_returns_the_outputs_then_forward_states_then_backward_states")
    assert "KeyError: 'cell'" in failure
    assert f"Claim:    {claim_sentence(BIDIRECTIONAL_CLAIM)}" in failure
    assert "RNN.from_config, which NoFromConfigRNN inherits, raised KeyError: 'cell'" in failure
    assert 'a from_config that calls cls(**config): README, "Your own layer"' in failure


def test_a_verify_failure_keeps_its_one_claim_line_and_gets_the_cause(broken_layers_run):
    """The verify helper's failure already names the claim: no second Claim line, the cause still added."""
    failure = failure_section(broken_layers_run[0].stdout, "test_every_returned_tensor_matches_the_float64_reference")
    assert failure.count("Claim:") == 1, failure
    assert f"Claim:    {claim_sentence(REFERENCE_CLAIM)}" in failure
    assert "RNN.from_config, which NoFromConfigRNN inherits, raised KeyError: 'cell'" in failure


def test_a_layer_the_spec_cannot_make_is_named_with_the_call_that_failed(broken_layers_run):
    """A claim whose layer cannot be made as the spec makes it names the claim, the call, and the
    arguments the spec passes."""
    failure = failure_section(broken_layers_run[0].stdout, "test_configurations_agree_where_they_overlap")
    assert f"Claim:    {claim_sentence(FLAGS_CLAIM)}" in failure
    made_as = "broken_user_layers.UnitsOnlyRNN(2, return_sequences=True, return_state=True)"
    assert f"Making UnitsOnlyRNN as the spec does, {made_as}, raised TypeError:" in failure
    assert "The spec calls layer_class(units, return_sequences=..., return_state=..., **options)" in failure


def test_the_report_environment_names_the_spec_layers(broken_layers_run):
    """reports/spec.md's environment table names SPEC_LAYERS's layers and the variable's value."""
    report_text = (broken_layers_run[1] / "spec.md").read_text()
    assert "\n| layers | NoFromConfigRNN, UnitsOnlyRNN (SPEC_LAYERS=broken_user_layers:LAYERS) |\n" in report_text


# -- the template README's "Your own layer" points to


def test_the_template_passes_the_whole_spec_with_its_report(tmp_path):
    """examples/my_layer.py passes the whole spec run as README writes it
    (`SPEC_LAYERS=examples.my_layer:LAYERS pytest`), with its report written and naming the layer."""
    run = run_pytest(tmp_path, "examples.my_layer:LAYERS", modules=ROOT)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "INTERNALERROR" not in run.stdout + run.stderr
    assert re.search(r"\n=+ \d+ passed, \d+ skipped, \d+ xfailed in ", run.stdout), run.stdout[-3000:]
    assert "\n| layers | MyRNN (SPEC_LAYERS=examples.my_layer:LAYERS) |\n" in (tmp_path / "spec.md").read_text()
