"""Output paths no file can be written at, for the self-tests of the tools that write files (both
check them with tools/outputs.py): each is made in a test's folder, with what its refusal must say."""

import os

import pytest

NOT_AS_ROOT = pytest.mark.skipif(os.geteuid() == 0, reason="root may write without permission")

# The output, with {name} the file the tool is asked to write; the files and folders/ made first;
# the one of them made read-only; what the refusal must say.
BAD_OUTPUTS = [
    pytest.param("docs", ["docs/"], None, "a directory, not a file", id="a directory"),
    pytest.param("notes/{name}", ["notes"], None, "notes is a file, not a folder", id="under a file"),
    pytest.param("notes/docs/{name}", ["notes"], None, "notes is a file, not a folder", id="further under a file"),
    pytest.param("docs/new/{name}", ["docs/"], "docs", "no permission to write in", id="in a read-only folder", marks=NOT_AS_ROOT),
    pytest.param("{name}", ["{name}"], "{name}", "not writable", id="a read-only file", marks=NOT_AS_ROOT),
]


def make(folder, made: list[str], read_only: str | None, name: str) -> dict:
    """Make the files and folders/ in `folder`, one of them read-only; returns what folder holds (`holds`)."""
    for path in made:
        if path.endswith("/"):
            (folder / path).mkdir()
        else:
            (folder / path.format(name=name)).write_text("kept")
    if read_only:
        path = folder / read_only.format(name=name)
        path.chmod(0o500 if path.is_dir() else 0o400)
    return holds(folder)


def holds(folder) -> dict:
    """Every file and folder under `folder`: {path: its bytes, or None for a folder}."""
    return {path: path.read_bytes() if path.is_file() else None for path in folder.rglob("*")}
