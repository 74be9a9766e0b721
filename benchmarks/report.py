"""Summarise a predict-latency run from the JSON pytest-benchmark wrote: ratios measured side by
side in the run, every figure with its spread (IQR), and a plot.

    python -m benchmarks.report RESULTS.json                   # RESULTS.md and RESULTS.png beside it
    python -m benchmarks.report RESULTS.json --markdown BENCHMARKS.md --plot docs/latency.png
    python -m benchmarks.report --markdown BENCHMARKS.md       # no run yet: what will be measured
    python -m benchmarks.report --stability FIRST.json SECOND.json

The summary is ratios rather than absolute figures: both terms of a ratio come from the same run,
measured close together on the same machine, so a ratio holds better than a figure while other
work slows the machine down. Only the JSON is read (no Keras import), so regenerating is quick.
The run's own conftest uses `pooled_over_passes` to write that JSON.
"""

import argparse
import json
import math
import os
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from pytest_benchmark.stats import Stats

COMPILED = "compiled"  # the path every other path is compared with
PLAIN = "default"  # neither return_sequences nor return_state
SIMPLE_RNN = "SimpleRNN"
CPU = "CPU"
KEY = ("layer", "flags", "batch", "timesteps", "device", "path")  # what identifies a benchmark


@dataclass(frozen=True)
class Figure:
    """One benchmark's result: seconds per call, median and quartiles."""

    layer: str
    flags: str
    batch: int
    timesteps: int
    device: str
    path: str
    median: float
    q1: float
    q3: float
    pass_medians: tuple[float, ...] = ()  # the median of each pass the figure pools

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    def key(self, **changed) -> tuple:
        """(layer, flags, batch, timesteps, device, path), with some of them replaced."""
        fields = {f: getattr(self, f) for f in KEY}
        return tuple({**fields, **changed}[f] for f in KEY)


@dataclass
class Run:
    source: Path
    figures: list[Figure]
    machine: dict
    commit: dict
    info: dict
    finished: str

    def __post_init__(self):
        self.index = {f.key(): f for f in self.figures}

    def values(self, field: str, figures=None) -> list:
        """The values a field takes, in the order the run met them (the grid's order)."""
        return list(dict.fromkeys(getattr(f, field) for f in (self.figures if figures is None else figures)))

    def on(self, device: str) -> list[Figure]:
        return [f for f in self.figures if f.device == device]


EXPECTED = "a JSON file written by `pytest benchmarks/` (e.g. benchmarks/results/NAME.json)"


def load(path: Path) -> Run:
    """The run in a JSON file pytest-benchmark wrote; anything else stops with one line naming the file."""
    data = read_json(Path(path))
    try:
        figures = []
        for bench in data["benchmarks"]:
            params, stats = bench["params"], bench["stats"]
            passes = tuple(bench["extra_info"].get("pass_medians", ()))
            figures.append(Figure(*(params[field] for field in KEY), stats["median"], stats["q1"], stats["q3"], passes))
        run = Run(Path(path), figures, data["machine_info"], data.get("commit_info", {}), data.get("run", {}), data["datetime"])
    except (KeyError, TypeError, AttributeError) as error:
        found = f"no field {error}" if isinstance(error, KeyError) else "fields not shaped as pytest-benchmark's"
        raise SystemExit(f"{path}: not a run of this suite's benchmarks ({found}); expected {EXPECTED}") from None
    if not figures:
        raise SystemExit(f"{path}: a benchmark run without benchmarks (all skipped or deselected?); expected {EXPECTED}")
    return run


def read_json(path: Path):
    """The file's JSON value, or SystemExit saying what the file is instead."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SystemExit(f"{path}: no such file; expected {EXPECTED}") from None
    except UnicodeDecodeError:
        raise SystemExit(f"{path}: not a benchmark run: not JSON text (a gzipped results file of the spec?); expected {EXPECTED}") from None
    if not text.strip():
        raise SystemExit(f"{path}: not a benchmark run: the file is empty; expected {EXPECTED}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        first = text.lstrip().partition("\n")[0]
        if first.startswith("{") and '"$report_type"' in first:
            raise SystemExit(
                f"{path}: not a benchmark run: it is a results file of the spec (pytest-reportlog JSON lines); expected {EXPECTED}"
            ) from None
        raise SystemExit(f"{path}: not a benchmark run: not JSON ({error}); expected {EXPECTED}") from None


def pooled_over_passes(entries: list[dict], rounds: dict[str, list[float]]) -> list[dict]:
    """One entry per benchmark from pytest-benchmark's entries of its passes (tests named
    BENCHMARK-passN), with statistics over the rounds of all passes (pytest-benchmark's own Stats)
    and each pass's median in extra_info["pass_medians"]. `rounds`: each test's timed rounds, by
    its full name."""
    passes = defaultdict(list)
    for entry in entries:
        passes[entry["param"].removesuffix(f"-pass{entry['params']['pass_number']}")].append(entry)
    pooled = []
    for name, entries_of_benchmark in passes.items():
        stats = Stats()
        for entry in entries_of_benchmark:
            for duration in rounds[entry["fullname"]]:
                stats.update(duration)
        first = entries_of_benchmark[0]
        data = {"data": stats.data} if "data" in first["stats"] else {}
        pooled.append(
            {
                **first,
                "name": first["name"].replace(first["param"], name),
                "fullname": first["fullname"].replace(first["param"], name),
                "param": name,
                "params": {k: v for k, v in first["params"].items() if k != "pass_number"},
                "extra_info": {**first["extra_info"], "pass_medians": [e["stats"]["median"] for e in entries_of_benchmark]},
                "stats": {**stats.as_dict(), **data, "iterations": first["stats"]["iterations"]},
            }
        )
    return pooled


# Ratios.


def geometric_mean(values: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values))


def ratios_over(run: Run, figures: list[Figure], field: str, baseline) -> dict[Figure, float]:
    """Each figure's median over the median of the same benchmark with `field` set to `baseline`."""
    found = {}
    for figure in figures:
        base = run.index.get(figure.key(**{field: baseline}))
        if getattr(figure, field) != baseline and base is not None:
            found[figure] = figure.median / base.median
    return found


def number(value: float) -> str:
    """Three significant digits, without an exponent."""
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def summarised(values: list[float], with_range: bool = True) -> str:
    """Geometric mean of ratios, and their range when there is more than one."""
    if not values:
        return "-"
    middle = f"{number(geometric_mean(values))}x"
    if not with_range or len(values) == 1:
        return middle
    return f"{middle} ({number(min(values))} to {number(max(values))})"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def size(batch: int, timesteps: int) -> str:
    return f"b{batch} t{timesteps}"


def overhead_section(run: Run, device: str) -> str:
    figures = run.on(device)
    found = ratios_over(run, figures, "path", COMPILED)
    if not found:
        return f"No {COMPILED} path on {device} in this run: no overhead factors."
    sizes = list(dict.fromkeys((f.batch, f.timesteps) for f in figures))
    header = ["path", *(size(*s) for s in sizes), "all sizes"]
    rows = []
    for path in run.values("path", found):
        mine = {f: r for f, r in found.items() if f.path == path}
        cells = [summarised([r for f, r in mine.items() if (f.batch, f.timesteps) == s], with_range=False) for s in sizes]
        rows.append([path, *cells, summarised(list(mine.values()))])
    return (
        f"Median latency of each path over the {COMPILED} path's, same layer, flags and size, on {device}; "
        "geometric mean over layers and flags (all sizes: with the range).\n\n" + table(header, rows)
    )


def by_path_section(run: Run, device: str, field: str, baseline, what: str, split_timesteps: bool) -> str:
    figures = run.on(device)
    found = ratios_over(run, figures, field, baseline)
    if not found:
        return f"No {baseline} figures to compare with on {device} in this run."
    paths = run.values("path", figures)
    lengths = run.values("timesteps", figures) if split_timesteps else [None]
    rows = []
    for value in run.values(field, found):
        for timesteps in lengths:
            mine = [(f, r) for f, r in found.items() if getattr(f, field) == value and timesteps in (None, f.timesteps)]
            label = value if timesteps is None else f"{value}, {timesteps} steps"
            rows.append([label, *(summarised([r for f, r in mine if f.path == p]) for p in paths)])
    return f"{what}, on {device}; geometric mean (range).\n\n" + table([field, *paths], rows)


def per_step_section(run: Run, device: str) -> str:
    figures = run.on(device)
    lengths = sorted(run.values("timesteps", figures))
    if len(lengths) < 2:
        return f"Needs two sequence lengths; this run had {lengths} on {device}."
    short, long = lengths[0], lengths[-1]
    paths = run.values("path", figures)
    rows = []
    for layer in run.values("layer", figures):
        for batch in run.values("batch", figures):
            cells = []
            for path in paths:
                pairs = [
                    (f, run.index.get(f.key(timesteps=long)))
                    for f in figures
                    if (f.layer, f.batch, f.path, f.timesteps) == (layer, batch, path, short)
                ]
                slopes = [(longer.median - f.median) / (long - short) for f, longer in pairs if longer]
                cells.append(number(statistics.median(slopes) * 1e6) if slopes else "-")
            rows.append([f"{layer}, b{batch}", *cells])
    return (
        f"Microseconds per timestep on {device}: (median at {long} steps - median at {short}) / {long - short}; "
        "median over the flag sets.\n\n" + table(["layer, batch", *paths], rows)
    )


def gpu_section(run: Run) -> str:
    others = [d for d in run.values("device") if d != CPU]
    if not others:
        return "No GPU ran in this run: no GPU-over-CPU ratios."
    parts = []
    for device in others:
        figures = run.on(device)
        found = ratios_over(run, figures, "device", CPU)
        paths = run.values("path", figures)
        rows = []
        for layer in run.values("layer", figures):
            for batch in run.values("batch", figures):
                for timesteps in run.values("timesteps", figures):
                    mine = [(f, r) for f, r in found.items() if (f.layer, f.batch, f.timesteps) == (layer, batch, timesteps)]
                    cells = [summarised([r for f, r in mine if f.path == p]) for p in paths]
                    rows.append([f"{layer}, {size(batch, timesteps)}", *cells])
        parts.append(
            f"{device} median over CPU median, same benchmark; geometric mean over flags (range).\n\n"
            + table(["layer, size", *paths], rows)
        )
    return "\n\n".join(parts)


def summary(run: Run) -> str:
    """The ratios, as Markdown: printed at the end of a run and part of the written report."""
    sections = []
    for device in run.values("device"):
        sections += [
            f"### Overhead on {device}: each path over the compiled path",
            overhead_section(run, device),
            f"### Flags on {device}: return_sequences / return_state over the plain layer",
            by_path_section(
                run, device, "flags", PLAIN, "Median over the plain layer's (no flags), same layer, size and path", False
            ),
            f"### Layers on {device}: GRU and LSTM over SimpleRNN",
            by_path_section(run, device, "layer", SIMPLE_RNN, "Median over SimpleRNN's, same flags, size and path", True),
            f"### Cost per timestep on {device}",
            per_step_section(run, device),
        ]
    sections += ["### GPU over CPU", gpu_section(run)]
    return "\n\n".join(sections)


# Figures and the written report.


def milliseconds(seconds: float) -> str:
    return number(seconds * 1e3)


def figures_section(run: Run) -> str:
    parts = []
    paths = run.values("path")
    for device in run.values("device"):
        for layer in run.values("layer"):
            rows = []
            mine = [f for f in run.on(device) if f.layer == layer]
            for flags in run.values("flags", mine):
                for batch in run.values("batch", mine):
                    for timesteps in run.values("timesteps", mine):
                        cells = []
                        for path in paths:
                            f = run.index.get((layer, flags, batch, timesteps, device, path))
                            cells.append(f"{milliseconds(f.median)} ({milliseconds(f.iqr)})" if f else "skipped")
                        rows.append([flags, str(batch), str(timesteps), *cells])
            parts.append(f"#### {layer} on {device}\n\n" + table(["flags", "batch", "steps", *paths], rows))
    return "\n\n".join(parts)


def description(timing: dict | None) -> str:
    """What is measured and how; the timing budget as the run recorded it."""
    if timing:
        how = (
            f"the grid runs {timing['passes']} times over, one pass after the other; in each pass a path is "
            f"called first, {timing['warmup_calls']} times in the first pass (the first call traces or compiles) "
            f"and {timing['warmup_calls_later']} in the others, then timed for "
            f"about {timing['seconds_per_pass']} s, at least {timing['min_rounds_per_pass']} and at most "
            f"{timing['max_rounds_per_pass']} calls. A figure pools the rounds of all passes, so its spread "
            "covers the whole run, not one moment of it"
        )
    else:
        how = "each path is called first (the first call traces or compiles), then timed (benchmarks/runs.py)"
    return f"""\
What a Keras recurrent layer costs per prediction, and where the time goes: the same layer and
weights timed along five paths, from a numpy batch to numpy outputs.

- Layers: SimpleRNN, GRU, LSTM with 5 units on 3 features (the notes' sizes), seeded uniform
  weights and N(0, 1) inputs (the spec's `keras_rnn_spec/observe.py`); the four `return_sequences` /
  `return_state` combinations; batch 1, 32, 256; 10 and 100 timesteps.
- Paths: `predict` (`Model.predict(x, batch_size=len(x))`, the notes' path), `predict_on_batch`,
  `call` (the layer called eagerly), `compiled` (the layer inside `tf.function`; `jax.jit` on JAX)
  and `compiled_xla` (`tf.function(jit_compile=True)`, TensorFlow only). A path a backend lacks is
  skipped with its reason.
- Devices: CPU, and the first visible GPU with TF32 off, cuDNN kernels required for GRU and LSTM
  (`use_cudnn=True`, Keras 3 on TensorFlow), and its outputs checked against the CPU's.
- Timing: {how}.
- Figures are medians with the interquartile range (IQR). Every timed path's outputs are checked
  against the spec's float64 reference.
"""


def machine_section(run: Run) -> str:
    machine, info, commit = run.machine, run.info, run.commit
    subject = machine.get("subject", {})
    cpu = machine.get("cpu", {})
    ran = defaultdict(int)
    for figure in run.figures:
        ran[figure.device] += 1
    devices = ", ".join(f"{d} ({n} benchmarks)" for d, n in ran.items()) or "nothing"
    asked = ["CPU", "GPU"] if info.get("device_option", "all") == "all" else [info["device_option"].upper()]
    devices += "".join(f"; {d} not run (none visible)" for d in asked if d not in ran)
    revision = commit.get("id", "unknown")[:12] + (" (with uncommitted changes)" if commit.get("dirty") else "")
    return "\n".join(
        [
            f"- Results: `{run.source.name}`, finished {run.finished} after {info.get('seconds', '?')} s",
            f"- Command: `{info.get('command', '?')}`",
            f"- Suite revision: {revision}",
            "- Subject: " + ", ".join(f"{k} {v}" for k, v in subject.items()),
            f"- Machine: {cpu.get('brand_raw', machine.get('processor') or '?')}, {machine.get('cpu_count', '?')} cores, "
            f"{machine.get('system', '?')} {machine.get('release', '')} {machine.get('machine', '')}",
            f"- GPUs visible: {', '.join(machine.get('gpus') or []) or 'none'}",
            f"- Ran on: {devices}; GPU matmuls kept in float32 by {info.get('float32', '?')}",
            f"- Load average (1, 5, 15 min) at the end of the run: {info.get('load_average_at_end', '?')}",
            f"- Drift between passes: {pass_drift(run)}",
        ]
    )


def pass_drift(run: Run) -> str:
    """How far a benchmark's pass medians lie apart (largest over smallest), over the run's benchmarks."""
    spreads = sorted(max(f.pass_medians) / min(f.pass_medians) - 1 for f in run.figures if len(f.pass_medians) > 1)
    if not spreads:
        return "one pass only"
    return (
        f"a benchmark's largest pass median exceeded its smallest by {statistics.median(spreads):.0%} "
        f"(median over {len(spreads)} benchmarks), {spreads[int(0.9 * (len(spreads) - 1))]:.0%} "
        f"(90th percentile), at most {spreads[-1]:.0%}"
    )


def markdown(run: Run | None, plot: Path | None, destination: Path) -> str:
    command = "python -m benchmarks.report"
    head = (
        f"# Predict latency\n\n<!-- Generated by `{command}`: edit benchmarks/report.py, not this file. -->\n\n"
        + description(run.info.get("timing") if run else None)
    )
    if run is None:
        return (
            head
            + "\n## Figures\n\nNot measured yet. On a quiet machine, run `pytest benchmarks/` and then\n"
            + f"`{command} benchmarks/results/NAME.json --markdown {destination.name}`.\n"
        )
    picture = os.path.relpath(plot, destination.parent) if plot else None
    return "\n\n".join(
        [
            head.rstrip(),
            "## The run",
            machine_section(run),
            "## Latency by path and sequence length",
            f"![latency by path and sequence length]({picture})" if picture else "No plot was written.",
            "## Ratios, measured side by side in the same run",
            summary(run),
            "## Figures: median (IQR) in milliseconds per call",
            figures_section(run),
            "## Reproduce and compare",
            "```\n"
            "pytest benchmarks/   # the full run; --quick: the CI subset; --device cpu|gpu|all\n"
            f"{command} {os.path.relpath(run.source)} --markdown OUT.md   # this report again\n"
            f"{command} --stability FIRST.json SECOND.json   # do two runs' medians agree within their IQRs?\n"
            "# pytest-benchmark's own comparison; without plugin autoload, which trips the strict pytest.ini:\n"
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 pytest-benchmark compare FIRST.json SECOND.json \\\n"
            "    --columns=median,iqr --group-by=group\n"
            "```",
        ]
    ) + "\n"


def plot(run: Run, destination: Path) -> None:
    """Median latency (log scale) by path, one bar per sequence length and device, IQR as whiskers;
    one panel per layer and batch size, for the plain layer (no flags)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    flags = PLAIN if PLAIN in run.values("flags") else run.values("flags")[0]
    shown = [f for f in run.figures if f.flags == flags]
    layers, batches, paths = run.values("layer", shown), run.values("batch", shown), run.values("path", shown)
    series = list(dict.fromkeys((f.device, f.timesteps) for f in shown))
    figure, axes = pyplot.subplots(
        len(layers), len(batches), figsize=(4.2 * len(batches), 3.2 * len(layers)), squeeze=False, sharey=True
    )
    width = 0.8 / len(series)
    for row, layer in enumerate(layers):
        for column, batch in enumerate(batches):
            axis = axes[row][column]
            for place, (device, timesteps) in enumerate(series):
                found = [run.index.get((layer, flags, batch, timesteps, device, path)) for path in paths]
                places = [i + (place - (len(series) - 1) / 2) * width for i, f in enumerate(found) if f]
                present = [f for f in found if f]
                axis.bar(
                    places,
                    [f.median * 1e3 for f in present],
                    width,
                    yerr=[[(f.median - f.q1) * 1e3 for f in present], [(f.q3 - f.median) * 1e3 for f in present]],
                    label=f"{device}, {timesteps} steps",
                    capsize=2,
                )
            axis.set_yscale("log")
            axis.set_xticks(range(len(paths)), [p.replace("_", "\n") for p in paths], fontsize=7)
            axis.set_title(f"{layer}, batch {batch}", fontsize=9)
            axis.grid(axis="y", which="major", alpha=0.3)
            if column == 0:
                axis.set_ylabel("ms per call (median, IQR)")
    axes[0][0].legend(fontsize=7)
    subject = run.machine.get("subject", {})
    figure.suptitle(
        f"Predict latency by path, {flags} flags\nkeras {subject.get('keras', '?')}, backend {subject.get('backend', '?')}",
        fontsize=10,
    )
    figure.tight_layout()
    destination.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(destination, dpi=110)
    pyplot.close(figure)


def write(results: Path, markdown_path: Path | None = None, plot_path: Path | None = None) -> list[Path]:
    """Write the report and the plot for a results file (beside it unless told); returns the paths."""
    run = load(results)
    markdown_path = markdown_path or results.with_suffix(".md")
    plot_path = plot_path or results.with_suffix(".png")
    plot(run, plot_path)
    markdown_path.write_text(markdown(run, plot_path, markdown_path))
    return [markdown_path, plot_path]


# Stability: do two runs of the same benchmarks agree?


def stability(first: Run, second: Run) -> tuple[bool, str]:
    """Two medians agree when they differ by no more than the larger of the two IQRs."""
    shared = [key for key in first.index if key in second.index]
    disagree = []
    for key in shared:
        a, b = first.index[key], second.index[key]
        if abs(a.median - b.median) > max(a.iqr, b.iqr):
            disagree.append((abs(a.median - b.median) / min(a.median, b.median), key, a, b))
    lines = [f"{len(shared) - len(disagree)} of {len(shared)} medians agree within the larger IQR of the two runs."]
    for relative, key, a, b in sorted(disagree, reverse=True):
        lines.append(
            f"  {'-'.join(str(k) for k in key)}: {milliseconds(a.median)} ms (IQR {milliseconds(a.iqr)}) "
            f"vs {milliseconds(b.median)} ms (IQR {milliseconds(b.iqr)}), {relative:.0%} apart"
        )
    return bool(shared) and not disagree, "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="?", type=Path, help="a JSON file written by `pytest benchmarks/`")
    parser.add_argument("--markdown", type=Path, help="where to write the report (default: beside the results, .md)")
    parser.add_argument("--plot", type=Path, help="where to write the plot (default: beside the results, .png)")
    parser.add_argument("--stability", nargs=2, type=Path, metavar=("FIRST", "SECOND"), help="compare two runs' medians")
    args = parser.parse_args(argv)
    if args.stability:
        agree, text = stability(load(args.stability[0]), load(args.stability[1]))
        print(text)
        return 0 if agree else 1
    if args.results is None:
        if args.markdown is None:
            parser.error("give a results file, or --markdown for the report without results")
        args.markdown.write_text(markdown(None, None, args.markdown))
        print(f"written: {args.markdown}")
        return 0
    written = write(args.results, args.markdown, args.plot)
    print(summary(load(args.results)))
    print("written: " + ", ".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
