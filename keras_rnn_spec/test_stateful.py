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

import functools
from dataclasses import dataclass

import numpy as np
import pytest

from keras_rnn_spec.cases import WrittenCase, reproduced_by
from keras_rnn_spec.catalogue import SEQUENCES, RecurrentLayer, reference_of
from keras_rnn_spec.observe import (
    NOTES_DIMS,
    Dims,
    data_code,
    inputs_for,
    preamble,
    seed_weights,
    seeding_code,
)
from keras_rnn_spec.parameters import over_layers
from keras_rnn_spec.subject import KERAS_MAJOR, as_list, keras, to_numpy
from keras_rnn_spec.verify import reference_tolerance

DIMS = NOTES_DIMS
HALF = DIMS.timesteps // 2  # two chunks of equal length: the second predict reuses the first one's trace
OTHER_BATCH = 1  # a single sample: broadcast against the states, it would run unnoticed


def layer_id(layer: RecurrentLayer) -> str:
    """The layer's own name (every layer in this chapter is stateful): LSTM, not LSTM(stateful=True)."""
    return str(layer.derived_from)


def stateful(layers) -> list[RecurrentLayer]:
    return [layer.with_options(stateful=True) for layer in layers]


each_stateful_layer = over_layers("layer", lambda selected: stateful(selected.layers), ids=layer_id)


# A refused call's lines end with the error in `refused` (None if the call returned).
REFUSED = ["    refused = None", "except ValueError as error:", "    refused = error", "print(refused)"]
# The lines of a reproducer that follow the set-up, per scenario.
SCENARIOS = {
    "two-calls": ["first = run(x[:, :HALF])", "second = run(x[:, HALF:])  # continues first", "print(first, second)"],
    "one-predict": [
        "chunks = np.concatenate([x[:, :HALF], x[:, HALF:]], axis=0)  # batch 1: first halves; batch 2: second",
        "predicted = model.predict(chunks, batch_size=BATCH, verbose=0)",
        "print(predicted)",
    ],
    "reset": [
        "first = run(x[:, :HALF])",
        "run(x[:, HALF:])",
        "layer.reset_states()",
        "states = [np.asarray(state) for state in layer.states]",
        "again = run(x[:, :HALF])",
        "print(states, again, first)",
    ],
    "reset-state": ["run(x[:, :HALF])", "layer.reset_state()", "print(layer.states)"],
    "other-batch": ["try:", "    run(x[:OTHER, :HALF])  # on a layer built for BATCH", *REFUSED],
    "batch-after-predict": [
        "run(x[:, :HALF])",
        "try:",
        "    run(x[:OTHER, :HALF])  # on a model built for BATCH",
        *REFUSED,
    ],
}


@dataclass(frozen=True)
class StatefulCase:
    """A stateful layer (return_sequences=True) on a fixed batch, run along one path in one scenario."""

    layer: RecurrentLayer
    path: str  # "predict": a Model with Input(shape=(None, features), batch_size=batch); "call": the layer itself
    scenario: str
    dims: Dims = DIMS

    def __str__(self) -> str:
        return f"{layer_id(self.layer)}-{self.path}"

    def describe(self) -> str:
        code = self.layer.constructor_code(self.dims.units, SEQUENCES)
        via = "a direct layer call" if self.path == "call" else f"Model.predict, Input batch_size={self.dims.batch}"
        return f"{code} via {via} ({self.scenario}), input {self.dims.input_shape}, seeded uniform weights"

    def snippet(self) -> str:
        d = self.dims
        lines = [
            *preamble(d.input_shape, self.layer),
            f"layer = {self.layer.constructor_code(d.units, SEQUENCES)}",
        ]
        if self.path == "predict":
            lines += [
                f"inputs = keras.Input(shape=(None, {d.features}), batch_size={d.batch})",
                "model = keras.Model(inputs, layer(inputs))",
                "run = lambda chunk: model.predict(chunk, verbose=0)",
            ]
        else:
            lines += [f"layer.build(({d.batch}, None, {d.features}))", "run = layer"]
        lines.append(seeding_code())
        for line in SCENARIOS[self.scenario]:
            for word, value in (("HALF", HALF), ("BATCH", d.batch), ("OTHER", OTHER_BATCH)):
                line = line.replace(word, str(value))
            lines.append(line)
        return "\n".join(lines)


@functools.cache
def stateful_model(layer: RecurrentLayer):
    """A Model on Input(shape=(None, features), batch_size=batch) around the stateful layer, seeded.

    Built once per layer (each new model's first predict traces a graph, ~0.3 s); every test that
    uses it resets its states first, so the tests stay independent of their order.
    """
    inputs = keras.Input(shape=(None, DIMS.features), batch_size=DIMS.batch)
    recurrent = layer.make(DIMS.units, SEQUENCES)
    model = keras.Model(inputs, recurrent(inputs))
    seed_weights(recurrent)
    return model, recurrent


def fresh_layer(layer: RecurrentLayer):
    """The stateful layer alone, built for (batch, any timesteps, features), seeded."""
    recurrent = layer.make(DIMS.units, SEQUENCES)
    recurrent.build((DIMS.batch, None, DIMS.features))
    seed_weights(recurrent)
    return recurrent


def runner(case: StatefulCase):
    """(layer, run) for the case's path: run(chunk) -> the sequence as a numpy array; states reset."""
    if case.path == "predict":
        model, recurrent = stateful_model(case.layer)
        recurrent.reset_states()
        return recurrent, lambda chunk: model.predict(chunk, verbose=0)
    recurrent = fresh_layer(case.layer)
    return recurrent, lambda chunk: as_list(recurrent(chunk))[0]


def check_zeros(verify, layer: RecurrentLayer, recurrent, *, after: str) -> None:
    """Every state of `recurrent` is exactly zero."""
    __tracebackhide__ = True
    for name, state in zip(layer.state_names, recurrent.states, strict=True):
        verify.equal(to_numpy(state), np.zeros((DIMS.batch, DIMS.units)), what=f"state {name} after {after}")


def over_scenario(scenario: str, paths=("predict", "call")):
    """The scenario on each layer under test, stateful, by each path: an `over_layers` mark."""
    return over_layers(
        "case", lambda selected: [StatefulCase(layer, path, scenario) for layer in stateful(selected.layers) for path in paths]
    )


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
    recurrent, run = runner(case)
    x = inputs_for(case.dims)
    joined = np.concatenate([run(x[:, :HALF]), run(x[:, HALF:])], axis=1)
    expected, _ = reference_of(case.layer)(recurrent.get_weights(), x)
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
    model, recurrent = stateful_model(case.layer)
    recurrent.reset_states()
    x = inputs_for(case.dims)
    # Batch 1 holds the first halves of the two sequences, batch 2 their second halves.
    chunks = np.concatenate([x[:, :HALF], x[:, HALF:]], axis=0)
    predicted = model.predict(chunks, batch_size=case.dims.batch, verbose=0)
    batch = case.dims.batch
    joined = np.concatenate([predicted[:batch], predicted[batch:]], axis=1)
    expected, _ = reference_of(case.layer)(recurrent.get_weights(), x)
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
    recurrent, run = runner(case)
    x = inputs_for(case.dims)
    first = run(x[:, :HALF])
    run(x[:, HALF:])
    recurrent.reset_states()
    check_zeros(verify, case.layer, recurrent, after="reset_states()")
    # From zeros on the same input, the same operations again: exact.
    verify.equal(run(x[:, :HALF]), first, what="the call after reset_states() against the first call")


@over_scenario("reset-state", paths=["call"])
def test_reset_state_is_the_keras_3_name(case, verify):
    """Keras 3 names the method reset_state(): it sets the states to zeros, as its alias reset_states() does.

    ```python
    assert all(np.all(np.asarray(state) == 0) for state in layer.states)
    ```
    """
    if KERAS_MAJOR < 3:
        pytest.skip("Keras 2 layers have reset_states() only; reset_state() is the Keras 3 name")
    recurrent, run = runner(case)
    run(inputs_for(case.dims)[:, :HALF])
    recurrent.reset_state()
    check_zeros(verify, case.layer, recurrent, after="reset_state()")


def model_reset_case(layer: RecurrentLayer) -> WrittenCase:
    """The claim's model: on Keras 3 its reset methods looked up; on Keras 2 run on a chunk, then reset."""
    made = layer.constructor_code(DIMS.units, SEQUENCES)
    in_a_model = f"{made} in a keras.Model on Input batch_size={DIMS.batch}"
    model = [
        f"layer = {made}",
        f"inputs = keras.Input(shape=(None, {DIMS.features}), batch_size={DIMS.batch})",
        "model = keras.Model(inputs, layer(inputs))",
    ]
    if KERAS_MAJOR >= 3:
        return WrittenCase(
            layer, f"{in_a_model}: the Model's reset methods",
            "\n".join([
                *model,
                "found = [name for name in ('reset_state', 'reset_states') if hasattr(model, name)]",
                "print(found)",
            ]),
        )
    return WrittenCase(
        layer,
        f"{in_a_model}, called on x[:, :{HALF}] of {DIMS.input_shape}, seeded uniform weights, then model.reset_states()",
        "\n".join([
            data_code(DIMS.input_shape),
            *model,
            seeding_code(),
            f"model(x[:, :{HALF}])",
            "model.reset_states()",
            "states = [np.asarray(state) for state in layer.states]",
            "print(states)",
        ]),
    )


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
    inputs = keras.Input(shape=(None, DIMS.features), batch_size=DIMS.batch)
    recurrent = layer.make(DIMS.units, SEQUENCES)
    model = keras.Model(inputs, recurrent(inputs))
    if KERAS_MAJOR >= 3:
        found = [name for name in ("reset_state", "reset_states") if hasattr(model, name)]
        verify.holds(not found, what="reset methods of a Keras 3 Model", details=f"the model has {found}")
        return
    seed_weights(recurrent)
    model(inputs_for(DIMS)[:, :HALF])
    model.reset_states()
    check_zeros(verify, layer, recurrent, after="model.reset_states()")


def no_batch_size_case(layer: RecurrentLayer) -> WrittenCase:
    made = layer.constructor_code(DIMS.units, SEQUENCES)
    unbatched = f"keras.Input(shape=(None, {DIMS.features}))"
    return WrittenCase(
        layer, f"{made} called on {unbatched}, which has no batch size",
        "\n".join([f"layer = {made}", "try:", f"    layer({unbatched})", *REFUSED]),
    )


@each_stateful_layer
@reproduced_by(no_batch_size_case)
def test_stateful_layer_without_a_batch_size_is_refused(layer, verify):
    """A stateful layer on an Input without a batch size raises ValueError when the model is built.

    ```python
    assert isinstance(refused, ValueError)
    ```
    """
    inputs = keras.Input(shape=(None, DIMS.features))
    try:
        layer.make(DIMS.units, SEQUENCES)(inputs)
        raised = None
    except ValueError as error:
        raised = error
    verify.holds(
        raised is not None,
        what=f"{layer.constructor_code(DIMS.units, SEQUENCES)} on keras.Input(shape=(None, {DIMS.features}))",
        details="the layer was connected without an error, with no batch size to give its states",
    )


# keras.Input's arguments, per way of giving the batch size.
BATCH_SIZE_WAYS = {
    "batch_size": {"shape": (None, DIMS.features), "batch_size": DIMS.batch},
    "batch_shape": {"batch_shape": (DIMS.batch, None, DIMS.features)},
}


def batch_size_case(layer: RecurrentLayer, way: str) -> WrittenCase:
    made = layer.constructor_code(DIMS.units, SEQUENCES)
    given = "keras.Input(" + ", ".join(f"{name}={value!r}" for name, value in BATCH_SIZE_WAYS[way].items()) + ")"
    return WrittenCase(
        layer, f"{made} called on {given}: the shapes of its states",
        "\n".join([
            f"layer = {made}",
            f"layer({given})",
            "states = [np.asarray(state) for state in layer.states]",
            "print([state.shape for state in states])",
        ]),
    )


@pytest.mark.parametrize("way", BATCH_SIZE_WAYS)
@each_stateful_layer
@reproduced_by(batch_size_case)
def test_input_batch_size_or_batch_shape_fixes_the_states_batch(layer, way, verify):
    """keras.Input(batch_size=b) or Input(batch_shape=(b, ...)) gives a stateful layer states of shape (b, units).

    ```python
    assert {state.shape for state in states} == {(2, 5)}  # every state (batch, units)
    ```
    """
    recurrent = layer.make(DIMS.units, SEQUENCES)
    recurrent(keras.Input(**BATCH_SIZE_WAYS[way]))
    states = [to_numpy(state) for state in recurrent.states]
    verify.structure(states, [(DIMS.batch, DIMS.units)] * len(layer.state_names), names=list(layer.state_names))


BATCH_INPUT_SHAPE = (DIMS.batch, None, DIMS.features)


def batch_input_shape_case(layer: RecurrentLayer) -> WrittenCase:
    made = layer.with_options(batch_input_shape=BATCH_INPUT_SHAPE).constructor_code(DIMS.units, SEQUENCES)
    return WrittenCase(
        layer, f"{made} as the only layer of keras.Sequential: its states' shapes, or the ValueError",
        "\n".join([
            "try:",
            f"    layer = {made}",
            "    keras.Sequential([layer])",
            "    outcome = [np.asarray(state).shape for state in layer.states]",
            "except ValueError as error:",
            "    outcome = error",
            "print(outcome)",
        ]),
    )


@each_stateful_layer
@reproduced_by(batch_input_shape_case)
def test_batch_input_shape_is_a_keras_2_argument(layer, verify):
    """batch_input_shape= on the first layer fixes the batch in Keras 2; Keras 3 refuses it with ValueError.

    ```python
    assert isinstance(outcome, ValueError)  # Keras 3 (Keras 2: a (2, 5) shape per state)
    ```
    """
    try:
        recurrent = layer.with_options(batch_input_shape=BATCH_INPUT_SHAPE).make(DIMS.units, SEQUENCES)
        keras.Sequential([recurrent])
        outcome = [tuple(to_numpy(state).shape) for state in recurrent.states]
    except ValueError as error:
        outcome = error
    if KERAS_MAJOR >= 3:
        accepted = f"accepted; states of shapes {outcome}"
        verify.holds(isinstance(outcome, ValueError), what="batch_input_shape= on Keras 3", details=accepted)
    else:
        verify.holds(
            outcome == [(DIMS.batch, DIMS.units)] * len(layer.state_names),
            what="batch_input_shape= on Keras 2",
            details=f"expected states of shape {(DIMS.batch, DIMS.units)}; observed {outcome!r}",
        )


def attempt(run, chunk):
    """(what run(chunk) returned, None), or (None, the ValueError it raised)."""
    try:
        return run(chunk), None
    except ValueError as error:
        return None, error


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
    _, run = runner(case)
    returned, raised = attempt(run, inputs_for(case.dims)[:OTHER_BATCH, :HALF])
    verify.holds(
        raised is not None,
        what=f"a call with batch {OTHER_BATCH} on a layer built for batch {case.dims.batch}",
        details=f"no ValueError; the call returned shape {np.shape(returned)} for {OTHER_BATCH} sample(s)",
    )


@over_scenario("other-batch", paths=["predict"])
def test_another_batch_size_is_refused_by_a_first_predict(case, verify):
    """A new model with a stateful layer on batch b refuses a first predict on another batch size with ValueError.

    ```python
    assert isinstance(refused, ValueError)
    ```
    """
    inputs = keras.Input(shape=(None, DIMS.features), batch_size=DIMS.batch)
    recurrent = case.layer.make(DIMS.units, SEQUENCES)
    model = keras.Model(inputs, recurrent(inputs))
    seed_weights(recurrent)
    returned, raised = attempt(functools.partial(model.predict, verbose=0), inputs_for(case.dims)[:OTHER_BATCH, :HALF])
    verify.holds(
        raised is not None,
        what=f"a first predict with batch {OTHER_BATCH} on a model built for batch {case.dims.batch}",
        details=f"no ValueError; predict returned shape {np.shape(returned)} for {OTHER_BATCH} sample(s)",
    )


# One layer: the batch check and predict's tracing belong to the RNN base class and the trainer,
# the same for the three layers, and each run of this claim costs a retrace (~0.3 s).
@over_layers("case", lambda selected: [StatefulCase(stateful(selected.layers)[-1], "predict", "batch-after-predict")])
def test_another_batch_size_is_refused_after_a_predict(case, verify):
    """After a predict on batch b, a predict on another batch size is still refused with ValueError.

    ```python
    assert isinstance(refused, ValueError)
    ```
    """
    _, run = runner(case)
    x = inputs_for(case.dims)
    run(x[:, :HALF])
    returned, raised = attempt(run, x[:OTHER_BATCH, :HALF])
    verify.holds(
        raised is not None,
        what=f"predict with batch {OTHER_BATCH} after a predict with batch {case.dims.batch}",
        details=f"no ValueError; predict returned shape {np.shape(returned)} for {OTHER_BATCH} sample(s)",
    )
