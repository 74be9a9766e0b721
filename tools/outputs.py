"""The check a command-line tool makes on each path it will write, before it writes anything
(tools/compatibility.py's --output, benchmarks/report.py's --markdown and --plot)."""

import os
from pathlib import Path


def output_problem(path: Path) -> str | None:
    """Why no file can be written at `path`, once its missing folders are made, as "what is wrong: how
    to fix it"; None when one can."""
    if path.is_dir():
        return "a directory, not a file: name the file to write (one in it, say)"
    folder = next(parent for parent in path.parents if parent.exists())
    if not folder.is_dir():
        return f"{folder} is a file, not a folder, so nothing can be written under it: name a path outside it"
    if path.exists() and not os.access(path, os.W_OK):
        return "the file is not writable (no permission): name one you can write, or make it writable"
    if not path.exists() and not os.access(folder, os.W_OK | os.X_OK):
        return f"no permission to write in {folder}: name a path in a folder you can write in"
    return None
