"""What the command-line tools write: the check each makes on a path before it writes anything
(tools/compatibility.py's --output, benchmarks/report.py's --markdown and --plot), and the generated
blocks of the README (tools/budgets.py, tools/environment_sizes.py)."""

import os
import re
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


def generated_block(begin: str, end: str) -> re.Pattern:
    """A tool's block in a page, from its first marker to its last."""
    return re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)


def write_block(page: Path, block: str, begin: str, end: str) -> None:
    """Replace the block between the markers `begin` and `end` of `page` (the markers included) with `block`."""
    text = page.read_text(encoding="utf-8")
    pattern = generated_block(begin, end)
    if not pattern.search(text):
        raise SystemExit(f"--write {page}: no block ({begin} ... {end}) to replace: add the two markers where the table goes")
    page.write_text(pattern.sub(lambda _: block, text), encoding="utf-8")
