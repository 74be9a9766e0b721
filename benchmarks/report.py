"""Summarise a predict-latency run from the JSON pytest-benchmark wrote: ratios measured side by
side in the run, the arithmetic floor, every figure with its spread between processes, and plots.

    python -m benchmarks.report RESULTS.json                   # RESULTS.md and the plots beside it
    python -m benchmarks.report RESULTS.json --markdown BENCHMARKS.md --plot docs/latency.png
    python -m benchmarks.report RESULTS.json --plot docs/latency.png  # the plots alone
    python -m benchmarks.report SECOND.json --previous FIRST.json --markdown BENCHMARKS.md
    python -m benchmarks.report --markdown BENCHMARKS.md       # no run yet: what will be measured
    python -m benchmarks.report --stability FIRST.json SECOND.json

The summary is ratios rather than absolute figures: both terms of a ratio come from the same run,
measured close together on the same machine, so a ratio holds better than a figure while other
work slows the machine down. Only the JSON is read (no Keras import), so regenerating is quick.
The run's own conftest uses `pooled_over_processes` to write that JSON, and the benchmarks `flops`.
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
from typing import Callable

from pytest_benchmark.stats import Stats

from tools.outputs import output_problem

KERAS_PATHS = ("predict", "predict_on_batch", "call", "compiled", "compiled_xla")  # the others are deployment routes
COMPILED = "compiled"  # the path every other path is compared with
PREDICT = "predict"  # the path the deployment routes are also compared with
PLAIN = "default"  # neither return_sequences nor return_state
SIMPLE_RNN = "SimpleRNN"
CPU = "CPU"
KEY = ("layer", "flags", "batch", "timesteps", "device", "path")  # what identifies a benchmark
MATMUL_GROUP = "float32 matmul"  # the pytest-benchmark group of the machine's matrix-product rate

# The stability rule (`stability`): two back-to-back runs agree when this share of their medians lie
# within the larger of their two spreads between processes, and this share of their ratios (each
# path over compiled, each route over compiled and over predict) within RATIO_TOLERANCE.
AGREEING_PERCENT = 95
RATIO_TOLERANCE = 0.10


@dataclass(frozen=True)
class Arithmetic:
    """A layer's floating-point operations per timestep and batch row, for f features and u units."""

    formula: str
    counted: str
    per_step: Callable[[int, int], int]


# From the layers' equations with Keras' defaults (biases; tanh and sigmoid; GRU's reset_after=True).
# A multiply-add counts 2; an addition, a product and an activation 1 each.
ARITHMETIC = {
    "SimpleRNN": Arithmetic(
        "2fu + 2u² + 3u",
        "x·W and h·U (2fu + 2u²); adding them and the bias (2u); tanh (u)",
        lambda f, u: 2 * f * u + 2 * u * u + 3 * u,
    ),
    "GRU": Arithmetic(
        "6fu + 6u² + 17u",
        "x·W and h·U for the three gates (6fu + 6u²); the input and recurrent biases (6u); z and r, "
        "an addition and a sigmoid each (4u); the candidate, r times its recurrent part, an addition "
        "and tanh (3u); h = z·h' + (1 - z)·candidate (4u)",
        lambda f, u: 6 * f * u + 6 * u * u + 17 * u,
    ),
    "LSTM": Arithmetic(
        "8fu + 8u² + 17u",
        "x·W and h·U for the four gates (8fu + 8u²); adding them and the bias (8u); three sigmoids "
        "and a tanh (4u); c = f·c' + i·g (3u); h = o·tanh(c) (2u)",
        lambda f, u: 8 * f * u + 8 * u * u + 17 * u,
    ),
}


def flops(layer: str, batch: int, timesteps: int, features: int, units: int) -> int | None:
    """The floating-point operations one call needs (ARITHMETIC), or None for a layer without a formula."""
    found = ARITHMETIC.get(layer)
    return None if found is None else batch * timesteps * found.per_step(features, units)


@dataclass(frozen=True)
class Figure:
    """One benchmark's result: seconds per call, median and quartiles over every round of the run."""

    layer: str
    flags: str
    batch: int
    timesteps: int
    device: str
    path: str
    median: float
    q1: float
    q3: float
    process_medians: tuple[float, ...] = ()  # the median of each process the figure pools
    flops: int | None = None  # the floating-point operations of one call

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def spread(self) -> float:
        """The spread of the median: its processes' largest median less their smallest (0 for one process)."""
        return max(self.process_medians) - min(self.process_medians) if self.process_medians else 0.0

    def key(self, **changed) -> tuple:
        """(layer, flags, batch, timesteps, device, path), with some of them replaced."""
        fields = {f: getattr(self, f) for f in KEY}
        return tuple({**fields, **changed}[f] for f in KEY)


@dataclass(frozen=True)
class Matmul:
    """The machine's float32 matrix product: seconds per call, and the operations it does."""

    median: float
    process_medians: tuple[float, ...]
    flops: int
    rounds: int
    code: str

    @property
    def rate(self) -> float:
        """Floating-point operations per second."""
        return self.flops / self.median


@dataclass
class Run:
    source: Path
    figures: list[Figure]
    machine: dict
    commit: dict
    info: dict
    finished: str
    matmul: Matmul | None = None

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
        figures, matmul = [], None
        for bench in data["benchmarks"]:
            stats, extra = bench["stats"], bench["extra_info"]
            processes = tuple(extra.get("process_medians", ()))
            if bench["group"] == MATMUL_GROUP:
                matmul = Matmul(stats["median"], processes, extra["flops"], stats["rounds"], extra["code"])
                continue
            params = bench["params"]
            key = (params[field] for field in KEY)
            figures.append(Figure(*key, stats["median"], stats["q1"], stats["q3"], processes, extra.get("flops")))
        run = Run(Path(path), figures, data["machine_info"], data.get("commit_info", {}), data.get("run", {}), data["datetime"], matmul)
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


def pooled_over_processes(processes: list[list[dict]]) -> list[dict]:
    """One entry per benchmark from the pytest-benchmark entries of each process (their rounds in
    stats["data"]): statistics over the rounds of all processes (pytest-benchmark's own Stats), and
    each process's median in extra_info["process_medians"], in process order."""
    by_benchmark = defaultdict(list)
    for entries in processes:
        for entry in entries:
            by_benchmark[entry["fullname"]].append(entry)
    pooled = []
    for entries in by_benchmark.values():
        stats = Stats()
        for entry in entries:
            for duration in entry["stats"]["data"]:
                stats.update(duration)
        first = entries[0]
        pooled.append(
            {
                **first,
                "extra_info": {**first["extra_info"], "process_medians": [e["stats"]["median"] for e in entries]},
                "stats": {**stats.as_dict(), "data": stats.data, "iterations": first["stats"]["iterations"]},
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


def is_route(path: str) -> bool:
    return path not in KERAS_PATHS


def by_size_rows(run: Run, figures: list[Figure], baseline: str, label: Callable[[str], list[str]]) -> list[list[str]]:
    """A row per path: its ratios over `baseline` by size (geometric mean), and over all sizes (with the range)."""
    found = ratios_over(run, figures, "path", baseline)
    sizes = list(dict.fromkeys((f.batch, f.timesteps) for f in run.on(figures[0].device))) if figures else []
    rows = []
    for path in run.values("path", found):
        mine = {f: r for f, r in found.items() if f.path == path}
        cells = [summarised([r for f, r in mine.items() if (f.batch, f.timesteps) == s], with_range=False) for s in sizes]
        rows.append([*label(path), *cells, summarised(list(mine.values()))])
    return rows


def size_header(run: Run, device: str) -> list[str]:
    return [*(size(*s) for s in dict.fromkeys((f.batch, f.timesteps) for f in run.on(device))), "all sizes"]


def overhead_section(run: Run, device: str) -> str:
    rows = by_size_rows(run, [f for f in run.on(device) if not is_route(f.path)], COMPILED, lambda path: [path])
    if not rows:
        return f"No {COMPILED} path on {device} in this run: no overhead factors."
    return (
        f"Median latency of each path over the {COMPILED} path's, same layer, flags and size, on {device}; "
        "geometric mean over layers and flags (all sizes: with the range).\n\n" + table(["path", *size_header(run, device)], rows)
    )


def routes_section(run: Run, device: str) -> str:
    routes = [f for f in run.on(device) if is_route(f.path)]
    rows = []
    for baseline in (COMPILED, PREDICT):
        rows += by_size_rows(run, routes, baseline, lambda path: [path, baseline])
    if not rows:
        return f"No deployment route and no {COMPILED} or {PREDICT} path to compare it with on {device} in this run."
    rows.sort(key=lambda row: run.values("path").index(row[0]))  # each route's two rows together
    return (
        f"Median latency of each route over Keras' {COMPILED} path and over `Model.{PREDICT}`, same layer, flags "
        f"and size, on {device}; geometric mean over layers and flags (all sizes: with the range).\n\n"
        + table(["route", "over", *size_header(run, device)], rows)
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


def gigaflops(rate: float) -> str:
    return number(rate / 1e9)


def arithmetic_lines(run: Run) -> list[str]:
    """Each layer's operations per timestep and batch row: the formula, its value at the run's sizes, what it counts."""
    lines = []
    for layer in run.values("layer"):
        arithmetic = ARITHMETIC.get(layer)
        counted = [f for f in run.figures if f.layer == layer and f.flops]
        if arithmetic is None or not counted:
            lines.append(f"- {layer}: no formula here, so no floor.")
            continue
        here = counted[0].flops // (counted[0].batch * counted[0].timesteps)
        lines.append(f"- {layer}: {arithmetic.formula} = {here} per timestep and batch row: {arithmetic.counted}.")
    return lines


def floor_section(run: Run, device: str) -> str:
    matmul = run.matmul
    figures = [f for f in run.on(device) if f.flops]
    if matmul is None or not figures:
        return "No float32 matrix product or no operation counts in this run: no floor."
    spread = max(matmul.process_medians) - min(matmul.process_medians) if matmul.process_medians else 0.0
    head = [
        "One call needs batch x timesteps x the operations of one timestep and batch row, for f features and u units:",
        "",
        *arithmetic_lines(run),
        "",
        "A multiply-add counts 2 operations; an addition, a product and an activation (tanh, sigmoid) 1 each. "
        "Not counted: copying the inputs and outputs, gathering the outputs, and whatever else a path does besides the equations.",
        "",
        f"The machine's float32 rate, measured in this run: `{matmul.code}`, {matmul.flops:.3g} operations in "
        f"{milliseconds(matmul.median)} ms (median of {matmul.rounds} rounds in {len(matmul.process_medians)} process{'es' * (len(matmul.process_medians) != 1)}, "
        f"spread between processes {milliseconds(spread)} ms): {gigaflops(matmul.rate)} GFLOP/s. "
        "The floor of a call is its operations at that rate.",
    ]
    sizes = list(dict.fromkeys((f.batch, f.timesteps) for f in figures))
    paths = run.values("path", figures)
    rates = []
    for path in paths:
        cells = []
        for batch, timesteps in sizes:
            mine = [f.flops / f.median for f in figures if (f.path, f.batch, f.timesteps) == (path, batch, timesteps)]
            cells.append(gigaflops(geometric_mean(mine)) if mine else "-")
        rates.append([path, *cells])
    best_rows = []
    for layer in run.values("layer", figures):
        for batch, timesteps in sizes:
            mine = [f for f in figures if (f.layer, f.batch, f.timesteps) == (layer, batch, timesteps)]
            if not mine:
                continue
            by_path = {p: geometric_mean([f.median for f in mine if f.path == p]) for p in run.values("path", mine)}
            best = min(by_path, key=by_path.get)
            floor = mine[0].flops / matmul.rate
            best_rows.append(
                [f"{layer}, {size(batch, timesteps)}", f"{mine[0].flops:,}", number(floor * 1e6), best, milliseconds(by_path[best]), f"{number(by_path[best] / floor)}x"]
            )
    return "\n".join(
        [
            *head,
            "",
            f"Achieved rate by path and size, GFLOP/s (a call's operations over its median; geometric mean over layers "
            f"and flags), beside the float32 matrix product's {gigaflops(matmul.rate)} GFLOP/s:",
            "",
            table(["path", *(size(*s) for s in sizes)], rates),
            "",
            "The best path of each layer and size (lowest median; geometric mean over the flag sets) and how many "
            "times slower than the floor it is:",
            "",
            table(["layer, size", "operations per call", "floor (µs)", "best path", "its median (ms)", "times the floor"], best_rows),
        ]
    )


def summary(run: Run) -> str:
    """The ratios, as Markdown: printed at the end of a run and part of the written report."""
    sections = []
    for device in run.values("device"):
        sections += [
            f"### Overhead on {device}: each path over the compiled path",
            overhead_section(run, device),
            f"### Deployment routes on {device}: each route over compiled and over predict",
            routes_section(run, device),
            f"### The arithmetic floor on {device}",
            floor_section(run, device),
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
                            cells.append(f"{milliseconds(f.median)} ({milliseconds(f.spread)})" if f else "skipped")
                        rows.append([flags, str(batch), str(timesteps), *cells])
            parts.append(f"#### {layer} on {device}\n\n" + table(["flags", "batch", "steps", *paths], rows))
    return "\n\n".join(parts)


def description(timing: dict | None) -> str:
    """What is measured and how; the timing budget as the run recorded it."""
    if timing:
        how = (
            f"a run is {timing['processes']} passes over the grid, each in a process of its own, one after the other. "
            f"In each, a path is called {timing['warmup_calls']} times (the first call traces, compiles or allocates) "
            f"and its outputs checked, then timed for about {timing['seconds_per_process']} s, at least "
            f"{timing['min_rounds_per_process']} and at most {timing['max_rounds_per_process']} calls. A figure pools "
            "the rounds of all processes; its spread is its processes' largest median less their smallest, since a "
            "process sets a level of its own that its rounds cannot show"
        )
    else:
        how = "each path is called first (the first call traces or compiles), then timed (benchmarks/runs.py)"
    return f"""\
What a Keras recurrent layer costs per prediction, where the time goes, and how far it is from the
arithmetic it needs: the same layer and weights timed along Keras' paths and the routes people
deploy to, from a numpy batch to numpy outputs.

- Layers: SimpleRNN, GRU, LSTM with 5 units on 3 features (the notes' sizes), seeded uniform
  weights and N(0, 1) inputs (the spec's `keras_rnn_spec/observe.py`); the four `return_sequences` /
  `return_state` combinations; batch 1, 32, 256; 10 and 100 timesteps.
- Paths inside Keras: `predict` (`Model.predict(x, batch_size=len(x))`, the notes' path),
  `predict_on_batch`, `call` (the layer called eagerly), `compiled` (the layer inside `tf.function`;
  `jax.jit` on JAX) and `compiled_xla` (`tf.function(jit_compile=True)`, TensorFlow only).
- Deployment routes (chapter 22's exports, `benchmarks/routes.py`): `saved_model` (`model.export`,
  then `tf.saved_model.load(...).serve(x)`), `onnxruntime` (`format='onnx'`, then
  `InferenceSession.run`), `openvino` (`format='openvino'`, compiled for the CPU with
  `INFERENCE_PRECISION_HINT` f32), `openvino_default` (the same IR at OpenVINO's default
  configuration, where its default precision is not f32) and `litert` (`format='litert'`, then the
  ai-edge-litert `Interpreter`: set the input, invoke, read the outputs). Each exports the model the
  Keras paths run, once per layer, flags and length (its Input fixes the length and leaves the batch
  unknown), before anything is timed. OpenVINO and LiteRT take that layer with `unroll=True` and the
  same weights: on TensorFlow they refuse its loop (chapter 22's known differences), unrolled they
  convert. OpenVINO compiles the IR with its batch left dynamic; the LiteRT interpreter is resized to
  each batch before that batch is timed. The routes run on the CPU.
- A path a backend, model or device cannot take is skipped with its reason (listed below).
- Devices: CPU, and the first visible GPU with TF32 off, cuDNN kernels required for GRU and LSTM
  (`use_cudnn=True`, Keras 3 on TensorFlow), and its outputs checked against the CPU's.
- Timing: {how}.
- Every timed path's outputs are checked against the spec's float64 reference first: within float32
  rounding, and OpenVINO at a default precision below f32 within one step's rounding at that
  precision ((features + units + 1) epsilons: 0.07 at bf16). A route's outputs are read whatever
  their order (chapter 22 checks the order).
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
    later = info.get("later_processes", [])
    failed = [p for p in later if p["exit_code"] != 0]
    processes = f"{info.get('processes_pooled', '?')} of {info.get('processes', '?')} pooled" + (
        "; " + ", ".join(f"process {p['number']} exited with {p['exit_code']}" for p in failed) if failed else ""
    )
    return "\n".join(
        [
            f"- Results: `{run.source.name}`, finished {run.finished} after {info.get('seconds', '?')} s",
            f"- Command: `{info.get('command', '?')}`",
            f"- Suite revision: {revision}",
            "- Subject: " + ", ".join(f"{k} {v}" for k, v in subject.items()),
            f"- Machine: {cpu.get('brand_raw', machine.get('processor') or '?')}, {machine.get('cpu_count', '?')} cores, "
            + (f"{machine['memory_gib']} GiB, " if "memory_gib" in machine else "")
            + f"{machine.get('system', '?')} {machine.get('release', '')} {machine.get('machine', '')}"
            + (f"; float32 matrix product at {gigaflops(run.matmul.rate)} GFLOP/s" if run.matmul else "")
            + (f"; OpenVINO's default CPU precision {machine['openvino_default_precision']}" if "openvino_default_precision" in machine else ""),
            f"- GPUs visible: {', '.join(machine.get('gpus') or []) or 'none'}",
            f"- Ran on: {devices}; GPU matmuls kept in float32 by {info.get('float32', '?')}",
            f"- Processes: {processes}",
            "- Load average (1, 5, 15 min), other work on the machine included: "
            + (f"{info['load_average_at_start']} at the start of the run, " if "load_average_at_start" in info else "")
            + f"{info.get('load_average_at_end', '?')} at its end",
            f"- Spread between processes: {process_spread(run)}",
        ]
    )


def process_spread(run: Run) -> str:
    """How far a benchmark's process medians lie apart (largest over smallest), over the run's benchmarks."""
    spreads = sorted(max(f.process_medians) / min(f.process_medians) - 1 for f in run.figures if len(f.process_medians) > 1)
    if not spreads:
        return "one process only: no spread"
    return (
        f"a benchmark's largest process median exceeded its smallest by {statistics.median(spreads):.0%} "
        f"(median over {len(spreads)} benchmarks), {spreads[int(0.9 * (len(spreads) - 1))]:.0%} "
        f"(90th percentile), at most {spreads[-1]:.0%}"
    )


def skipped_section(run: Run) -> str:
    skipped = run.info.get("skipped", {})
    if not skipped:
        return "Nothing was skipped in the run's first process."
    lines = [f"- {count} benchmark{'s' * (count != 1)}: {reason}" for reason, count in sorted(skipped.items(), key=lambda item: -item[1])]
    return "As the run's first process skipped them (the others skip alike):\n\n" + "\n".join(lines)


def stability_section(previous: Run, run: Run) -> str:
    agree, text = stability(previous, run)
    command = f"python -m benchmarks.report --stability {os.path.relpath(previous.source)} {os.path.relpath(run.source)}"
    return (
        f"This run and `{previous.source.name}`, finished {previous.finished}, run just before it on the same machine: "
        f"{'the rule holds' if agree else 'the rule does not hold'}.\n\n```\n$ {command}\n{text}\n```"
    )


def markdown(run: Run | None, plots: list[Path], destination: Path, previous: Run | None = None) -> str:
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
    pictures = [f"![{title}]({os.path.relpath(path, destination.parent)})" for title, path in zip(PLOT_TITLES, plots)]
    return "\n\n".join(
        [
            head.rstrip(),
            "## The run",
            machine_section(run),
            "## Latency by path and sequence length",
            pictures[0] if pictures else "No plot was written.",
            "## Ratios, measured side by side in the same run",
            summary(run),
            "## Achieved rate against the float32 matrix product",
            pictures[1] if len(pictures) > 1 else "No plot was written.",
            "## Stability: two runs back to back",
            stability_section(previous, run) if previous else "No earlier run was given (`--previous`): not checked here.",
            "## Skipped",
            skipped_section(run),
            "## Figures: median (spread between processes) in milliseconds per call",
            figures_section(run),
            "## Reproduce and compare",
            "```\n"
            "pytest benchmarks/   # the full run; --quick: the CI subset; --device cpu|gpu|all; --processes N\n"
            f"{command} {os.path.relpath(run.source)} --markdown OUT.md   # this report again\n"
            f"{command} --stability FIRST.json SECOND.json   # do two runs agree? (exits 1 when not)\n"
            "# pytest-benchmark's own comparison; without plugin autoload, which trips the strict pytest.ini:\n"
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 pytest-benchmark compare FIRST.json SECOND.json \\\n"
            "    --columns=median,iqr --group-by=group\n"
            "```",
        ]
    ) + "\n"


PLOT_TITLES = ("latency by path and sequence length", "achieved rate by path and size against the float32 matrix product")


def plot_latency(run: Run, destination: Path) -> None:
    """Median latency (log scale) by path, one bar per sequence length and device, the spread between
    processes as whiskers; one panel per layer and batch size, for the plain layer (no flags)."""
    from matplotlib import pyplot

    flags = PLAIN if PLAIN in run.values("flags") else run.values("flags")[0]
    shown = [f for f in run.figures if f.flags == flags]
    layers, batches, paths = run.values("layer", shown), run.values("batch", shown), run.values("path", shown)
    series = list(dict.fromkeys((f.device, f.timesteps) for f in shown))
    figure, axes = pyplot.subplots(
        len(layers), len(batches), figsize=(5.2 * len(batches), 3.4 * len(layers)), squeeze=False, sharey=True
    )
    width = 0.8 / len(series)
    for row, layer in enumerate(layers):
        for column, batch in enumerate(batches):
            axis = axes[row][column]
            for place, (device, timesteps) in enumerate(series):
                found = [run.index.get((layer, flags, batch, timesteps, device, path)) for path in paths]
                places = [i + (place - (len(series) - 1) / 2) * width for i, f in enumerate(found) if f]
                present = [f for f in found if f]
                low = [(f.median - min(f.process_medians or (f.median,))) * 1e3 for f in present]
                high = [(max(f.process_medians or (f.median,)) - f.median) * 1e3 for f in present]
                axis.bar(places, [f.median * 1e3 for f in present], width, yerr=[low, high], label=f"{device}, {timesteps} steps", capsize=2)
            axis.set_yscale("log")
            axis.set_xticks(range(len(paths)), paths, fontsize=7, rotation=55, ha="right", rotation_mode="anchor")
            axis.set_title(f"{layer}, batch {batch}", fontsize=9)
            axis.grid(axis="y", which="major", alpha=0.3)
            if column == 0:
                axis.set_ylabel("ms per call (median, process spread)")
    axes[0][0].legend(fontsize=7)
    subject = run.machine.get("subject", {})
    figure.suptitle(
        f"Predict latency by path, {flags} flags\nkeras {subject.get('keras', '?')}, backend {subject.get('backend', '?')}",
        fontsize=10,
    )
    save(figure, destination)


def plot_floor(run: Run, destination: Path) -> None:
    """Achieved GFLOP/s (log scale) by size, a line per path (geometric mean over flags), the float32
    matrix product's rate as a dashed line; one panel per layer, on the first device."""
    from matplotlib import pyplot

    device = run.values("device")[0]
    figures = [f for f in run.on(device) if f.flops]
    layers = run.values("layer", figures)
    figure, axes = pyplot.subplots(1, max(1, len(layers)), figsize=(5.2 * max(1, len(layers)), 5), squeeze=False, sharey=True)
    sizes = list(dict.fromkeys((f.batch, f.timesteps) for f in figures))
    for column, layer in enumerate(layers):
        axis = axes[0][column]
        for path in run.values("path", figures):
            points = [
                (i, geometric_mean(mine))
                for i, s in enumerate(sizes)
                if (mine := [f.flops / f.median / 1e9 for f in figures if (f.layer, f.path, f.batch, f.timesteps) == (layer, path, *s)])
            ]
            axis.plot([i for i, _ in points], [r for _, r in points], marker="o", markersize=3, label=path, linestyle="--" if is_route(path) else "-")
        if run.matmul:
            axis.axhline(run.matmul.rate / 1e9, color="black", linestyle=":", label="float32 matmul")
        axis.set_yscale("log")
        axis.set_xticks(range(len(sizes)), [size(*s) for s in sizes], fontsize=7)
        axis.set_title(layer, fontsize=9)
        axis.grid(axis="y", which="major", alpha=0.3)
        if column == 0:
            axis.set_ylabel("GFLOP/s achieved (log)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=min(6, 3 * len(axes[0])), fontsize=7)
    figure.suptitle(f"Achieved rate on {device} against the float32 matrix product (dotted)\nthe gap is the distance from the arithmetic floor", fontsize=10)
    save(figure, destination, bottom=0.12)


def save(figure, destination: Path, bottom: float = 0.0) -> None:
    """Save and close; `bottom`: the share of the height kept for a legend below the panels."""
    from matplotlib import pyplot

    figure.tight_layout(rect=(0, bottom, 1, 1))
    destination.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(destination, dpi=110)
    pyplot.close(figure)


def outputs(results: Path, markdown_path: Path | None = None, plot_path: Path | None = None) -> tuple[Path | None, Path, Path]:
    """Where the report and the two plots of a results file go: beside it unless told, the second plot
    named after the first with "_floor"; no report when only the plot's place is given."""
    if markdown_path is None and plot_path is None:
        markdown_path = results.with_suffix(".md")
    plot_path = plot_path or results.with_suffix(".png")
    return markdown_path, plot_path, plot_path.with_name(plot_path.stem + "_floor" + plot_path.suffix)


def write(results: Path, markdown_path: Path | None = None, plot_path: Path | None = None, previous: Path | None = None) -> list[Path]:
    """Write the report and the plots for a results file where `outputs` says; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    run = load(results)
    markdown_path, plot_path, floor_path = outputs(results, markdown_path, plot_path)
    plot_latency(run, plot_path)
    plot_floor(run, floor_path)
    if markdown_path is None:
        return [plot_path, floor_path]
    write_markdown(markdown_path, markdown(run, [plot_path, floor_path], markdown_path, load(previous) if previous else None))
    return [markdown_path, plot_path, floor_path]


def write_markdown(path: Path, text: str) -> None:
    """Write the report, making its missing folders, as `save` does for a plot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def refusal(option: str, given: Path | None, path: Path) -> str | None:
    """The line refusing to write `path` for `option` (given, or None: its default) when no file can be
    written there; None when one can."""
    problem = output_problem(path)
    if problem is None:
        return None
    if given is None:
        return f"{path} (beside the results, without {option}): {problem}"
    return f"{option} {given}: {problem}" if path == given else f"{option} {given}: the floor plot beside it, {path}: {problem}"


# Stability: do two back-to-back runs of the same benchmarks agree?


def compared_ratios(run: Run) -> dict[tuple, float]:
    """The ratios the rule compares, benchmark by benchmark: each Keras path over compiled (the
    overhead table's), each deployment route over compiled and over predict."""
    found = {}
    keras_paths = [f for f in run.figures if not is_route(f.path)]
    routes = [f for f in run.figures if is_route(f.path)]
    for figures, baseline in ((keras_paths, COMPILED), (routes, COMPILED), (routes, PREDICT)):
        for figure, ratio in ratios_over(run, figures, "path", baseline).items():
            found[(figure.key(), baseline)] = ratio
    return found


def share(agreeing: int, total: int) -> str:
    verdict = "holds" if total and 100 * agreeing >= AGREEING_PERCENT * total else "does not hold"
    return f"{agreeing} of {total} ({agreeing / total if total else 0:.1%}); at least {AGREEING_PERCENT}% must: {verdict}"


def stability(first: Run, second: Run) -> tuple[bool, str]:
    """Two runs agree when at least AGREEING_PERCENT of their shared medians differ by no more than
    the larger of the two spreads between processes, and at least AGREEING_PERCENT of their shared
    ratios (`compared_ratios`) by no more than RATIO_TOLERANCE (the larger over the smaller)."""
    shared = [key for key in first.index if key in second.index]
    medians_off = []
    for key in shared:
        a, b = first.index[key], second.index[key]
        if abs(a.median - b.median) > max(a.spread, b.spread):
            medians_off.append((abs(a.median - b.median) / min(a.median, b.median), key, a, b))
    ratios_a, ratios_b = compared_ratios(first), compared_ratios(second)
    ratios_shared = [key for key in ratios_a if key in ratios_b]
    ratios_off = []
    for key in ratios_shared:
        a, b = ratios_a[key], ratios_b[key]
        if max(a, b) / min(a, b) > 1 + RATIO_TOLERANCE:
            ratios_off.append((max(a, b) / min(a, b) - 1, key, a, b))
    medians_hold = bool(shared) and 100 * (len(shared) - len(medians_off)) >= AGREEING_PERCENT * len(shared)
    ratios_hold = bool(ratios_shared) and 100 * (len(ratios_shared) - len(ratios_off)) >= AGREEING_PERCENT * len(ratios_shared)
    lines = [
        f"Medians within the larger spread between processes of the two runs: {share(len(shared) - len(medians_off), len(shared))}.",
        f"Ratios within {RATIO_TOLERANCE:.0%} (each path over {COMPILED}, each route over {COMPILED} and over {PREDICT}): "
        f"{share(len(ratios_shared) - len(ratios_off), len(ratios_shared))}.",
        f"The two runs {'agree' if medians_hold and ratios_hold else 'do not agree'}.",
    ]
    if medians_off:
        lines.append("Medians further apart than both spreads, the furthest first:")
    for relative, key, a, b in sorted(medians_off, reverse=True):
        lines.append(
            f"  {'-'.join(str(k) for k in key)}: {milliseconds(a.median)} ms (spread {milliseconds(a.spread)}) "
            f"vs {milliseconds(b.median)} ms (spread {milliseconds(b.spread)}), {relative:.0%} apart"
        )
    if ratios_off:
        lines.append(f"Ratios more than {RATIO_TOLERANCE:.0%} apart, the furthest first:")
    for relative, (key, baseline), a, b in sorted(ratios_off, reverse=True):
        lines.append(f"  {'-'.join(str(k) for k in key)} over {baseline}: {number(a)}x vs {number(b)}x, {relative:.0%} apart")
    return medians_hold and ratios_hold, "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="?", type=Path, help="a JSON file written by `pytest benchmarks/`")
    parser.add_argument("--markdown", type=Path, help="where to write the report (default: beside the results, .md)")
    parser.add_argument(
        "--plot",
        type=Path,
        help="where to write the latency plot, NAME.png (default: beside the results); the floor's beside it, NAME_floor.png; "
        "without --markdown, only the plots are written",
    )
    parser.add_argument("--previous", type=Path, help="a run made just before this one: the report records whether the two agree (--stability)")
    parser.add_argument("--stability", nargs=2, type=Path, metavar=("FIRST", "SECOND"), help="do two back-to-back runs agree? exits 1 when not")
    args = parser.parse_args(argv)
    if args.stability:
        agree, text = stability(load(args.stability[0]), load(args.stability[1]))
        print(text)
        return 0 if agree else 1
    if args.results is None:
        if args.markdown is None:
            parser.error("give a results file, or --markdown for the report without results")
        if line := refusal("--markdown", args.markdown, args.markdown):
            raise SystemExit(line)
        write_markdown(args.markdown, markdown(None, [], args.markdown))
        print(f"written: {args.markdown}")
        return 0
    markdown_path, plot_path, floor_path = outputs(args.results, args.markdown, args.plot)
    for option, given, path in (("--markdown", args.markdown, markdown_path), ("--plot", args.plot, plot_path), ("--plot", args.plot, floor_path)):
        if path and (line := refusal(option, given, path)):
            raise SystemExit(line)
    if plot_path.suffix.lower() != ".png":  # matplotlib writes NAME.png for a NAME without suffix; the report would link NAME
        raise SystemExit(f"--plot {plot_path}: not a .png name, and the plots are PNG images: name it {plot_path.with_suffix('.png')}")
    written = write(args.results, args.markdown, args.plot, args.previous)
    print(summary(load(args.results)))
    print("written: " + ", ".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
