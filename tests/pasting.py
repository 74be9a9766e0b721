"""Code pasted into a fresh Python process, as a user pastes a reproducer: the self-tests of the
report's snippets (test_snippets.py) and of sampled reproducers (test_reproducers.py) run theirs here."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pasted(runner: str, entries: list, *arguments: str) -> list[dict]:
    """The JSON lines that `runner` prints, run in one fresh Python process with `entries` as JSON on its
    standard input, in a temporary directory (chapter 22's snippets write the artifacts they export
    there) with the repository importable (`from keras_rnn_spec import reference`, a user's layer)."""
    with tempfile.TemporaryDirectory() as directory:
        finished = subprocess.run(
            [sys.executable, "-c", runner, *arguments],
            input=json.dumps(entries),
            cwd=directory,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
        )
    assert finished.returncode == 0, finished.stderr[-3000:]
    results = [json.loads(line) for line in finished.stdout.splitlines() if line.startswith("{")]
    assert len(results) == len(entries), finished.stdout[-3000:] + finished.stderr[-3000:]
    return results
