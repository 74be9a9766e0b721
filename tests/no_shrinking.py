"""A pytest plugin for the self-tests' runs of the spec: Hypothesis does not shrink a failing example.

The spec's property claims replay the same examples on every run; when a property
fails, Hypothesis then shrinks the failing example, building a new layer for each attempt, which
takes minutes for each failing property of a broken layer. Whether a claim fails is decided by the
examples it replays, the same with or without shrinking; only the example that the failure message
shows may be larger. Loaded with `-p no_shrinking`, before the chapters are imported: their settings leave `phases` to the
current profile, which this one sets.
"""

from hypothesis import Phase, settings


def pytest_configure(config):
    without_shrinking = [phase for phase in settings.default.phases if phase is not Phase.shrink]
    settings.register_profile("spec-without-shrinking", phases=without_shrinking)
    settings.load_profile("spec-without-shrinking")
