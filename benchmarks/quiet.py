"""The export workers' output into the run's log (benchmarks/routes.py).

A module of its own, importing nothing heavy: a spawned worker imports the module of its
initializer before calling it, and TensorFlow writes its start-up log as it is imported.
"""

import os


def to_log(log: str) -> None:
    """Point this process's stdout and stderr (the file descriptors, so native code's output too) at `log`."""
    descriptor = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(descriptor, 1)
    os.dup2(descriptor, 2)
    os.close(descriptor)
