"""Measure how large each nox environment of the matrix is, and write the figures into the README.

    python -m tools.environment_sizes                    # print the table of the .nox/ environments here
    python -m tools.environment_sizes --write README.md  # the same, written between the README's markers

A row is named after the session whose folder it is (nox writes tf2.12's in .nox/tf2-12), as the
results files of the matrix spell it. An environment's size is the bytes of the files under its folder (.nox/NAME: the interpreter's links,
pip's packages, their data), as `du --apparent-size` counts them, in GB (10^9 bytes). Its frameworks
are read from the packages' own metadata in that folder, so nothing is imported or run. Run it after
the sessions have installed (`nox`, or `nox -s NAME`): an environment not installed here is left out.
"""

import argparse
import os
import platform
import re
from importlib import metadata
from pathlib import Path

from tools.compatibility import environment_key
from tools.outputs import write_block

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- sizes: written by python -m tools.environment_sizes --write README.md -->", "<!-- end of sizes -->"
FRAMEWORKS = ("tensorflow", "tf-keras", "keras", "jax", "torch", "flax")


def size(folder: Path) -> int:
    """The bytes of the files under `folder`, each counted once, links not followed."""
    total, seen = 0, set()
    for directory, _, files in os.walk(folder):
        for name in files:
            status = os.lstat(os.path.join(directory, name))
            if (status.st_dev, status.st_ino) not in seen:
                seen.add((status.st_dev, status.st_ino))
                total += status.st_size
    return total


def frameworks(environment: Path) -> str:
    """The frameworks installed in a virtual environment, "tensorflow 2.21.0, keras 3.15.1, ...", in FRAMEWORKS' order."""
    found = {}
    for site_packages in environment.glob("lib/python*/site-packages"):
        for distribution in metadata.distributions(path=[str(site_packages)]):
            found[distribution.metadata["Name"].lower().replace("_", "-")] = distribution.version
    return ", ".join(f"{name} {found[name]}" for name in FRAMEWORKS if name in found) or "none"


def folder_of(session: str) -> str:
    """The folder nox gives a session's environment: tf2-12 for tf2.12 (nox/sessions.py, _normalize_path)."""
    return re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "-", session).strip().lower()).strip("-")


def measure(nox_folder: Path, sessions: list[str]) -> list[tuple[str, int, str]]:
    """(session, bytes, frameworks) of each environment under `nox_folder`, by name: named after the
    session of `sessions` whose folder it is, else after the folder."""
    named = {folder_of(session): session for session in sessions}
    environments = sorted(path for path in nox_folder.iterdir() if (path / "pyvenv.cfg").is_file()) if nox_folder.is_dir() else []
    rows = [(named.get(path.name, path.name), size(path), frameworks(path)) for path in environments]
    return sorted(rows, key=lambda row: environment_key(row[0]))  # docs/compatibility.md's order


def table(sizes: list[tuple[str, int, str]], machine: str) -> str:
    """The README's block: a row per environment."""
    rows = [f"| {name} | {count / 1e9:.1f} GB | {installed} |" for name, count, installed in sizes]
    return "\n".join([
        BEGIN,
        f"Installed by nox on {machine}:",
        "",
        "| nox session | size | frameworks |",
        "|---|---|---|",
        *rows,
        END,
    ])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.environment_sizes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", metavar="README", type=Path, help="replace the block between the sizes markers of this file")
    parser.add_argument("--nox", type=Path, default=ROOT / ".nox", help="the folder of the nox environments (default .nox/)")
    options = parser.parse_args(argv)
    if options.write and not options.write.is_file():
        parser.error(f"--write {options.write}: no such file")
    # The sessions' names, as the matrix's results files spell them (results/tf2.12.jsonl.gz).
    sizes = measure(options.nox, [path.name.split(".jsonl")[0] for path in (ROOT / "results").glob("*.jsonl.gz")])
    if not sizes:
        parser.error(f"no nox environment under {options.nox}: run `nox` (or `nox -s NAME`) first")
    block = table(sizes, f"{platform.system()} {platform.machine()}, Python {platform.python_version()}")
    if options.write:
        write_block(options.write, block, BEGIN, END)
    print(block)


if __name__ == "__main__":
    main()
