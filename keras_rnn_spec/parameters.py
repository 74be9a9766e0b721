"""Claims parametrized over the layers under test, which are resolved once per session, not at import.

A chapter says how a claim's parameters follow from the layers under test with `over_layers`:
`@over_layers("case", lambda selected: cases(selected.layers))` (ids=str by default). When pytest collects the claim,
`parametrize_from_selection` (keras_rnn_spec/session.py's pytest_generate_tests) calls that function on
the session's `catalogue.Selection` and puts a plain `parametrize` mark in its place, so the test ids
come out as if the list had been written in the decorator. No module holds the layer list itself.

A claim parametrized over the layers that have something (a cell state c, more than one state)
would get no parameter at all when no layer under test has it; pytest would then skip it as "got
empty parameter set", with the case id NOTSET. `or_skipped` gives it one case instead, skipped with a
reason that says what is missing and which layers ran.
"""

from typing import Callable

import pytest

from keras_rnn_spec.catalogue import Selection, selection_at

MARKER = "over_layers"


def over_layers(argnames: str, build: Callable[[Selection], list], ids=str, **kwargs):
    """Parametrize `argnames` with `build(selection)`, the session's layers under test; `ids` and
    `kwargs` as pytest.mark.parametrize takes them."""
    return getattr(pytest.mark, MARKER).with_args(argnames, build, ids=ids, **kwargs)


# The commonest parametrization: each layer under test as `layer`.
each_layer = over_layers("layer", lambda selected: list(selected.layers))


def parametrize_from_selection(metafunc) -> None:
    """Each `over_layers` mark of the claim becomes, in its place, the parametrize mark it stands for."""
    markers = metafunc.definition.own_markers
    for index, mark in enumerate(markers):
        if mark.name == MARKER:
            argnames, build = mark.args
            markers[index] = pytest.mark.parametrize(argnames, build(selection_at(metafunc.definition)), **mark.kwargs).mark


def or_skipped(params: list, missing: str, selected: Selection) -> list:
    """`params`, or when it is empty one parameter, skipped because no layer under test has `missing`."""
    if params:
        return params
    layers = "; ".join(
        f"{layer} has state{'s' * (len(layer.state_names) > 1)} {', '.join(layer.state_names)}" for layer in selected.layers
    )
    chosen_by = "" if selected.keras_own else f" ({selected.chosen_by})"
    reason = f"no layer under test has {missing}: {layers}{chosen_by}"
    return [pytest.param(None, id=f"no layer with {missing}", marks=pytest.mark.skip(reason=reason))]
