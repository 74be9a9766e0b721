"""Self-tests of the benchmark summary's arithmetic (benchmarks/report.py): processes pooled into one
figure, the arithmetic floor, and the rule that says whether two runs agree. Every expected value is
worked out by hand from the numbers given. Then where the report and plots are written: only where
asked, and a place no file can be written refused in one line."""

import gzip
import json
import re
import statistics
from pathlib import Path

import pytest

import bad_outputs
from benchmarks import report


def process_entry(benchmark: str, rounds: list[float]) -> dict:
    """pytest-benchmark's JSON entry for one benchmark in one process, cut down to what pooling reads."""
    return {
        "group": benchmark,
        "name": f"test_latency[{benchmark}]",
        "fullname": f"bench.py::test_latency[{benchmark}]",
        "param": benchmark,
        "params": {"path": benchmark},
        "extra_info": {"code": "f(x)"},
        "stats": {"median": statistics.median(rounds), "data": rounds, "iterations": 1},
    }


def test_processes_pool_into_one_figure_with_every_round():
    """A benchmark timed in three processes becomes one entry whose statistics cover the rounds of all three, with each process's median."""
    first = [process_entry("a", [1.0, 1.0, 1.0]), process_entry("b", [5.0, 7.0])]
    second = [process_entry("a", [2.0, 2.0, 2.0])]  # b did not run in the later processes
    third = [process_entry("a", [3.0, 3.0, 3.0])]

    pooled = {entry["param"]: entry for entry in report.pooled_over_processes([first, second, third])}

    assert sorted(pooled) == ["a", "b"]
    a = pooled["a"]
    assert (a["name"], a["fullname"], a["params"]) == ("test_latency[a]", "bench.py::test_latency[a]", {"path": "a"})
    assert (a["stats"]["rounds"], a["stats"]["min"], a["stats"]["median"], a["stats"]["max"]) == (9, 1.0, 2.0, 3.0)
    assert a["extra_info"] == {"code": "f(x)", "process_medians": [1.0, 2.0, 3.0]}
    # b's two rounds, 5 and 7: their median is 6; one process.
    assert (pooled["b"]["stats"]["rounds"], pooled["b"]["stats"]["median"], pooled["b"]["extra_info"]["process_medians"]) == (2, 6.0, [6.0])


def benchmark_entry(path: str, batch: int, process_ms: list[float], flops: int | None = None) -> dict:
    """An LSTM benchmark (default flags, 10 steps, CPU) as the run's JSON holds it; its median is its
    processes' middle one, in seconds."""
    medians = [ms / 1e3 for ms in process_ms]
    middle = sorted(medians)[1]
    return {
        "group": f"LSTM-default-b{batch}-t10-cpu",
        "params": {"layer": "LSTM", "flags": "default", "batch": batch, "timesteps": 10, "device": "CPU", "path": path},
        "stats": {"median": middle, "q1": middle, "q3": middle, "rounds": 3},
        "extra_info": {"process_medians": medians, **({"flops": flops} if flops else {})},
    }


def write_run(path: Path, entries: list[dict]) -> Path:
    path.write_text(json.dumps({"benchmarks": entries, "machine_info": {}, "datetime": "2026-11-25T00:00:00"}))
    return path


# Each path's process medians, in ms: the middle one is the median, and the spread (largest less
# smallest) is 0.1 ms for compiled, 4 for predict, 2 for call and 0.02 for onnxruntime.
PROCESS_MS = {
    "compiled": [0.95, 1.0, 1.05],
    "predict": [48.0, 50.0, 52.0],
    "call": [19.0, 20.0, 21.0],
    "onnxruntime": [0.09, 0.1, 0.11],
}
BATCHES = (1, 2, 3, 4, 5)  # 4 paths x 5 sizes = 20 medians; the rule compares 4 ratios per size:
# predict and call over compiled (the overhead table's), onnxruntime over compiled and over predict.


def run_with(tmp_path: Path, name: str, moved: dict | None = None) -> Path:
    """The 20 benchmarks of PROCESS_MS at every batch, some moved: {(path, batch): process medians in ms}."""
    moved = moved or {}
    entries = [benchmark_entry(path, batch, moved.get((path, batch), ms)) for batch in BATCHES for path, ms in PROCESS_MS.items()]
    return write_run(tmp_path / name, entries)


def test_two_runs_agree_when_95_percent_of_medians_and_of_ratios_do(tmp_path, capsys):
    """Two runs agree when at least 95% of their medians lie within the larger spread between processes, and 95% of their ratios within 10%: exit code 0."""
    first = run_with(tmp_path, "first.json")
    # call at batch 5 moves from 20 to 23 ms: 3 ms, beyond both spreads (2 ms each), so 19 of 20
    # medians agree (95%: enough). Its ratio over compiled moves from 20 to 23 (15% apart), the
    # other 19 ratios stay put: 19 of 20 ratios agree (95%: enough).
    second = run_with(tmp_path, "second.json", {("call", 5): [22.0, 23.0, 24.0]})

    exit_code = report.main(["--stability", str(first), str(second)])

    assert exit_code == 0
    assert capsys.readouterr().out.splitlines() == [
        "Medians within the larger spread between processes of the two runs: 19 of 20 (95.0%); at least 95% must: holds.",
        "Ratios within 10% (each path over compiled, each route over compiled and over predict): 19 of 20 (95.0%); at least 95% must: holds.",
        "The two runs agree.",
        "Medians further apart than both spreads, the furthest first:",
        "  LSTM-default-5-10-CPU-call: 20 ms (spread 2) vs 23 ms (spread 2), 15% apart",
        "Ratios more than 10% apart, the furthest first:",
        "  LSTM-default-5-10-CPU-call over compiled: 20x vs 23x, 15% apart",
    ]


def test_ratios_that_moved_more_than_10_percent_make_the_runs_disagree(tmp_path, capsys):
    """Medians within their spreads are not enough: when fewer than 95% of the ratios agree within 10%, the runs disagree, exit code 1."""
    first = run_with(tmp_path, "first.json")
    # predict at batches 4 and 5 moves from 50 to 58 ms, beyond its spread in the first run (4 ms)
    # but within the second run's (50 to 62: 12 ms), so all 20 medians agree. Two ratios per size
    # hold predict: over compiled 50 -> 58 (16% apart), and onnxruntime over predict 0.1/50 ->
    # 0.1/58 (16% apart): 4 of 20 ratios are off, 16 of 20 (80%) agree: not enough.
    moved = {("predict", 4): [50.0, 58.0, 62.0], ("predict", 5): [50.0, 58.0, 62.0]}
    second = run_with(tmp_path, "second.json", moved)

    exit_code = report.main(["--stability", str(first), str(second)])

    lines = capsys.readouterr().out.splitlines()
    assert exit_code == 1
    assert lines[:3] == [
        "Medians within the larger spread between processes of the two runs: 20 of 20 (100.0%); at least 95% must: holds.",
        "Ratios within 10% (each path over compiled, each route over compiled and over predict): 16 of 20 (80.0%); at least 95% must: does not hold.",
        "The two runs do not agree.",
    ]
    assert sorted(lines[4:]) == sorted(
        f"  LSTM-default-{batch}-10-CPU-{path} over {baseline}: {first_ratio} vs {second_ratio}, 16% apart"
        for batch in (4, 5)
        for path, baseline, first_ratio, second_ratio in (
            ("predict", "compiled", "50x", "58x"),
            ("onnxruntime", "predict", "0.002x", "0.00172x"),  # 0.1/50 and 0.1/58 = 0.001724...
        )
    )


def test_medians_beyond_both_spreads_make_the_runs_disagree(tmp_path):
    """When fewer than 95% of the medians lie within the larger spread of the two runs, the runs disagree, whatever the ratios."""
    first = run_with(tmp_path, "first.json")
    # Everything at batch 5 is 3.3 times slower (the machine was busy, say): the ratios stay put
    # (20 of 20 agree), but 4 of 20 medians move beyond both spreads: 16 of 20 (80%) agree.
    slower = {(path, 5): [3.3 * ms for ms in PROCESS_MS[path]] for path in PROCESS_MS}
    second = run_with(tmp_path, "second.json", slower)

    agree, text = report.stability(report.load(first), report.load(second))

    assert not agree
    assert text.splitlines()[:3] == [
        "Medians within the larger spread between processes of the two runs: 16 of 20 (80.0%); at least 95% must: does not hold.",
        "Ratios within 10% (each path over compiled, each route over compiled and over predict): 20 of 20 (100.0%); at least 95% must: holds.",
        "The two runs do not agree.",
    ]


def test_the_floor_is_a_calls_operations_at_the_matrix_products_rate(tmp_path):
    """A call's floor is its floating-point operations at the rate the run's float32 matrix product reached; the report gives the best path's distance from it."""
    # LSTM, 3 features, 5 units: 8*3*5 + 8*5*5 + 17*5 = 120 + 200 + 85 = 405 operations per step and
    # batch row; batch 32, 10 steps: 32 * 10 * 405 = 129,600 per call.
    operations = report.flops("LSTM", 32, 10, 3, 5)
    assert operations == 129_600
    matmul = {
        "group": report.MATMUL_GROUP,
        "params": None,
        "stats": {"median": 0.01, "q1": 0.01, "q3": 0.01, "rounds": 15},
        "extra_info": {"flops": 10**9, "code": "a @ b", "process_medians": [0.01, 0.01, 0.01]},
    }  # 1e9 operations in 10 ms: 100 GFLOP/s
    compiled = benchmark_entry("compiled", 32, [1.0, 1.0, 1.0], flops=operations)
    predict = benchmark_entry("predict", 32, [50.0, 50.0, 50.0], flops=operations)
    run = report.load(write_run(tmp_path / "run.json", [compiled, predict, matmul]))

    section = report.floor_section(run, "CPU")

    # The floor: 129,600 / 1e11 per second = 1.296 us; the best path, compiled, takes 1 ms: 771.6 times that.
    assert "| LSTM, b32 t10 | 129,600 | 1.3 | compiled | 1 | 772x |" in section.splitlines()
    assert "- LSTM: 8fu + 8u² + 17u = 405 per timestep and batch row" in section
    # Achieved rates: 129,600 operations in 1 ms is 0.1296 GFLOP/s, in 50 ms 0.002592.
    assert {"| compiled | 0.13 |", "| predict | 0.00259 |"} <= set(section.splitlines())


def spec_results(path: Path):
    """Two records of the spec's results file (pytest-reportlog JSON lines), not a benchmark run."""
    path.write_text('{"pytest_version": "9.0.3", "$report_type": "SessionStart"}\n{"exitstatus": 0, "$report_type": "SessionFinish"}\n')


NOT_A_BENCHMARK_RUN = {
    # name: (how to make the file, what the message says it is)
    "the spec's results": (spec_results, "it is a results file of the spec (pytest-reportlog JSON lines)"),
    "gzipped": (lambda path: path.write_bytes(gzip.compress(b"{}")), "not JSON text"),
    "empty": (lambda path: path.write_text(""), "the file is empty"),
    "truncated": (lambda path: path.write_text('{"benchmarks": [{"params": '), "not JSON (Expecting value"),
    "other JSON": (lambda path: path.write_text('{"tests": []}'), "no field 'benchmarks'"),
    "no benchmarks": (lambda path: path.write_text('{"benchmarks": [], "machine_info": {}, "datetime": ""}'), "without benchmarks"),
}


@pytest.mark.parametrize("mode", ["report", "--stability"])
@pytest.mark.parametrize("name", NOT_A_BENCHMARK_RUN)
def test_anything_but_a_benchmark_run_is_refused_in_one_line(tmp_path, name, mode):
    """Given anything but the JSON of a benchmark run, the report stops with one line naming the file, what it is not and what it expects, and writes nothing."""
    make, what = NOT_A_BENCHMARK_RUN[name]
    given = tmp_path / "given.json"
    make(given)
    arguments = [str(given)] if mode == "report" else ["--stability", str(given), str(given)]

    with pytest.raises(SystemExit) as refused:
        report.main(arguments)

    message = str(refused.value.code)
    assert message.startswith(f"{given}: ") and what in message and "\n" not in message
    assert message.endswith("expected a JSON file written by `pytest benchmarks/` (e.g. benchmarks/results/NAME.json)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["given.json"]


def test_an_export_that_aborts_its_process_is_refused_and_the_others_are_written(tmp_path):
    """An export whose process dies is refused with that reason, and every other artifact is still written, before or after it."""
    from aborting_exports import WRITTEN, Named, export

    from benchmarks import routes

    names = ["first", "aborts-1", "second", "aborts-2", "third"]

    exported = routes.export_missing([Named(name) for name in names], tmp_path, export_one=export)

    assert exported == 5 and WRITTEN == routes.WRITTEN
    outcomes = {name: sorted(p.name for p in (tmp_path / name).iterdir()) for name in names}
    assert outcomes == {name: [routes.REFUSED if name.startswith("aborts") else WRITTEN] for name in names}
    for name in ("aborts-1", "aborts-2"):
        assert (tmp_path / name / routes.REFUSED).read_text() == "the export process died without an exception (a native abort)"


# Where the report and plots are written.

ASKED = {
    # what is asked: (with a run's JSON, the option, the file it names)
    "--markdown": (True, "--markdown", "report.md"),
    "--plot": (True, "--plot", "latency.png"),
    "--markdown without a run": (False, "--markdown", "report.md"),
}


@pytest.mark.parametrize(("output", "made", "read_only", "problem"), bad_outputs.BAD_OUTPUTS)
@pytest.mark.parametrize("asked", ASKED)
def test_an_output_no_file_can_be_written_at_is_refused_in_one_line(tmp_path, asked, output, made, read_only, problem):
    """A --markdown or --plot that is a directory, lies under a file or may not be written is refused with one line naming the option, and nothing is written."""
    with_run, option, name = ASKED[asked]
    results = [str(run_with(tmp_path, "run.json"))] if with_run else []
    output = tmp_path / output.format(name=name)
    before = bad_outputs.make(tmp_path, made, read_only, name)

    with pytest.raises(SystemExit) as refused:
        report.main([*results, option, str(output)])

    message = str(refused.value.code)
    assert message.startswith(f"{option} {output}: ") and problem in message and "\n" not in message
    assert bad_outputs.holds(tmp_path) == before


def test_the_floor_plots_place_is_checked_too(tmp_path):
    """A --plot whose floor plot, named after it, cannot be written is refused with one line naming both, and nothing is written."""
    results = run_with(tmp_path, "run.json")
    (tmp_path / "latency_floor.png").mkdir()
    before = bad_outputs.holds(tmp_path)

    with pytest.raises(SystemExit) as refused:
        report.main([str(results), "--plot", str(tmp_path / "latency.png")])

    assert str(refused.value.code) == (
        f"--plot {tmp_path / 'latency.png'}: the floor plot beside it, {tmp_path / 'latency_floor.png'}: "
        "a directory, not a file: name the file to write (one in it, say)"
    )
    assert bad_outputs.holds(tmp_path) == before


@bad_outputs.NOT_AS_ROOT
def test_a_results_folder_that_may_not_be_written_is_refused_when_the_report_goes_beside_it(tmp_path):
    """Without --markdown or --plot, a results folder that may not be written is refused with one line naming the place, and nothing is written."""
    folder = tmp_path / "results"
    folder.mkdir()
    results = run_with(folder, "run.json")
    folder.chmod(0o500)
    before = bad_outputs.holds(tmp_path)

    with pytest.raises(SystemExit) as refused:
        report.main([str(results)])

    assert str(refused.value.code) == (
        f"{folder / 'run.md'} (beside the results, without --markdown): no permission to write in {folder}: "
        "name a path in a folder you can write in"
    )
    assert bad_outputs.holds(tmp_path) == before


@pytest.mark.parametrize("plot", ["latency", "latency.svg"])
def test_a_plot_not_named_png_is_refused_in_one_line(tmp_path, plot):
    """A --plot whose name does not end in .png (matplotlib would write NAME.png, the report link NAME) is refused with one line, and nothing is written."""
    results = run_with(tmp_path, "run.json")

    with pytest.raises(SystemExit) as refused:
        report.main([str(results), "--plot", str(tmp_path / plot)])

    assert str(refused.value.code) == (
        f"--plot {tmp_path / plot}: not a .png name, and the plots are PNG images: name it {tmp_path / 'latency.png'}"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def test_a_plot_alone_writes_the_plots_and_nothing_beside_the_results(tmp_path):
    """Given --plot and no --markdown, the report writes the two plots there and no report (none beside the results to replace)."""
    (tmp_path / "results").mkdir()
    results = run_with(tmp_path / "results", "run.json")  # as benchmarks/results/ holds a committed run

    report.main([str(results), "--plot", str(tmp_path / "plots" / "latency.png")])

    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.*")) == [
        "plots/latency.png",
        "plots/latency_floor.png",
        "results/run.json",
    ]


def test_the_report_goes_into_new_folders_and_links_the_plots_written(tmp_path):
    """--markdown and --plot in folders that do not exist yet: they are made, and each image the report shows is a plot written."""
    results = run_with(tmp_path, "run.json")
    markdown, plots = tmp_path / "docs" / "new" / "report.md", tmp_path / "plots"

    report.main([str(results), "--markdown", str(markdown), "--plot", str(plots / "latency.png")])

    links = re.findall(r"!\[[^]]*\]\(([^)]+)\)", markdown.read_text())
    assert [(markdown.parent / link).resolve() for link in links] == [(plots / name).resolve() for name in ("latency.png", "latency_floor.png")]
    assert all((markdown.parent / link).is_file() for link in links)
