"""The Hypothesis settings of chapter 8's property claims, chosen by SPEC_HYPOTHESIS_PROFILE.

The claims carry these settings themselves, so a run of the spec leaves the user's own Hypothesis
profile alone. The plugin checks the variable at start-up (`profile_problem`).
"""

import os

from hypothesis import HealthCheck, settings

VARIABLE = "SPEC_HYPOTHESIS_PROFILE"
DEFAULT = "spec"
# The verify fixture is shared by all examples of a test: it keeps no state between them but the
# records it appends.
SHARED_FIXTURE_CHECKS = [HealthCheck.function_scoped_fixture]
PROFILES = {
    # The same examples on every run, so CI is deterministic and a red run can be re-run: 7 drawn,
    # after the example at the notes' sizes that each claim names as its case (@example), 8 in all.
    "spec": dict(derandomize=True, max_examples=7, database=None, suppress_health_check=[HealthCheck.too_slow, *SHARED_FIXTURE_CHECKS]),
    # A random search with many more examples, for hunting new failures locally.
    "explore": dict(max_examples=200, suppress_health_check=SHARED_FIXTURE_CHECKS),
}


def chosen() -> str:
    return os.environ.get(VARIABLE, DEFAULT)


def profile_problem() -> str:
    """One line naming the variable, its value and the profiles there are, or "" when it names one."""
    if chosen() in PROFILES:
        return ""
    return f"{VARIABLE}={chosen()} is not a profile of the spec: set one of {', '.join(PROFILES)}, or unset it for {DEFAULT}"


def spec_settings() -> settings:
    """The chosen profile's settings; deadline None: a first call traces a graph, seconds, not a
    performance fault."""
    return settings(deadline=None, print_blob=True, **PROFILES[chosen()])
