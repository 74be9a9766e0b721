"""The pytest cache that the self-tests' runs of the spec share, so that chapter 22 exports each
artifact once for all of them (keras_rnn_spec/artifact_cache.py): a folder of the outer run's own
pytest cache, kept for the next `pytest tests` and emptied by `pytest tests --cache-clear`; a
temporary folder where the outer run has no cache (`-p no:cacheprovider`). tests/conftest.py sets it."""

from pathlib import Path

CACHE_DIR: Path | None = None


def cache_options() -> list[str]:
    """The options that point a run of the spec at the shared cache."""
    assert CACHE_DIR is not None, "tests/conftest.py sets spec_runs.CACHE_DIR at configure time"
    return ["-o", f"cache_dir={CACHE_DIR}"]
