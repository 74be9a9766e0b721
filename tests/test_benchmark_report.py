"""Self-tests of the benchmark summary's arithmetic (benchmarks/report.py): passes pooled into one
figure, and the check that two runs' medians agree. Every expected value is worked out by hand
from the rounds given."""

import gzip
from pathlib import Path

import pytest

from benchmarks import report


def pass_entry(benchmark: str, number: int, median: float) -> dict:
    """pytest-benchmark's JSON entry for one pass of one benchmark, cut down to what pooling reads."""
    param = f"{benchmark}-pass{number}"
    return {
        "group": benchmark,
        "name": f"test_latency[{param}]",
        "fullname": f"bench.py::test_latency[{param}]",
        "param": param,
        "params": {"path": benchmark, "pass_number": number},
        "extra_info": {"code": "f(x)"},
        "stats": {"median": median, "iterations": 1},
    }


def figure(path: str, median_ms: float, iqr_ms: float) -> report.Figure:
    """A figure as the report loads it, in seconds, from milliseconds."""
    median, iqr = median_ms / 1e3, iqr_ms / 1e3
    return report.Figure("LSTM", "default", 32, 10, "CPU", path, median, median - iqr / 2, median + iqr / 2)


def run_of(*figures: report.Figure) -> report.Run:
    return report.Run(Path("run.json"), list(figures), machine={}, commit={}, info={}, finished="")


def test_passes_pool_into_one_figure_with_every_round():
    """A benchmark timed in three passes becomes one entry whose statistics cover the rounds of all three."""
    rounds = {
        "bench.py::test_latency[a-pass1]": [1.0, 1.0, 1.0],
        "bench.py::test_latency[a-pass2]": [2.0, 2.0, 2.0],
        "bench.py::test_latency[a-pass3]": [3.0, 3.0, 3.0],
        "bench.py::test_latency[b-pass1]": [5.0, 7.0],
    }
    entries = [pass_entry("a", 1, 1.0), pass_entry("b", 1, 6.0), pass_entry("a", 2, 2.0), pass_entry("a", 3, 3.0)]

    pooled = {entry["param"]: entry for entry in report.pooled_over_passes(entries, rounds)}

    assert sorted(pooled) == ["a", "b"]
    a = pooled["a"]
    assert (a["name"], a["fullname"], a["params"]) == ("test_latency[a]", "bench.py::test_latency[a]", {"path": "a"})
    assert (a["stats"]["rounds"], a["stats"]["min"], a["stats"]["median"], a["stats"]["max"]) == (9, 1.0, 2.0, 3.0)
    assert a["extra_info"] == {"code": "f(x)", "pass_medians": [1.0, 2.0, 3.0]}
    assert (pooled["b"]["stats"]["rounds"], pooled["b"]["stats"]["median"]) == (2, 6.0)


def test_medians_within_the_larger_iqr_agree():
    """Two runs agree when every shared median moved by no more than the larger IQR of its two figures."""
    first = run_of(figure("call", 10.0, 1.0), figure("predict", 50.0, 4.0))
    second = run_of(figure("call", 10.6, 0.5), figure("predict", 47.0, 2.0))

    agree, text = report.stability(first, second)

    assert agree, text
    assert text == "2 of 2 medians agree within the larger IQR of the two runs."


def test_a_median_beyond_both_iqrs_is_named():
    """A median that moved further than both IQRs makes the runs disagree, and the report names it."""
    first = run_of(figure("call", 10.0, 1.0), figure("predict", 50.0, 4.0))
    # 7 ms apart: beyond the larger IQR (5 ms), though within the two IQRs added up (9 ms).
    second = run_of(figure("call", 10.5, 1.0), figure("predict", 57.0, 5.0))

    agree, text = report.stability(first, second)

    assert not agree
    assert text.splitlines() == [
        "1 of 2 medians agree within the larger IQR of the two runs.",
        "  LSTM-default-32-10-CPU-predict: 50 ms (IQR 4) vs 57 ms (IQR 5), 14% apart",
    ]


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
