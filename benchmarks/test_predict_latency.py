"""Predict latency of SimpleRNN, GRU and LSTM, by path, flags, batch, length and device.

Source: issue 6, and the design card's "benchmark predict latency". The point is where the time
goes: a tiny layer's Model.predict costs tens of milliseconds, the same layer inside a compiled
function a fraction of one. Each benchmark also checks what the path returned, so a figure is
never the time of a wrong answer.

The grid runs PASSES times over, one pass after the other, and the conftest pools each benchmark's
rounds from every pass, so its figures span the run rather than one moment of it. In each pass a
path is called before it is timed, WARMUP_CALLS times in the first pass (the first call traces or
compiles) and WARMUP_CALLS_LATER in the others, then timed for about SECONDS_PER_PASS, at least
MIN_ROUNDS_PER_PASS and at most MAX_ROUNDS_PER_PASS calls (benchmarks/runs.py).
"""

import math
import time

import pytest

from benchmarks.runs import (
    MAX_ROUNDS_PER_PASS,
    MIN_ROUNDS_PER_PASS,
    PASSES,
    PATHS,
    SECONDS_PER_PASS,
    WARMUP_CALLS,
    WARMUP_CALLS_LATER,
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
from keras_rnn_spec.catalogue import DEFAULT, FLAGS, LAYERS, LSTM, SEQUENCES_STATE
from keras_rnn_spec.semantics import returned_names
from keras_rnn_spec.subject import as_list, backend_name

BATCHES = (1, 32, 256)
TIMESTEPS = (10, 100)
FULL = {"layers": LAYERS, "flags": FLAGS, "batches": BATCHES, "timesteps": TIMESTEPS}
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
            ["layer", "flags", "batch", "timesteps", "device", "path", "pass_number"],
            [
                pytest.param(*vars(s).values(), number, id=f"{s}-pass{number}", marks=pytest.mark.benchmark(group=s.group))
                for number in range(1, PASSES + 1)
                for s in settings
            ],
        )


def rounds_for(seconds_per_call: float) -> int:
    return max(MIN_ROUNDS_PER_PASS, min(MAX_ROUNDS_PER_PASS, math.ceil(SECONDS_PER_PASS / seconds_per_call)))


def test_predict_latency(layer, flags, batch, timesteps, device, path, pass_number, benchmark, verify):
    """Every path returns the float64 reference's numbers within float32 rounding, and a GPU what the CPU returns.

    The conftest pools the passes (`pass_number`) into one figure.
    """
    setting = Setting(layer, flags, batch, timesteps, device, path)
    if not device_visible(device):
        pytest.skip(f"no {device} visible to the {backend_name()} backend: the {device} benchmarks run where one is")
    prepared = prepare(*setting.model_key, device)
    function, description = prepared.function(path)
    if function is None:
        pytest.skip(f"{path}: {description}")

    def run():
        return as_list(function(prepared.inputs))

    with device_scope(device):
        for _ in range(WARMUP_CALLS if pass_number == 1 else WARMUP_CALLS_LATER):
            started = time.perf_counter()
            outputs = run()
            seconds_per_call = time.perf_counter() - started
        check = verify.about(setting.case)
        check_outputs(check, setting, outputs)  # before timing: a wrong answer gets no figure
        traced = tracing_count(function)
        benchmark.pedantic(run, rounds=rounds_for(seconds_per_call))

    benchmark.extra_info.update(
        features=setting.dims.features,
        units=setting.dims.units,
        code=description,
        kernel_options={k: str(v) for k, v in prepared.kernel.items()},
        predict_jit_compile=str(getattr(prepared.model, "jit_compile", None)),  # what Model.predict compiled with
    )
    if traced is not None:  # a compiled function on TensorFlow says how often it traced
        check.holds(
            tracing_count(function) == traced,
            what=f"tracing count of the {path} function while timed",
            details=f"it traced {tracing_count(function) - traced} more times during the timed calls: tracing was timed",
        )


def check_outputs(check, setting: Setting, outputs: list) -> None:
    """The outputs against the float64 reference; on a GPU, also against the CPU's direct call."""
    names = returned_names(setting.case)
    expected = reference_outputs(*setting.model_key)
    check.count(outputs, expected, names=names)
    where = f"{setting.device} {setting.path}"
    check.match_reference(
        outputs, expected, names=names, dims=setting.dims, what=where + " {name} against the float64 reference"
    )
    if setting.device != "CPU":
        check.each_equal(
            outputs,
            cpu_outputs(*setting.model_key),
            names=names,
            what=where + " {name} against the CPU direct call",
            atol=agreement_tolerance(setting.dims),
            why="each within float32 rounding of the float64 result",
        )
