"""The benchmark session: its options, the run's processes, a results file named after the subject and
device, the machine's description in that file, each benchmark's processes pooled into one entry of
that file, and the summary (Markdown and plots) at the end.

A run is --processes passes over the grid, each in a process of its own, one after the other. The
process started by `pytest benchmarks/` is the first: before timing anything it exports the
deployment routes' artifacts into the run's directory (benchmarks/routes.py); after its own pass it
runs the others, each a pytest run of the same command with --benchmark-json into that directory,
and pools every process's rounds into the results.

Without --benchmark-json, results go to benchmarks/results/NAME.json, where NAME says which Keras,
backend and devices ran (keras-3.15.1_tensorflow-2.21.0_cpu), with "_quick" for the quick mode;
the summary and the plots are written beside it as NAME.md, NAME.png and NAME_floor.png.
"""

import argparse
import dataclasses
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

from benchmarks import report, routes, runs
from keras_rnn_spec import subject
from keras_rnn_spec.session import verify  # noqa: F401 (the spec's verify fixture, for the output checks)
from keras_rnn_spec.subject import KERAS_VERSION, backend_name, keras

RESULTS = Path(__file__).parent / "results"
STARTED = pytest.StashKey[float]()
FLOAT32 = pytest.StashKey[str]()  # what was done to keep GPU matmuls in float32
RUN_DIRECTORY = pytest.StashKey[Path]()
SKIPPED = pytest.StashKey[Counter]()  # this process's skip reasons, with how many benchmarks each
LOAD_AT_START = pytest.StashKey[list]()  # other work on the machine as the run began
LATER = pytest.StashKey[list]()  # the later processes: (number, exit code, seconds)


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
    group.addoption(
        "--processes",
        type=int,
        default=runs.PROCESSES,
        help=f"passes over the grid, each in a process of its own, one after the other (default: {runs.PROCESSES})",
    )
    # Set by the first process on the ones it starts: the run's directory, and which process this is.
    group.addoption("--run-directory", type=Path, help=argparse.SUPPRESS)
    group.addoption("--process-number", type=int, default=1, help=argparse.SUPPRESS)


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


def first_process(config) -> bool:
    return config.getoption("process_number") == 1


@pytest.hookimpl(tryfirst=True)  # before pytest-benchmark's own pytest_configure reads --benchmark-json
def pytest_configure(config):
    if config.getoption("processes") < 1:
        raise pytest.UsageError(f"--processes={config.getoption('processes')}: a run needs one process at least")
    # With every benchmark skipped (no GPU for --device gpu) pytest-benchmark warns that it saves
    # nothing; the summary at the end says so, and the root pytest.ini would make it an error.
    warning = "pytest_benchmark.logger.PytestBenchmarkWarning"
    config.addinivalue_line("filterwarnings", f"ignore:Not saving anything:{warning}")
    # A benchmark that fails before it is timed (a build error) would also be reported as an error
    # for not using its fixture: one report is enough.
    config.addinivalue_line("filterwarnings", f"ignore:Benchmark fixture was not used:{warning}")
    # pytest-benchmark's table shows one process's figures; the summary at the end pools them all.
    config.option.benchmark_quiet = True
    config.stash[STARTED] = time.time()
    config.stash[LOAD_AT_START] = [round(load, 2) for load in os.getloadavg()]
    config.stash[FLOAT32] = runs.keep_float32_exact()
    config.stash[SKIPPED] = Counter()
    config.stash[LATER] = []
    given = config.getoption("run_directory")
    config.stash[RUN_DIRECTORY] = given or Path(tempfile.mkdtemp(prefix="predict-latency-"))
    if config.getoption("benchmark_json") is None:
        config.option.benchmark_json = ResultsFile(RESULTS / f"{run_name(config)}.json")


def pytest_unconfigure(config):
    if RUN_DIRECTORY in config.stash and config.getoption("run_directory") is None:
        shutil.rmtree(config.stash[RUN_DIRECTORY], ignore_errors=True)


@pytest.fixture(scope="session")
def run_directory(pytestconfig) -> Path:
    """The run's directory: the routes' artifacts, and the later processes' results."""
    return pytestconfig.stash[RUN_DIRECTORY]


def settings_of(items) -> list[runs.Setting]:
    """The benchmarks among the collected items (the matrix product is not one)."""
    names = [field.name for field in dataclasses.fields(runs.Setting)]
    return [
        runs.Setting(**{name: item.callspec.params[name] for name in names})
        for item in items
        if hasattr(item, "callspec") and set(names) <= set(item.callspec.params)
    ]


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session):
    """In the first process: the exports, this process's pass, then the later processes one by one."""
    config = session.config
    if not first_process(config) or config.option.collectonly or session.testsfailed:
        return (yield)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    needed = [routes.artifact_of(s) for s in settings_of(session.items) if s.path in routes.ROUTE_PATHS and s.device == "CPU"]
    started = time.time()
    exported = routes.export_missing(needed, config.stash[RUN_DIRECTORY])
    if exported and reporter:
        reporter.write_line(f"exported {exported} artifact{'s' * (exported != 1)} for the deployment routes in {time.time() - started:.0f} s")
    finished = yield
    for number in range(2, config.getoption("processes") + 1):
        if session.testsfailed:  # a failed check fails alike in every process
            break
        if reporter:
            reporter.write_sep("=", f"process {number} of {config.getoption('processes')}")
        started = time.time()
        capture = config.pluginmanager.get_plugin("capturemanager")
        with capture.global_and_fixture_disabled():
            code = subprocess.run(later_process_command(config, number), cwd=config.invocation_params.dir).returncode
        config.stash[LATER].append((number, code, round(time.time() - started, 1)))
        if code != 0:
            session.testsfailed += 1
    return finished


def later_process_command(config, number: int) -> list[str]:
    directory = config.stash[RUN_DIRECTORY]
    return [
        sys.executable, "-m", "pytest", *config.invocation_params.args,
        "-p", "no:cacheprovider",
        f"--benchmark-json={later_results(directory, number)}",
        f"--run-directory={directory}",
        f"--process-number={number}",
    ]  # fmt: skip


def later_results(directory: Path, number: int) -> Path:
    return directory / f"process-{number}.json"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.skipped and isinstance(report.longrepr, tuple):  # (file, line, "Skipped: reason")
        item.config.stash[SKIPPED][report.longrepr[2].removeprefix("Skipped: ")] += 1
    return report


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["subject"] = subject.versions()
    machine_info["cpu_count"] = os.cpu_count()
    machine_info["memory_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    machine_info["openvino_default_precision"] = routes.openvino_precision()  # what openvino_default computes in
    machine_info["gpus"] = runs.gpu_names()


def pytest_benchmark_update_json(config, benchmarks, output_json):
    if not first_process(config):
        return  # a later process's results: its rounds, for the first process to pool
    directory = config.stash[RUN_DIRECTORY]
    later = [json.loads(path.read_text())["benchmarks"] for n, _, _ in config.stash[LATER] if (path := later_results(directory, n)).exists()]
    output_json["run"] = {
        "command": shlex.join(["pytest", *config.invocation_params.args]),
        "quick": config.getoption("quick"),
        "device_option": config.getoption("device"),
        "float32": config.stash[FLOAT32],
        "processes": config.getoption("processes"),
        "processes_pooled": 1 + len(later),
        "later_processes": [{"number": n, "exit_code": code, "seconds": s} for n, code, s in config.stash[LATER]],
        "timing": {
            "processes": config.getoption("processes"),
            "warmup_calls": runs.WARMUP_CALLS,
            "seconds_per_process": runs.SECONDS_PER_PROCESS,
            "min_rounds_per_process": runs.MIN_ROUNDS_PER_PROCESS,
            "max_rounds_per_process": runs.MAX_ROUNDS_PER_PROCESS,
            "matmul_size": runs.MATMUL_SIZE,
            "matmul_rounds_per_process": runs.MATMUL_ROUNDS,
        },
        "skipped": dict(config.stash[SKIPPED]),
        "seconds": round(time.time() - config.stash[STARTED], 1),
        "load_average_at_start": config.stash[LOAD_AT_START],
        "load_average_at_end": [round(load, 2) for load in os.getloadavg()],
    }
    # The JSON may leave this process's rounds out (--benchmark-save without --benchmark-save-data).
    rounds = {bench.fullname: bench.stats.data for bench in benchmarks}
    own = [{**entry, "stats": {**entry["stats"], "data": rounds[entry["fullname"]]}} for entry in output_json["benchmarks"]]
    output_json["benchmarks"] = report.pooled_over_processes([own, *later])
    if isinstance(config.option.benchmark_json, ResultsFile):
        # Keep our own results file small enough to commit: the statistics, not every round's time.
        for bench in output_json["benchmarks"]:
            bench["stats"].pop("data", None)


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's table
def pytest_terminal_summary(terminalreporter, config):
    if config.option.collectonly or not first_process(config):
        return
    for number, code, seconds in config.stash[LATER]:
        if code != 0:
            terminalreporter.write_line(f"process {number} failed (exit code {code}, after {seconds} s): its output is above")
    target = config.getoption("benchmark_json")
    path = Path(target.name) if target is not None else None
    if path is None or not path.exists() or path.stat().st_mtime < config.stash[STARTED]:
        terminalreporter.write_sep("-", "predict latency summary: no results were written in this run")
        return
    written = report.write(path)
    terminalreporter.write_sep("-", "predict latency summary")
    terminalreporter.write_line(report.summary(report.load(path)))
    terminalreporter.write_line("written: " + ", ".join(str(p) for p in [path, *written]))
