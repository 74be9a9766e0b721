"""Which revision of the suite a run used, and whether two revisions are the same suite.

A results file is only comparable with another made by the same claims. "The suite" here is what
decides what a run of the spec records: the claims and their helpers, the session set-up, the
pinned subject and the matrix's sessions (SUITE_PATHS). The results files, the generated documents
and the prose beside them are outputs of runs, not part of the suite: committing a run's results
does not make the next run's revision differ, and a run does not make its own tree "dirty" by
writing its results file (which is tracked) before it records the revision.

Nothing here imports Keras, so the merge tool can use it without a subject installed.
"""

import subprocess

# Relative to the repository root. A change anywhere else (results/, docs/, README.md, tests/,
# benchmarks/, tools/) cannot change what a run of the spec observes.
SUITE_PATHS = (
    "keras_rnn_spec", "conftest.py", "pytest.ini", "requirements.txt", "requirements-suite.txt", "requirements-all-frameworks.txt", "noxfile.py",
)
UNKNOWN = "unknown"
DIRTY = "-dirty"


def _git(root, *arguments) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(["git", *arguments], cwd=root, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None


def suite_revision(root) -> str:
    """The commit checked out at `root` (short hash), with "-dirty" when a file of the suite differs
    from it (changed, staged or new and not ignored); "unknown" outside a git checkout."""
    head = _git(root, "rev-parse", "--short=7", "HEAD")
    if head is None or head.returncode != 0 or not head.stdout.strip():
        return UNKNOWN
    status = _git(root, "status", "--porcelain", "--", *SUITE_PATHS)
    if status is None or status.returncode != 0:
        return UNKNOWN
    return head.stdout.strip() + (DIRTY if status.stdout.strip() else "")


def is_commit(revision: str) -> bool:
    return revision != UNKNOWN and not revision.endswith(DIRTY)


def suite_changes(root, first: str, second: str) -> list[str] | None:
    """The files of the suite that differ between two commits (empty: the same suite), or None when
    this checkout cannot tell (a commit it does not have, or no git)."""
    if first == second:
        return []
    done = _git(root, "diff", "--name-only", first, second, "--", *SUITE_PATHS)
    if done is None or done.returncode != 0:
        return None
    return done.stdout.split()


def history_length(root, revision: str) -> int | None:
    """How many commits lead to `revision` (of a line of commits, the newest has the most), or None
    when this checkout does not have it."""
    done = _git(root, "rev-list", "--count", revision)
    return int(done.stdout) if done is not None and done.returncode == 0 else None
