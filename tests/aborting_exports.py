"""Stand-ins for the benchmarks' artifacts and export (benchmarks/routes.py), for the self-test of
`export_missing`: an artifact's name says what its export does, and nothing here imports Keras, so
the export processes start in a moment."""

import os
from dataclasses import dataclass
from pathlib import Path

WRITTEN = "written.txt"  # benchmarks.routes.WRITTEN, which this module does not import (it imports Keras)


@dataclass(frozen=True)
class Named:
    """An artifact as export_missing reads one: its directory, its length and whether it is unrolled."""

    name: str
    timesteps: int = 10
    unrolled: bool = False

    def directory(self, run: Path) -> Path:
        return run / self.name


def export(artifact: Named, run: Path) -> None:
    """Abort the process (as a converter's native code can) for an artifact named "aborts...", else write it."""
    if artifact.name.startswith("aborts"):
        os.abort()
    artifact.directory(run).mkdir(parents=True, exist_ok=True)
    (artifact.directory(run) / WRITTEN).write_text(f"written by process {os.getpid()}")
