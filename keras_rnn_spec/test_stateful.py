"""Chapter 13: stateful layers. With stateful=True, the final states of one batch start the next.

Source: the RNN docstrings. "stateful: Boolean (default: False). If True, the last state for each
sample at index i in a batch will be used as initial state for the sample of index i in the
following batch." And the note on statefulness: "Specify a fixed batch size for your model, by
passing `batch_size=...` to the `Input` layer(s) of your model" (Keras 3); "If sequential model:
`batch_input_shape=(...)` to the first layer ... for functional model ... `batch_shape=(...)`"
(Keras 2). To start again from zeros: `reset_states()` on the layer, which both Keras 2 and Keras 3
have; Keras 3 names the method `reset_state()` and keeps `reset_states()` as an alias.

A stateful layer keeps its states in variables of shape (batch, units), made when it is built,
which is why the batch size must be known then and fixed afterwards. Numbers are checked against
the float64 reference (keras_rnn_spec/reference.py) on the whole sequence.
"""

import numpy as np
import pytest

from keras_rnn_spec.cases import reproduced_by
from keras_rnn_spec.catalogue import SEQUENCES, reference_of
from keras_rnn_spec.observe import reproduced
from keras_rnn_spec.parameters import over_layers
from keras_rnn_spec.refusals import check_bound, check_raised
from keras_rnn_spec.stateful import (
    BATCH_SIZE_WAYS,
    DIMS,
    OTHER_BATCH,
    REFUSED,
    REFUSED_WHEN_BUILT,
    StatefulCase,
    batch_input_shape_case,
    batch_size_case,
    check_zeros,
    each_stateful_layer,
    made_stateful,
    model_reset_case,
    no_batch_size_case,
    over_scenario,
    shape_returned,
)
from keras_rnn_spec.subject import KERAS_MAJOR, to_numpy
from keras_rnn_spec.verify import reference_tolerance


@over_scenario("two-calls")
def test_state_carries_from_one_call_to_the_next(case, verify):
    """Calls on x[:, :k] and then x[:, k:] return the sequence of one pass over x: the second goes on from the first.

    Along both paths: two `Model.predict` calls (the notes' path), and two direct layer calls.

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    expected, _ = reference.simple_rnn(layer.get_weights(), x)  # one pass over the whole x
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), expected, atol=4 * 10 * (3 + 5 + 1) * 2**-23)
    ```
    """
    bound = reproduced(case)
    joined = np.concatenate([to_numpy(bound["first"]), to_numpy(bound["second"])], axis=1)
    expected, _ = reference_of(case.layer)(bound["layer"].get_weights(), bound["x"])
    verify.equal(
        joined, expected, what="the two calls' sequences, joined, against the reference on the whole x",
        atol=reference_tolerance(case.dims), why="float32 rounding over T steps",
    )


@over_scenario("one-predict", paths=["predict"])
def test_state_carries_between_batches_of_one_predict(case, verify):
    """Within one predict, sample i of each batch continues sample i of the batch before it.

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    expected, _ = reference.simple_rnn(layer.get_weights(), x)  # one pass over the whole x
    # Sample i of batch 2 goes on from sample i of batch 1:
    joined = np.concatenate([predicted[:2], predicted[2:]], axis=1)
    np.testing.assert_allclose(joined, expected, atol=4 * 10 * (3 + 5 + 1) * 2**-23)
    ```
    """
    bound = reproduced(case)
    # Batch 1 holds the first halves of the two sequences, batch 2 their second halves.
    predicted, batch = bound["predicted"], case.dims.batch
    joined = np.concatenate([predicted[:batch], predicted[batch:]], axis=1)
    expected, _ = reference_of(case.layer)(bound["layer"].get_weights(), bound["x"])
    verify.equal(
        joined, expected, what="batch 1 then batch 2, joined per sample, against the reference on the whole x",
        atol=reference_tolerance(case.dims), why="float32 rounding over T steps",
    )


@over_scenario("reset", paths=["call"])
def test_reset_states_sets_the_states_back_to_zeros(case, verify):
    """After reset_states() the states are zeros, and the next call returns what the first call returned.

    reset_states() is a method of the layer in Keras 2 and Keras 3 alike.

    ```python
    assert all(np.all(state == 0) for state in states)
    np.testing.assert_array_equal(again, first)
    ```
    """
    bound = reproduced(case)
    check_zeros(verify, case.layer, bound["states"], after="reset_states()")
    # From zeros on the same input, the same operations again: exact.
    verify.equal(to_numpy(bound["again"]), to_numpy(bound["first"]), what="the call after reset_states() against the first call")


@over_scenario("reset-state", paths=["call"])
def test_reset_state_is_the_keras_3_name(case, verify):
    """Keras 3 names the method reset_state(): it sets the states to zeros, as its alias reset_states() does.

    ```python
    assert all(np.all(np.asarray(state) == 0) for state in layer.states)
    ```
    """
    if KERAS_MAJOR < 3:
        pytest.skip("Keras 2 layers have reset_states() only; reset_state() is the Keras 3 name")
    check_zeros(verify, case.layer, reproduced(case)["states"], after="reset_state()")


@each_stateful_layer
@reproduced_by(model_reset_case)
def test_only_a_keras_2_model_resets_its_layers(layer, verify):
    """A Keras 2 Model has reset_states(), which zeroes its stateful layers; a Keras 3 Model has no reset method.

    Keras 3's RNN docstring still says "call .reset_state() on either a specific layer, or on your
    entire model"; on Keras 3 the layers are reset one by one (keras-team/keras#17440 asks for a
    model-level method).

    ```python
    assert found == []  # Keras 3: neither reset_state nor reset_states on the Model
    ```
    """
    bound = reproduced(model_reset_case(layer))
    if KERAS_MAJOR >= 3:
        found = bound["found"]
        verify.holds(not found, what="reset methods of a Keras 3 Model", details=f"the model has {found}")
    else:
        check_zeros(verify, layer, bound["states"], after="model.reset_states()")


@each_stateful_layer
@reproduced_by(no_batch_size_case)
def test_stateful_layer_without_a_batch_size_is_refused(layer, verify):
    """A stateful layer on an Input without a batch size raises ValueError when the model is built.

    ```python
    assert isinstance(refused, ValueError)
    ```
    """
    what = f"{layer.constructor_code(DIMS.units, SEQUENCES)} on keras.Input(shape=(None, {DIMS.features}))"
    check_bound(verify, REFUSED_WHEN_BUILT, reproduced(no_batch_size_case(layer)), what=what)


@pytest.mark.parametrize("way", BATCH_SIZE_WAYS)
@each_stateful_layer
@reproduced_by(batch_size_case)
def test_input_batch_size_or_batch_shape_fixes_the_states_batch(layer, way, verify):
    """keras.Input(batch_size=b) or Input(batch_shape=(b, ...)) gives a stateful layer states of shape (b, units).

    ```python
    assert {state.shape for state in states} == {(2, 5)}  # every state (batch, units)
    ```
    """
    states = reproduced(batch_size_case(layer, way))["states"]
    verify.structure(states, [(DIMS.batch, DIMS.units)] * len(layer.state_names), names=list(layer.state_names))


@each_stateful_layer
@reproduced_by(batch_input_shape_case)
def test_batch_input_shape_is_a_keras_2_argument(layer, verify):
    """batch_input_shape= on the first layer fixes the batch in Keras 2; Keras 3 refuses it with ValueError.

    ```python
    assert isinstance(outcome, ValueError)  # Keras 3 (Keras 2: a (2, 5) shape per state)
    ```
    """
    outcome = reproduced(batch_input_shape_case(layer))["outcome"]
    if KERAS_MAJOR >= 3:
        refused = outcome if isinstance(outcome, Exception) else None
        step = "build" if refused else None
        check_raised(verify, REFUSED_WHEN_BUILT, step, refused, what="batch_input_shape= on Keras 3", returned=f"states of shapes {outcome}")
    else:
        verify.holds(
            outcome == [(DIMS.batch, DIMS.units)] * len(layer.state_names),
            what="batch_input_shape= on Keras 2",
            details=f"expected states of shape {(DIMS.batch, DIMS.units)}; observed {outcome!r}",
        )


@over_scenario("other-batch", paths=["call"])
def test_another_batch_size_is_refused_by_the_layer(case, verify):
    """A stateful layer built for batch b refuses a call on another batch size with ValueError.

    Keras 3 compares the input's batch with its states' ("If an RNN is stateful, the batch size of
    the input sequences must be the same as the batch size of the initial state"); Keras 2's input
    spec holds the batch size ("is incompatible with the layer: expected shape=(2, None, 3)").

    ```python
    assert isinstance(refused, ValueError)
    ```
    """
    bound = reproduced(case)
    what = f"a call with batch {OTHER_BATCH} on a layer built for batch {case.dims.batch}"
    check_bound(verify, REFUSED, bound, what=what, returned=shape_returned(bound))


@over_scenario("other-batch", paths=["predict"])
def test_another_batch_size_is_refused_by_a_first_predict(case, verify):
    """A new model with a stateful layer on batch b refuses a first predict on another batch size with ValueError.

    ```python
    assert isinstance(refused, ValueError)
    ```
    """
    bound = reproduced(case)
    what = f"a first predict with batch {OTHER_BATCH} on a model built for batch {case.dims.batch}"
    check_bound(verify, REFUSED, bound, what=what, returned=shape_returned(bound))


# One layer: the batch check and predict's tracing belong to the RNN base class and the trainer,
# the same for the three layers, and each run of this claim costs a retrace (~0.3 s).
@over_layers("case", lambda selected: [StatefulCase(made_stateful(selected.layers)[-1], "predict", "batch-after-predict")])
def test_another_batch_size_is_refused_after_a_predict(case, verify):
    """After a predict on batch b, a predict on another batch size is still refused with ValueError.

    ```python
    assert isinstance(refused, ValueError)
    ```
    """
    bound = reproduced(case)
    what = f"predict with batch {OTHER_BATCH} after a predict with batch {case.dims.batch}"
    check_bound(verify, REFUSED, bound, what=what, returned=shape_returned(bound))
