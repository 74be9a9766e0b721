"""Self-tests of chapter 22's export cache (keras_rnn_spec/artifact_cache.py).

Its key changes with every part of what shapes an artifact; an entry that cannot be trusted, or a
cache that cannot be written, gives one line and a fresh export; and a run of the chapter reads the
same verdicts from the cache as from fresh exports.
"""

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from keras_rnn_spec import artifact_cache
from keras_rnn_spec.artifact_cache import ArtifactCache, artifact_key

ROOT = Path(__file__).resolve().parents[1]


class UsersLayer:
    """A layer class outside Keras, whose code the key holds."""

    def call(self):
        return 1


class Model:
    """What artifact_key reads of a Keras model: its weights, its configuration, its layers."""

    def __init__(self, weights, configuration='{"units": 5}', layer=UsersLayer):
        self.weights, self.configuration, self.layer = weights, configuration, layer

    def get_weights(self):
        return self.weights

    def to_json(self):
        return self.configuration

    def _flatten_layers(self, include_self, recursive):
        return [self.layer()]


WEIGHTS = [np.arange(6, dtype="float32").reshape(2, 3)]
EXPORT_CODE = "model.export('model.onnx', format='onnx')"


def key(model=None, case="LSTM-state", export="onnx", export_code=EXPORT_CODE) -> str:
    return artifact_key(model or Model(WEIGHTS), case, export, export_code)


class OtherUsersLayer(UsersLayer):
    def call(self):
        return 2


def test_every_part_of_what_shapes_an_artifact_changes_the_key(monkeypatch, tmp_path):
    """The key changes with the packages' versions, the model case, its configuration, its weights,
    the code of its non-Keras layers, the export, the export's code and the module that executes it (exporting.py)."""
    first = key()
    assert key() == first  # the same parts, the same key
    changed = {
        "model case": key(case="LSTM-sequences-state"),
        "configuration": key(Model(WEIGHTS, '{"units": 6}')),
        "weights": key(Model([WEIGHTS[0] + 1e-7])),
        "layer code": key(Model(WEIGHTS, layer=OtherUsersLayer)),
        "export": key(export="tf2onnx"),
        "export's code": key(export_code=EXPORT_CODE + "  # changed"),
    }
    code = tmp_path / "exporting.py"
    code.write_bytes(artifact_cache.EXPORTING_MODULE.read_bytes() + b"\n# changed\n")
    monkeypatch.setattr(artifact_cache, "EXPORTING_MODULE", code)
    changed["exporting module"] = key()
    monkeypatch.undo()
    versions = artifact_cache.package_versions()
    monkeypatch.setattr(artifact_cache, "package_versions", lambda: {**versions, "keras": "0.0.0"})
    changed["versions"] = key()
    assert [part for part, value in changed.items() if value == first] == []
    assert len(set(changed.values())) == len(changed)


def written(tmp_path: Path) -> tuple[ArtifactCache, Path]:
    """A cache holding one written artifact, a folder of two files, under the key "k"."""
    folder = tmp_path / "export"
    (folder / "model").mkdir(parents=True)
    (folder / "model" / "graph.pb").write_bytes(b"graph")
    (folder / "model" / "weights.bin").write_bytes(b"weights")
    cache = ArtifactCache(tmp_path / "cache")
    cache.directory.mkdir()
    cache.put_written("k", folder, folder / "model")
    return cache, folder


def test_a_kept_artifact_and_a_kept_failure_come_back(tmp_path):
    """A written artifact comes back as its path in the cache, with the same files; a failure as its type and message."""
    cache, folder = written(tmp_path)
    outcome, path = cache.get("k")
    assert outcome == "written" and path == cache.directory / "k" / "model"
    assert (path / "graph.pb").read_bytes() == b"graph" and (path / "weights.bin").read_bytes() == b"weights"
    cache.put_raised("r", "ConverterError", "no rule for TensorList")
    assert cache.get("r") == ("raised", "ConverterError", "no rule for TensorList")
    assert cache.get("absent") is None and cache.problems == []


def changed_file(entry: Path):
    (entry / "model" / "weights.bin").write_bytes(b"other weights")


def deleted_file(entry: Path):
    (entry / "model" / "graph.pb").unlink()


def unreadable_outcome(entry: Path):
    (entry / artifact_cache.OUTCOME).write_text('{"outcome": "writ')


def missing_outcome(entry: Path):
    (entry / artifact_cache.OUTCOME).unlink()


@pytest.mark.parametrize("damage", [changed_file, deleted_file, unreadable_outcome, missing_outcome], ids=lambda f: f.__name__)
def test_an_entry_that_cannot_be_trusted_is_dropped_with_one_line(tmp_path, damage):
    """A kept artifact whose files changed or are missing, or whose record is unreadable, is not used:
    one line says so, the entry is removed, and the next export keeps a fresh one."""
    cache, folder = written(tmp_path)
    damage(cache.directory / "k")
    assert cache.get("k") is None
    (line,) = cache.problems
    assert line.startswith("cached export k ") and line.endswith(": exported anew"), line
    assert not (cache.directory / "k").exists()
    cache.put_written("k", folder, folder / "model")
    assert cache.get("k")[0] == "written"


def test_a_cache_that_cannot_be_written_is_left_with_one_line(tmp_path):
    """A cache folder that cannot be written (here, under a file) gives one line, and the run goes on without it."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cache = ArtifactCache(blocker / "cache")
    cache.put_raised("k", "E", "m")
    cache.put_raised("l", "E", "m")
    (line,) = cache.problems
    assert line.startswith(f"the export cache {blocker / 'cache'} cannot be written (") and line.endswith("this run exports without it")
    assert not cache.writable


def test_a_full_disk_leaves_no_partial_entry(tmp_path, monkeypatch):
    """A disk that fills while an entry is written leaves no partial entry behind, and one line."""
    cache, folder = written(tmp_path)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(shutil, "copytree", full)
    cache.put_written("other", folder, folder / "model")
    assert sorted(path.name for path in cache.directory.iterdir()) == ["k"]
    (line,) = cache.problems
    assert "No space left on device" in line and line.endswith("this run exports without it")


# -- a run of the chapter

SELECTION = ["keras_rnn_spec/test_export.py", "-k", "saved_model-serve-LSTM-sequences-state and not fixed and not unrolled and not stateful and not streaming"]


def chapter_run(cache_dir: Path, out: Path, *options: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pytest", "-q", "-o", f"cache_dir={cache_dir}", f"--spec-report={out / 'spec.md'}"]
    command += [f"--report-log={out / 'results.jsonl'}", *options, *SELECTION]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def verdicts(out: Path) -> dict:
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return {r["nodeid"]: r["outcome"] for r in records if r.get("when") == "call"}


def entries(cache_dir: Path) -> list[Path]:
    return sorted((cache_dir / "d" / artifact_cache.FOLDER).glob("*/" + artifact_cache.OUTCOME))


def test_a_run_reads_the_same_verdicts_from_the_cache_and_rebuilds_a_damaged_entry(tmp_path):
    """A second run takes the artifact from the cache and gives the same verdicts; after its files are
    damaged, a third run says so in one line, exports anew and gives them again; --cache-clear empties it."""
    cache_dir = tmp_path / "cache"
    first = chapter_run(cache_dir, tmp_path / "first")
    assert first.returncode == 0, first.stdout[-3000:]
    (kept,) = entries(cache_dir)
    written_at = kept.stat().st_mtime_ns
    second = chapter_run(cache_dir, tmp_path / "second")
    assert verdicts(tmp_path / "second") == verdicts(tmp_path / "first") != {}
    assert kept.stat().st_mtime_ns == written_at, "the second run exported anew"
    for path in kept.parent.rglob("*.pb"):
        path.write_bytes(b"damaged")
    third = chapter_run(cache_dir, tmp_path / "third")
    assert verdicts(tmp_path / "third") == verdicts(tmp_path / "first")
    assert [line for line in third.stdout.splitlines() if line.startswith("cached export ")], third.stdout[-2000:]
    assert second.returncode == third.returncode == 0
    chapter_run(cache_dir, tmp_path / "cleared", "--cache-clear")
    assert entries(cache_dir)[0].stat().st_mtime_ns != written_at
