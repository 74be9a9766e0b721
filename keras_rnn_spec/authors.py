"""The public API for layer authors: every claim of the spec on your layers, from your own test file.

    # tests/test_my_layer.py
    from keras_rnn_spec import KERAS_LAYERS, claims_for
    from my_layer import LAYERS  # catalogue entries (README, "Your own layer")

    test_my_layers = claims_for(LAYERS, expected_failed_claims={
        "test_cells.py::test_rnn_of_a_cell_returns_what_the_layer_returns": "MyCell is not public yet",
        "test_masking.py::test_masked_run_matches_the_reference[*-left-*]": "left padding is not supported",
    })
    test_keras_own = claims_for(KERAS_LAYERS)  # Keras' own layers beside them, in the same session

As scikit-learn's `parametrize_with_checks` hands an estimator every check and `expected_failed_checks`
names the checks it is known to fail, `claims_for` hands your layers every claim, and
`expected_failed_claims` names, by claim, the ones they are known to fail: such a claim runs as a
strict expected failure (a pass fails the run, so the entry cannot go stale). A claim is named as the
known differences table names it, CHAPTER::FUNCTION, optionally narrowed to cases by a pattern on its
case id in brackets (fnmatch).

The plugin (plugin.py) collects a module attribute holding a `ClaimsFor` as a node of that module,
under which each chapter of the spec is collected with those layers as the claims' parameters
(`catalogue.selection_at`): two attributes give two parametrizations of the same claims in one session.
The packaged known differences apply there as in a run of the spec. This module is imported by the
plugin, so it imports Keras only once such a node is collected.
"""

import fnmatch
from dataclasses import dataclass, field

import pytest

from keras_rnn_spec.invocation import PACKAGE_DIR
from keras_rnn_spec.report_render import claims_in


@dataclass(frozen=True)
class ClaimsFor:
    """Every claim of the spec on `layers`, collected where a test module holds this (see the module's docstring)."""

    layers: tuple
    expected_failed_claims: dict = field(default_factory=dict)  # "CHAPTER::FUNCTION[case pattern]" -> why


def claims_for(layers, *, expected_failed_claims: dict | None = None) -> ClaimsFor:
    """Every claim of the spec on `layers` (a catalogue.RecurrentLayer or a list of them), for a test
    module to hold under a name starting with test_; `expected_failed_claims` maps the claims they are
    known to fail, CHAPTER::FUNCTION optionally followed by [case pattern], to the reason."""
    return ClaimsFor(tuple(layers) if isinstance(layers, (list, tuple)) else (layers,), dict(expected_failed_claims or {}))


def chapters() -> list:
    """The spec's chapter files, in the order pytest collects the package."""
    return sorted(PACKAGE_DIR.glob("test_*.py"))


def claim_names() -> set[str]:
    """CHAPTER::FUNCTION for every claim of the spec."""
    return {f"{chapter}::{function}" for chapter, function in claims_in(PACKAGE_DIR)}


def problem_with(claims: ClaimsFor) -> str:
    """What is wrong with a `claims_for` call, in one line naming the fix, or ""."""
    from keras_rnn_spec.catalogue import RecurrentLayer, described
    from keras_rnn_spec.hypothesis_profiles import profile_problem

    problem = profile_problem()
    if problem:
        return problem
    strays = [layer for layer in claims.layers if not isinstance(layer, RecurrentLayer)]
    if not claims.layers:
        return "claims_for was given no layers: give it a keras_rnn_spec.catalogue.RecurrentLayer or a list of them"
    if strays:
        return f"claims_for was given {described(strays[0])}"
    known = claim_names()
    unknown = [key for key in claims.expected_failed_claims if key.partition("[")[0] not in known]
    if unknown:
        return (
            f"expected_failed_claims names {unknown[0]!r}, which is no claim of the spec: name one as "
            "CHAPTER::FUNCTION (test_flags.py::test_configurations_agree_where_they_overlap), optionally "
            "followed by [case pattern]; `pytest --pyargs keras_rnn_spec --collect-only -q` lists them"
        )
    return ""


class SpecClaims(pytest.Collector):
    """A `claims_for` in a test module: each chapter of the spec, collected with its layers."""

    def __init__(self, *, claims: ClaimsFor, **kwargs):
        super().__init__(**kwargs)
        self.claims = claims

    def collect(self):
        from keras_rnn_spec.catalogue import SELECTION, Selection

        problem = problem_with(self.claims)
        if problem:
            raise self.CollectError(problem)
        self.stash[SELECTION] = Selection("", self.claims.layers, chosen_in=self.nodeid)
        return [pytest.Module.from_parent(self, path=path, nodeid=f"{self.nodeid}::{path.name}") for path in chapters()]


def expected_failure(item, claims: ClaimsFor) -> str:
    """Why the author expects `item` to fail (a claim under their `claims_for`), or ""."""
    chapter = item.getparent(pytest.Module)
    function, _, case_id = f"{chapter.path.name}::{item.name}".partition("[")
    for key, why in claims.expected_failed_claims.items():
        claim, bracket, cases = key.partition("[")
        if claim == function and (not bracket or fnmatch.fnmatchcase(case_id.removesuffix("]"), cases.removesuffix("]"))):
            return why
    return ""


def mark_expected_failures(items) -> None:
    """A test its author expects to fail becomes a strict expected failure with their reason."""
    for item in items:
        holder = item.getparent(SpecClaims)
        why = expected_failure(item, holder.claims) if holder is not None else ""
        if why:
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"expected by {holder.nodeid}: {why}"))
