"""The benchmark session: its options, a results file named after the subject and device, the
machine's description in that file, each benchmark's passes pooled into one entry of that file, and
the summary (Markdown and a plot) at the end.

Without --benchmark-json, results go to benchmarks/results/NAME.json, where NAME says which Keras,
backend and devices ran (keras-3.15.1_tensorflow-2.21.0_cpu), with "_quick" for the quick mode;
the summary and the plot are written beside it as NAME.md and NAME.png.
"""

import os
import shlex
import time
from pathlib import Path

import pytest

from benchmarks import report, runs
from keras_rnn_spec import subject
from keras_rnn_spec.session import verify  # noqa: F401 (the spec's verify fixture, for the output checks)
from keras_rnn_spec.subject import KERAS_VERSION, backend_name, keras

RESULTS = Path(__file__).parent / "results"
STARTED = pytest.StashKey[float]()
FLOAT32 = pytest.StashKey[str]()  # what was done to keep GPU matmuls in float32


def pytest_addoption(parser):
    group = parser.getgroup("predict latency benchmarks (benchmarks/)")
    group.addoption(
        "--quick",
        action="store_true",
        help="a small subset for CI or a smoke check: LSTM, batch 32, 10 steps, two flag sets, every path",
    )
    group.addoption(
        "--device",
        choices=("cpu", "gpu", "all"),
        default="all",
        help="which devices to benchmark; a device that is not visible is skipped with its reason (default: all)",
    )


class ResultsFile:
    """The default --benchmark-json target, opened only when pytest-benchmark writes to it, so an
    interrupted run leaves the previous results in place (argparse.FileType would empty it at once)."""

    def __init__(self, path: Path):
        self.name = str(path)

    def __enter__(self):
        Path(self.name).parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.name, "wb")
        return self._file

    def __exit__(self, *exc_info):
        self._file.close()

    def __str__(self) -> str:
        return self.name


def run_name(config) -> str:
    """keras-3.15.1_tensorflow-2.21.0_cpu: the subject, and the devices that run ("+" between them)."""
    devices = [d.lower() for d in runs.chosen_devices(config.getoption("device")) if runs.device_visible(d)]
    name = f"{keras.__name__}-{KERAS_VERSION}_{backend_name()}-{runs.backend_version()}_{'+'.join(devices) or 'none'}"
    return name + ("_quick" if config.getoption("quick") else "")


@pytest.hookimpl(tryfirst=True)  # before pytest-benchmark's own pytest_configure reads --benchmark-json
def pytest_configure(config):
    # With every benchmark skipped (no GPU for --device gpu) pytest-benchmark warns that it saves
    # nothing; the summary at the end says so, and the root pytest.ini would make it an error.
    warning = "pytest_benchmark.logger.PytestBenchmarkWarning"
    config.addinivalue_line("filterwarnings", f"ignore:Not saving anything:{warning}")
    # A benchmark that fails before it is timed (a build error) would also be reported as an error
    # for not using its fixture: one report is enough.
    config.addinivalue_line("filterwarnings", f"ignore:Benchmark fixture was not used:{warning}")
    config.stash[STARTED] = time.time()
    config.stash[FLOAT32] = runs.keep_float32_exact()
    if config.getoption("benchmark_json") is None:
        config.option.benchmark_json = ResultsFile(RESULTS / f"{run_name(config)}.json")


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["subject"] = subject.versions()
    machine_info["cpu_count"] = os.cpu_count()
    machine_info["gpus"] = runs.gpu_names()


def pytest_benchmark_update_json(config, benchmarks, output_json):
    output_json["run"] = {
        "command": shlex.join(["pytest", *config.invocation_params.args]),
        "quick": config.getoption("quick"),
        "device_option": config.getoption("device"),
        "float32": config.stash[FLOAT32],
        "timing": {
            "passes": runs.PASSES,
            "warmup_calls": runs.WARMUP_CALLS,
            "warmup_calls_later": runs.WARMUP_CALLS_LATER,
            "seconds_per_pass": runs.SECONDS_PER_PASS,
            "min_rounds_per_pass": runs.MIN_ROUNDS_PER_PASS,
            "max_rounds_per_pass": runs.MAX_ROUNDS_PER_PASS,
        },
        "seconds": round(time.time() - config.stash[STARTED], 1),
        "load_average_at_end": [round(load, 2) for load in os.getloadavg()],
    }
    # pytest-benchmark's table lists each pass; the JSON, and so the summary, has one figure per benchmark.
    rounds = {bench.fullname: bench.stats.data for bench in benchmarks}  # the JSON may leave them out
    output_json["benchmarks"] = report.pooled_over_passes(output_json["benchmarks"], rounds)
    if isinstance(config.option.benchmark_json, ResultsFile):
        # Keep our own results file small enough to commit: the statistics, not every round's time.
        for bench in output_json["benchmarks"]:
            bench["stats"].pop("data", None)


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's table
def pytest_terminal_summary(terminalreporter, config):
    if config.option.collectonly:
        return
    target = config.getoption("benchmark_json")
    path = Path(target.name) if target is not None else None
    if path is None or not path.exists() or path.stat().st_mtime < config.stash[STARTED]:
        terminalreporter.write_sep("-", "predict latency summary: no results were written in this run")
        return
    written = report.write(path)
    terminalreporter.write_sep("-", "predict latency summary")
    terminalreporter.write_line(report.summary(report.load(path)))
    terminalreporter.write_line("written: " + ", ".join(str(p) for p in [path, *written]))
