"""Put on PYTHONPATH by tests/test_no_telemetry.py: every Python process of a run, child processes
included, records each attempt to look up or reach a host off the machine in the file that
SPEC_NETWORK_LOG names (Python's audit events socket.getaddrinfo and socket.connect)."""

import os
import sys

LOG = os.environ.get("SPEC_NETWORK_LOG")
ON_THE_MACHINE = ("localhost", "127.", "::1", "0.0.0.0", "/")  # "/": a Unix socket's path


def record_hosts_off_the_machine(event, args):
    if event not in ("socket.getaddrinfo", "socket.connect"):
        return
    target = args[0] if event == "socket.getaddrinfo" else args[1]
    host = target[0] if isinstance(target, tuple) else target
    host = host.decode() if isinstance(host, bytes) else host
    if isinstance(host, str) and not host.startswith(ON_THE_MACHINE):
        with open(LOG, "a") as log:
            log.write(f"{' '.join(sys.orig_argv)[:160]!r}: {event} {target!r}\n")


if LOG:
    sys.addaudithook(record_hosts_off_the_machine)
