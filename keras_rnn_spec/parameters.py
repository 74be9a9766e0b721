"""Parameter lists that the layers under test can leave empty (SPEC_LAYERS), skipped with a reason.

A claim parametrized over the layers that have something (a cell state c, more than one state)
gets no parameter at all when no layer under test has it; pytest would then skip it as "got empty
parameter set", with the case id NOTSET. Here it gets one case instead, skipped with a reason that
says what is missing and which layers ran.
"""

import pytest

from keras_rnn_spec.catalogue import LAYERS, SPEC_LAYERS


def or_skipped(params: list, missing: str) -> list:
    """`params`, or when it is empty one parameter, skipped because no layer under test has `missing`."""
    if params:
        return params
    layers = "; ".join(
        f"{layer} has state{'s' * (len(layer.state_names) > 1)} {', '.join(layer.state_names)}" for layer in LAYERS
    )
    chosen_by = f" (SPEC_LAYERS={SPEC_LAYERS})" if SPEC_LAYERS else ""
    reason = f"no layer under test has {missing}: {layers}{chosen_by}"
    return [pytest.param(None, id=f"no layer with {missing}", marks=pytest.mark.skip(reason=reason))]
