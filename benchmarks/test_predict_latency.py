"""Predict latency of SimpleRNN, GRU and LSTM, by path, flags, batch, length and device, and the
machine's float32 matrix-product rate beside it.

Source: issue 6, and the design card's "benchmark predict latency"; the deployment routes and the
arithmetic floor: the issue "the runtimes people deploy to, the arithmetic floor". The point is where
the time goes: a tiny layer's Model.predict costs tens of milliseconds, the same layer inside a
compiled function a fraction of one, and the arithmetic it needs far less than either. Each
benchmark also checks what the path returned, so a figure is never the time of a wrong answer.

Each process of a run (the conftest starts them) times every benchmark once: it calls the path
WARMUP_CALLS times, checks the last call's outputs, then times it for about SECONDS_PER_PROCESS, at
least MIN_ROUNDS_PER_PROCESS and at most MAX_ROUNDS_PER_PROCESS calls (benchmarks/runs.py).
"""

import math
import time

import numpy as np
import pytest

from benchmarks import report
from benchmarks.routes import ROUTE_PATHS, Loaded, tolerance
from benchmarks.runs import (
    MATMUL_ROUNDS,
    MATMUL_SIZE,
    MAX_ROUNDS_PER_PROCESS,
    MIN_ROUNDS_PER_PROCESS,
    SECONDS_PER_PROCESS,
    WARMUP_CALLS,
    Setting,
    agreement_tolerance,
    chosen_devices,
    cpu_outputs,
    device_scope,
    device_visible,
    prepare,
    reference_outputs,
    tracing_count,
)
from keras_rnn_spec.catalogue import DEFAULT, FLAGS, KERAS_LAYERS, LSTM, SEQUENCES_STATE
from keras_rnn_spec.exporting import closest
from keras_rnn_spec.semantics import returned_names
from keras_rnn_spec.subject import as_list, backend_name

PATHS = (*report.KERAS_PATHS, *ROUTE_PATHS)
BATCHES = (1, 32, 256)
TIMESTEPS = (10, 100)
FULL = {"layers": KERAS_LAYERS, "flags": FLAGS, "batches": BATCHES, "timesteps": TIMESTEPS}
# --quick: one model in two flag sets, every path (for CI and a smoke check).
QUICK = {"layers": (LSTM,), "flags": (DEFAULT, SEQUENCES_STATE), "batches": (32,), "timesteps": (10,)}


def grid(quick: bool, devices: tuple[str, ...]) -> list[Setting]:
    """Every benchmark once, ordered so that the paths of one model run one after the other."""
    chosen = QUICK if quick else FULL
    return [
        Setting(str(layer), str(flags), batch, timesteps, device, path)
        for layer in chosen["layers"]
        for flags in chosen["flags"]
        for batch in chosen["batches"]
        for timesteps in chosen["timesteps"]
        for device in devices
        for path in PATHS
    ]


def pytest_generate_tests(metafunc):
    if "path" in metafunc.fixturenames:
        config = metafunc.config
        settings = grid(config.getoption("quick"), chosen_devices(config.getoption("device")))
        metafunc.parametrize(
            ["layer", "flags", "batch", "timesteps", "device", "path"],
            [pytest.param(*vars(s).values(), id=str(s), marks=pytest.mark.benchmark(group=s.group)) for s in settings],
        )


def rounds_for(seconds_per_call: float) -> int:
    return max(MIN_ROUNDS_PER_PROCESS, min(MAX_ROUNDS_PER_PROCESS, math.ceil(SECONDS_PER_PROCESS / seconds_per_call)))


@pytest.fixture(scope="session")
def artifacts(run_directory) -> Loaded:
    """The deployment routes' artifacts, exported before the run's first process timed anything."""
    return Loaded(run_directory)


def test_predict_latency(layer, flags, batch, timesteps, device, path, benchmark, verify, artifacts):
    """Every path returns the float64 reference's numbers within float32 rounding, and a GPU what the CPU returns.

    OpenVINO at its default precision, where that is not f32, returns them within one step's
    rounding at that precision (benchmarks/routes.py, `tolerance`).
    """
    setting = Setting(layer, flags, batch, timesteps, device, path)
    if not device_visible(device):
        pytest.skip(f"no {device} visible to the {backend_name()} backend: the {device} benchmarks run where one is")
    prepared = prepare(*setting.model_key, device)
    function, description = artifacts.function(setting) if path in ROUTE_PATHS else prepared.function(path)
    if function is None:
        pytest.skip(f"{path}: {description}")

    def call():  # a route returns its runtime's outputs as a list, in the runtime's order
        returned = function(prepared.inputs)
        return returned if path in ROUTE_PATHS else as_list(returned)

    with device_scope(device):
        for _ in range(WARMUP_CALLS):
            started = time.perf_counter()
            outputs = call()
            seconds_per_call = time.perf_counter() - started
        check = verify.about(setting.case)
        error = check_outputs(check, setting, outputs)  # before timing: a wrong answer gets no figure
        traced = tracing_count(function)
        benchmark.pedantic(call, rounds=rounds_for(seconds_per_call))

    benchmark.extra_info.update(
        features=setting.dims.features,
        units=setting.dims.units,
        flops=report.flops(layer, batch, timesteps, setting.dims.features, setting.dims.units),
        code=description,
        max_abs_difference_from_reference=error,
        kernel_options={k: str(v) for k, v in prepared.kernel.items()},
        predict_jit_compile=str(getattr(prepared.model, "jit_compile", None)),  # what Model.predict compiled with
    )
    if traced is not None:  # a compiled function on TensorFlow says how often it traced
        check.holds(
            tracing_count(function) == traced,
            what=f"tracing count of the {path} function while timed",
            details=f"it traced {tracing_count(function) - traced} more times during the timed calls: tracing was timed",
        )


def check_outputs(check, setting: Setting, outputs: list) -> float:
    """The outputs against the float64 reference, and on a GPU against the CPU's direct call; returns
    the largest difference from the reference.

    A route's runtime lists its outputs in an order of its own, and OpenVINO adds one: each of
    Keras' outputs is taken as the runtime's output of its shape nearest to it (chapter 22 checks
    the order and names)."""
    names = returned_names(setting.case)
    expected = reference_outputs(*setting.model_key)
    what = f"{setting.device} {setting.path} {{name}} against the float64 reference"
    if setting.path in ROUTE_PATHS:
        outputs = [closest(outputs, want) for want in expected]
        atol, why = tolerance(setting)
        check.each_equal(outputs, expected, names=names, what=what, atol=atol, why=why)
    else:
        check.count(outputs, expected, names=names)
        check.match_reference(outputs, expected, names=names, dims=setting.dims, what=what)
    if setting.device != "CPU":
        check.each_equal(
            outputs,
            cpu_outputs(*setting.model_key),
            names=names,
            what=f"{setting.device} {setting.path} {{name}} against the CPU direct call",
            atol=agreement_tolerance(setting.dims),
            why="each within float32 rounding of the float64 result",
        )
    return max(float(np.max(np.abs(np.asarray(o, np.float64) - e))) for o, e in zip(outputs, expected))


@pytest.mark.benchmark(group=report.MATMUL_GROUP)
def test_float32_matmul(benchmark):
    """A large float32 matrix product (numpy's BLAS) is computed within float32 rounding: the rate it is timed at is the arithmetic floor's yardstick."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((MATMUL_SIZE, MATMUL_SIZE), dtype=np.float32) for _ in range(2))
    product = benchmark.pedantic(np.matmul, args=(a, b), rounds=MATMUL_ROUNDS, warmup_rounds=1)
    corner_a, corner_b = a[:4].astype(np.float64), b[:, :4].astype(np.float64)
    # A sum of n products in floating point is off by at most n * u * sum |a_k b_k| (unit roundoff u = 2**-24).
    bound = MATMUL_SIZE * 2.0**-24 * (np.abs(corner_a) @ np.abs(corner_b))
    assert np.all(np.abs(product[:4, :4] - corner_a @ corner_b) <= bound)
    benchmark.extra_info.update(flops=2 * MATMUL_SIZE**3, code=f"numpy.matmul(a, b), float32, {MATMUL_SIZE} x {MATMUL_SIZE} each")
