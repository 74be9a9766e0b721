"""Chapter 8: the structure holds for any sizes, not only the notebook's.

Hypothesis draws batch, timesteps (from 1), features and units, and whether the model's Input
knows the timestep dimension; the structural claims of chapter 2 must hold for every draw. The
claims carry their own Hypothesis settings (a run of the spec leaves the user's profile alone): by
default the same examples on every run; SPEC_HYPOTHESIS_PROFILE=explore searches many more.
"""

import os
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keras_rnn_spec.catalogue import FLAGS, LAYERS
from keras_rnn_spec.observe import PATHS, Case, Dims, build, run
from keras_rnn_spec.semantics import expected_structure
from keras_rnn_spec.subject import as_list

dims = st.builds(
    Dims,
    batch=st.integers(1, 4),
    timesteps=st.integers(1, 12),
    features=st.integers(1, 4),
    units=st.integers(1, 6),
)
# The verify fixture holds no state between examples, so sharing it across them is safe.
fixture_reuse_is_safe = [HealthCheck.function_scoped_fixture]
SETTINGS = {
    # The same examples on every run, so CI is deterministic and a red run can be re-run.
    "spec": dict(derandomize=True, max_examples=8, database=None, suppress_health_check=[HealthCheck.too_slow, *fixture_reuse_is_safe]),
    # A random search with many more examples, for hunting new failures locally.
    "explore": dict(max_examples=200, suppress_health_check=fixture_reuse_is_safe),
}
# deadline None: a first call traces a graph, seconds, not a performance fault.
spec_settings = settings(deadline=None, print_blob=True, **SETTINGS[os.environ.get("SPEC_HYPOTHESIS_PROFILE", "spec")])


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("layer", LAYERS, ids=str)
@spec_settings
@given(dims=dims, flags=st.sampled_from(FLAGS), known_timesteps=st.booleans())
def test_structure_holds_for_any_sizes(layer, path, dims, flags, known_timesteps, verify):
    """For any batch, timesteps, features and units, the returned structure follows the flags."""
    # A direct call has no Input, so the timestep dimension is always known there.
    case = Case(layer, flags, path, dims, known_timesteps=known_timesteps or path == "call")
    names, shapes = expected_structure(case)
    verify.about(case).structure(run(case).outputs, shapes, names=names)


@pytest.mark.parametrize("layer", LAYERS, ids=str)
@spec_settings
@given(dims=dims, flags=st.sampled_from(FLAGS), other_timesteps=st.integers(1, 12))
def test_one_model_with_unknown_timesteps_serves_any_length(layer, dims, flags, other_timesteps, verify):
    """With Input(shape=(None, features)), one model takes any length and the sequence has that length."""
    case = Case(layer, flags, "predict", dims, known_timesteps=False)
    _, forward = build(case)
    check = verify.about(case)
    for timesteps in (dims.timesteps, other_timesteps):
        sized = replace(case, dims=replace(dims, timesteps=timesteps))
        x = np.random.default_rng(timesteps).normal(size=sized.dims.input_shape).astype("float32")
        names, shapes = expected_structure(sized)
        check.structure(as_list(forward(x)), shapes, names=names)
