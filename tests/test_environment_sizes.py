"""Self-tests of tools/environment_sizes.py, which writes the README's table of the nox environments' sizes."""

import os
import re
import subprocess
import sys
from pathlib import Path

from tools import environment_sizes

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\| (\S+) \| (\d+\.\d) GB \| (.+) \|$", re.MULTILINE)


def fake_environment(nox_folder: Path, name: str, packages: dict[str, str], data: int) -> Path:
    """A folder shaped like a nox virtual environment: pyvenv.cfg, and each package's metadata in site-packages."""
    environment = nox_folder / name
    site_packages = environment / "lib" / "python3.11" / "site-packages"
    for package, version in packages.items():
        info = site_packages / f"{package.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n")
    (environment / "pyvenv.cfg").write_text("home = /usr/bin\n")
    with open(site_packages / "weights.bin", "wb") as weights:  # sparse: its size, not its blocks
        weights.truncate(data)
    return environment


def test_an_environment_is_the_bytes_of_its_files_each_counted_once(tmp_path):
    """A file linked twice is counted once; the frameworks come from the packages' metadata, in a fixed order."""
    environment = fake_environment(tmp_path, "all-frameworks-jax", {"torch": "2.13.0", "keras": "3.15.1", "tensorflow": "2.21.0", "numpy": "2.4.6"}, 10**6)
    os.link(environment / "lib/python3.11/site-packages/weights.bin", environment / "again.bin")
    files = [path for path in environment.rglob("*") if path.is_file() and path.name != "again.bin"]
    (name, size, frameworks), = environment_sizes.measure(tmp_path, [])
    assert (name, size) == ("all-frameworks-jax", sum(path.stat().st_size for path in files))
    assert frameworks == "tensorflow 2.21.0, keras 3.15.1, torch 2.13.0"


def test_the_table_has_a_row_per_environment_in_gb_named_after_its_session(tmp_path):
    """nox keeps tf2.15's environment in .nox/tf2-15: the row says tf2.15, as the results files do, in
    docs/compatibility.md's order (the TensorFlow releases first)."""
    fake_environment(tmp_path, "tf2-15", {"tensorflow": "2.15.1"}, 2_345_000_000)
    fake_environment(tmp_path, "keras3-jax", {"keras": "3.15.1", "jax": "0.10.2"}, 10)
    block = environment_sizes.table(environment_sizes.measure(tmp_path, ["tf2.15", "keras3-jax"]), "a machine")
    assert block.startswith(environment_sizes.BEGIN) and block.endswith(environment_sizes.END)
    assert ROW.findall(block) == [("tf2.15", "2.3", "tensorflow 2.15.1"), ("keras3-jax", "0.0", "keras 3.15.1, jax 0.10.2")]


def test_without_nox_environments_the_tool_says_what_to_run_first(tmp_path):
    """No .nox/ folder: one line naming the command to run, exit 2, and nothing written."""
    readme = tmp_path / "README.md"
    readme.write_text(f"{environment_sizes.BEGIN}\nold\n{environment_sizes.END}\n")
    done = subprocess.run(
        [sys.executable, "-m", "tools.environment_sizes", "--nox", str(tmp_path / ".nox"), "--write", str(readme)],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].endswith("run `nox` (or `nox -s NAME`) first")
    assert "old" in readme.read_text()


def test_the_readme_says_how_large_the_all_frameworks_environments_are():
    """The README's table, written by the tool, has a row for each session with every framework installed."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split(environment_sizes.BEGIN, 1)[1].split(environment_sizes.END, 1)[0]
    rows = {name: frameworks for name, _, frameworks in ROW.findall(block)}
    for backend in ("tensorflow", "jax", "torch"):
        assert {"tensorflow", "keras", "jax", "torch"} <= {pair.split()[0] for pair in rows[f"all-frameworks-{backend}"].split(", ")}
