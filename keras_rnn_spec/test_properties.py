"""Chapter 8: the structure holds for any sizes, not only the notebook's.

Hypothesis draws batch, timesteps (from 1), features and units, and whether the model's Input
knows the timestep dimension; the structural claims of chapter 2 must hold for every draw. The
claims carry their own Hypothesis settings (a run of the spec leaves the user's profile alone): by
default the same examples on every run; SPEC_HYPOTHESIS_PROFILE=explore searches many more
(keras_rnn_spec/hypothesis_profiles.py).
"""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from keras_rnn_spec import hypothesis_profiles
from keras_rnn_spec.cases import reproduced_by
from keras_rnn_spec.catalogue import FLAGS, SEQUENCES, SEQUENCES_STATE
from keras_rnn_spec.observe import NOTES_DIMS, PATHS, Case, Dims, build, run
from keras_rnn_spec.parameters import each_layer
from keras_rnn_spec.semantics import expected_structure
from keras_rnn_spec.subject import as_list

dims = st.builds(
    Dims,
    batch=st.integers(1, 4),
    timesteps=st.integers(1, 12),
    features=st.integers(1, 4),
    units=st.integers(1, 6),
)
spec_settings = hypothesis_profiles.spec_settings()


# A claim's case for the report is the example at the notes' sizes, which every run draws first
# (Hypothesis' @example); a failure names the drawn case itself (verify.about).
def structure_example(layer, path) -> Case:
    return Case(layer, SEQUENCES_STATE, path)


def any_length_example(layer) -> Case:
    return Case(layer, SEQUENCES, "predict", known_timesteps=False)


@pytest.mark.parametrize("path", PATHS)
@each_layer
@reproduced_by(structure_example)
@spec_settings
@given(dims=dims, flags=st.sampled_from(FLAGS), known_timesteps=st.booleans())
@example(dims=NOTES_DIMS, flags=SEQUENCES_STATE, known_timesteps=True)
def test_structure_holds_for_any_sizes(layer, path, dims, flags, known_timesteps, verify):
    """For any batch, timesteps, features and units, the returned structure follows the flags.

    ```python
    assert sequence.shape == (2, 10, 5) and h.shape == (2, 5)  # (batch, timesteps, units), then (batch, units)
    ```
    """
    # A direct call has no Input, so the timestep dimension is always known there.
    case = Case(layer, flags, path, dims, known_timesteps=known_timesteps or path == "call")
    names, shapes = expected_structure(case)
    verify.about(case).structure(run(case).outputs, shapes, names=names)


@each_layer
@reproduced_by(any_length_example)
@spec_settings
@given(dims=dims, flags=st.sampled_from(FLAGS), other_timesteps=st.integers(1, 12))
@example(dims=NOTES_DIMS, flags=SEQUENCES, other_timesteps=4)
def test_one_model_with_unknown_timesteps_serves_any_length(layer, dims, flags, other_timesteps, verify):
    """With Input(shape=(None, features)), one model takes any length and the sequence has that length.

    ```python
    # The same model on another length, 4 steps (its data seeded with the length, as the claim does):
    other = model.predict(np.random.default_rng(4).normal(size=(2, 4, 3)).astype('float32'), verbose=0)
    assert sequence.shape == (2, 10, 5) and other.shape == (2, 4, 5)
    ```
    """
    case = Case(layer, flags, "predict", dims, known_timesteps=False)
    _, forward = build(case)
    check = verify.about(case)
    for timesteps in (dims.timesteps, other_timesteps):
        sized = replace(case, dims=replace(dims, timesteps=timesteps))
        x = np.random.default_rng(timesteps).normal(size=sized.dims.input_shape).astype("float32")
        names, shapes = expected_structure(sized)
        check.structure(as_list(forward(x)), shapes, names=names)
