"""Self-test: a run of the spec sends nothing off the machine, in any of its processes, whatever CI says.

OpenVINO sends usage data unless told not to (keras_rnn_spec/exporting.py, `no_telemetry`). The run
has tests/network_guard on its PYTHONPATH, whose sitecustomize records, through Python's audit hooks,
every look-up of a host off the machine in the pytest process and in every Python process it starts
(pytest-socket would guard the pytest process alone, and OpenVINO's telemetry was seen in a child).
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUARD = Path(__file__).resolve().parent / "network_guard"


def test_the_openvino_routes_reach_no_host_off_the_machine_outside_ci(tmp_path):
    """Chapter 22's OpenVINO routes, run in a user's shell (CI unset), look up no host off the machine."""
    log = tmp_path / "network.log"
    environment = {name: value for name, value in os.environ.items() if name != "CI"}
    environment.update(SPEC_NETWORK_LOG=str(log), PYTHONPATH=os.pathsep.join(filter(None, [str(GUARD), environment.get("PYTHONPATH")])))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--spec-report={tmp_path / 'spec.md'}"]
    run = subprocess.run(
        [*command, "keras_rnn_spec/test_export.py", "-k", "openvino and LSTM"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert " passed" in run.stdout.splitlines()[-1], run.stdout[-1000:]
    assert not log.exists(), log.read_text()[:3000]


def test_the_guard_records_a_look_up_in_a_child_process(tmp_path):
    """The guard records a host looked up by a child of a guarded process, and not a loopback one."""
    log = tmp_path / "network.log"
    child = "import socket\nfor host in ('localhost', 'off-the-machine.invalid'):\n    try: socket.getaddrinfo(host, 80)\n    except OSError: pass"
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}])"
    subprocess.run([sys.executable, "-c", parent], env={**os.environ, "SPEC_NETWORK_LOG": str(log), "PYTHONPATH": str(GUARD)}, check=True, timeout=60)
    (line,) = log.read_text().splitlines()
    assert "socket.getaddrinfo 'off-the-machine.invalid'" in line
