"""Chapter 21: bad input. Which error a recurrent layer raises for an input it cannot take.

Source: the RNN docstrings' call arguments: "sequences: A 3-D tensor with shape (batch_size,
timesteps, features)" and "initial_state: List of initial state tensors to be passed to the first
call of the cell"; the errors themselves were observed (Keras 3 on TensorFlow, and tf-keras for
Keras 2) and are recorded in the tables below.

The exception and its words differ between Keras 2 and Keras 3, and, where an operation of the
backend is what refuses the input, between backends. The constants below are the default subject's
refusals (Keras 3 on TensorFlow); the other subjects' are entries of keras_rnn_spec/known_differences.toml,
read through keras_rnn_spec/refusals.py. A subject that raises something else fails and prints what it
raised, so a new Keras or backend is looked at, not passed. Chapters 18 and 19 check their expected errors with the same helpers.

What Keras 3 checks itself: the number of dimensions. It does not check the feature size of a
built layer (the backend's matmul refuses it), nor the number of initial states (a cell's list
index or the backend's structure check refuses it when the model runs, and GRU takes the first
state and ignores the rest). Keras 2 checks all three itself, before computing anything.
"""

import numpy as np
import pytest

from keras_rnn_spec.cases import WrittenCase, reproduced_by
from keras_rnn_spec.catalogue import SEQUENCES_STATE, reference_of
from keras_rnn_spec.observe import (
    Case,
    Dims,
    data_code,
    given_states,
    given_states_code,
    inputs_for,
    returned_code,
    seeding_code,
    set_seeded_weights,
    snippet_names,
)
from keras_rnn_spec.parameters import each_layer, or_skipped, over_layers
from keras_rnn_spec.refusals import Refusal, check_refused, described, expected_outcome, run_steps
from keras_rnn_spec.subject import as_list, keras

DIMS = Dims(batch=2, timesteps=4, features=3, units=5)  # short: no refusal depends on the length
OTHER_FEATURES = 7
OTHER_SHAPE = (DIMS.batch, DIMS.timesteps, OTHER_FEATURES)
DATA_CODE = data_code(DIMS.input_shape)

NOT_3D = Refusal("builtins.ValueError", "expected ndim=3, found ndim=2")
# Keras 3 keeps no input spec for the features once built; TensorFlow's matmul of the input with
# the kernel refuses.
BUILT_LAYER_OTHER_FEATURES = Refusal("tensorflow.errors.InvalidArgumentError", "Matrix size-incompatible")
BOTH_SHAPES = f"expected shape=(None, {DIMS.timesteps}, {DIMS.features}), found shape=(2, {DIMS.timesteps}, {OTHER_FEATURES})"
MODEL_OTHER_FEATURES = Refusal("builtins.ValueError", BOTH_SHAPES)
# Keras 3 builds the model and fails when it runs: too few states, at the cell's states[1] (plain
# Python); too many, where TensorFlow's loop packs the cell's new states into the structure of the
# given ones. (Keras 2 compares the states with cell.state_size when the model is built.)
TOO_FEW_STATES = Refusal("builtins.IndexError", "list index out of range")
EXTRA_STATES_IGNORED = "the layer runs from the first initial state and ignores the rest"
TOO_MANY_STATES = {
    "SimpleRNN": Refusal("builtins.ValueError", "Too few leaves for PyTreeSpec"),
    "GRU": EXTRA_STATES_IGNORED,  # GRU.inner_loop keeps initial_state[0]
    "LSTM": Refusal("builtins.ValueError", "Too few leaves for PyTreeSpec"),
}



def recorded_for(layer, refusals: dict):
    """The entry of `refusals` for the Keras layer (SimpleRNN, GRU, LSTM) that `layer` is or subclasses.

    These refusals come from each layer's own cell and loop, so another layer (SPEC_LAYERS) has no
    entry and the claim skips it.
    """
    for kind, refusal in refusals.items():
        if isinstance(layer.layer_class, type) and issubclass(layer.layer_class, getattr(keras.layers, kind)):
            return refusal
    recorded = ", ".join(refusals)
    pytest.skip(f"the refusal comes from the layer's own code; recorded for Keras' {recorded} only, not {layer}")


def made(layer):
    """A new, unbuilt layer with return_sequences and return_state."""
    return layer.make(DIMS.units, SEQUENCES_STATE)


def made_code(layer) -> str:
    """The code that makes `made(layer)`."""
    return layer.constructor_code(DIMS.units, SEQUENCES_STATE)


def flat_input_case(layer, given) -> WrittenCase:
    """The layer called on the data's first step, (batch, features), or on a 2-D Input."""
    if given == "array":
        lines, flat, shape = [DATA_CODE], "x[:, 0]", (DIMS.batch, DIMS.features)
    else:
        lines, flat, shape = [], f"keras.Input(shape=({DIMS.features},))", (None, DIMS.features)
    description = f"{made_code(layer)} called on a 2-D {given} of shape {shape}"
    return WrittenCase(layer, description, "\n".join([*lines, f"{made_code(layer)}({flat})"]))


def built_layer_case(layer) -> WrittenCase:
    """The layer built for DIMS, called on zeros with OTHER_FEATURES."""
    code = [f"layer = {made_code(layer)}", f"layer.build({DIMS.input_shape})", f"layer(np.zeros({OTHER_SHAPE}, 'float32'))"]
    description = f"{made_code(layer)} built for {DIMS.input_shape}, called on zeros of shape {OTHER_SHAPE}"
    return WrittenCase(layer, description, "\n".join(code))


def model_case(layer) -> WrittenCase:
    """A model of the layer on an Input with DIMS' features, called on zeros with OTHER_FEATURES."""
    code = [
        f"inputs = keras.Input(shape={DIMS.input_shape[1:]})",
        f"model = keras.Model(inputs, {made_code(layer)}(inputs))",
        f"model(np.zeros({OTHER_SHAPE}, 'float32'))",
    ]
    description = f"Model(Input(shape={DIMS.input_shape[1:]}), {made_code(layer)}) called on zeros of shape {OTHER_SHAPE}"
    return WrittenCase(layer, description, "\n".join(code))


def with_initial_states(layer, count: int):
    """The layer, and the steps that build Model([x, *states], layer(x, initial_state=states)) and run it."""
    rnn = made(layer)

    def build(_):
        inputs = keras.Input(shape=(DIMS.timesteps, DIMS.features))
        states = [keras.Input(shape=(DIMS.units,)) for _ in range(count)]
        model = keras.Model([inputs, *states], rnn(inputs, initial_state=states))
        set_seeded_weights(rnn, Case(layer, SEQUENCES_STATE, "call", DIMS))
        return model

    def call(model):
        return as_list(model([inputs_for(DIMS), *given_states(count, DIMS)]))

    return rnn, [("build", build), ("call", call)]


def initial_states_case(layer, count: int) -> WrittenCase:
    """What `with_initial_states(layer, count)` builds and runs, as code."""
    code = [
        DATA_CODE,
        given_states_code("states", count, DIMS),
        f"layer = {made_code(layer)}",
        f"inputs, state_inputs = keras.Input(shape={DIMS.input_shape[1:]}), [keras.Input(shape=({DIMS.units},)) for _ in states]",
        "model = keras.Model([inputs, *state_inputs], layer(inputs, initial_state=state_inputs))",
        seeding_code(),
        *returned_code(snippet_names(SEQUENCES_STATE, layer.state_names), "model([x, *states])"),
    ]
    description = (
        f"{made_code(layer)} in Model([x, *s], layer(x, initial_state=s)) with {count} state Input(s), "
        f"run on x {DIMS.input_shape} and {count} seeded states, seeded uniform weights"
    )
    return WrittenCase(layer, description, "\n".join(code))


def with_states(extra: int):
    """Mark a claim run with len(layer.state_names) + `extra` initial states: that model is its case."""
    return reproduced_by(lambda layer: initial_states_case(layer, len(layer.state_names) + extra))


def states_code(layer, count: int) -> str:
    states = ", ".join([f"Input(shape=({DIMS.units},))"] * count)
    return f"Model([x, *s], {layer}(...)(x, initial_state=s)) with s = [{states}], run on arrays"


def check_run_from(verify, layer, rnn, outputs, states) -> None:
    """The sequence and final states match the float64 reference started from `states`."""
    __tracebackhide__ = True
    sequence, final_states = reference_of(layer)(rnn.get_weights(), inputs_for(DIMS), states)
    names = ["sequence", *layer.state_names]
    verify.match_reference(outputs, [sequence, *final_states], names=names, dims=DIMS)


@pytest.mark.parametrize("given", ["array", "Input"])
@each_layer
@reproduced_by(flat_input_case)
def test_input_without_a_time_axis_is_refused(layer, given, verify, known):
    """A 2-D input (batch, features), without a time axis, is refused with a ValueError: expected ndim=3.

    Keras checks the number of dimensions itself, on a numpy array as on a symbolic Input.

    ```python
    import numpy as np
    import keras
    import pytest

    x = np.random.default_rng(2).normal(size=(2, 4, 3)).astype('float32')
    with pytest.raises(ValueError) as refused:
        keras.layers.SimpleRNN(5)(x[:, 0])  # the first step alone: (batch, features)
    assert "expected ndim=3, found ndim=2" in str(refused.value)
    ```
    """
    flat = inputs_for(DIMS)[:, 0] if given == "array" else keras.Input(shape=(DIMS.features,))
    check_refused(
        verify,
        expected_outcome(known, NOT_3D),
        [("call", lambda _: made(layer)(flat))],
        what=f"{layer}(...) called on a 2-D {given} of shape {tuple(flat.shape)}",
    )


@each_layer
@reproduced_by(built_layer_case)
def test_a_built_layer_refuses_another_feature_size(layer, verify, known):
    """A layer built for 3 features refuses an input with 7 when called.

    Keras 2 checks the input against the built shape. Keras 3 does not: the backend's matmul of
    the input with the (3, gates * units) kernel is what refuses.

    ```python
    import numpy as np
    import keras
    import pytest
    import tensorflow as tf

    layer = keras.layers.SimpleRNN(5)
    layer.build((2, 4, 3))
    with pytest.raises(tf.errors.InvalidArgumentError) as refused:  # TensorFlow's matmul refuses, not Keras
        layer(np.zeros((2, 4, 7), 'float32'))
    assert "Matrix size-incompatible" in str(refused.value)
    ```
    """
    rnn = made(layer)
    rnn.build(DIMS.input_shape)
    other = np.zeros(OTHER_SHAPE, "float32")
    check_refused(
        verify,
        expected_outcome(known, BUILT_LAYER_OTHER_FEATURES),
        [("call", lambda _: rnn(other))],
        what=f"{layer}(...) built for {DIMS.input_shape}, called on shape {other.shape}",
    )


@each_layer
@reproduced_by(model_case)
def test_a_model_refuses_another_feature_size_naming_both_shapes(layer, verify, known):
    """A model whose Input has 3 features refuses input with 7, with a ValueError naming both shapes.

    ```python
    import numpy as np
    import keras
    import pytest

    inputs = keras.Input(shape=(4, 3))
    model = keras.Model(inputs, keras.layers.SimpleRNN(5)(inputs))
    with pytest.raises(ValueError) as refused:
        model(np.zeros((2, 4, 7), 'float32'))
    assert "expected shape=(None, 4, 3), found shape=(2, 4, 7)" in str(refused.value)
    ```
    """
    other = np.zeros(OTHER_SHAPE, "float32")

    def build(_):
        inputs = keras.Input(shape=(DIMS.timesteps, DIMS.features))
        return keras.Model(inputs, made(layer)(inputs))

    check_refused(
        verify,
        expected_outcome(known, MODEL_OTHER_FEATURES),
        [("build", build), ("call", lambda model: model(other))],
        what=f"Model(Input(shape={DIMS.input_shape[1:]}), {layer}(...)) called on shape {other.shape}",
    )


@each_layer
@with_states(0)
def test_as_many_initial_states_as_the_layer_has_are_used(layer, verify):
    """With one initial state per state of the layer, the model runs from them (the control of the next two).

    The sequence and final states match the float64 reference started from the given states.

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    expected, expected_states = reference.simple_rnn(layer.get_weights(), x, states)  # from the given states
    atol = 4 * 4 * (3 + 5 + 1) * 2**-23  # float32 rounding over 4 steps
    np.testing.assert_allclose(sequence, expected, atol=atol)
    np.testing.assert_allclose(h, expected_states[0], atol=atol)
    ```
    """
    count = len(layer.state_names)
    rnn, steps = with_initial_states(layer, count)
    step, error, outputs = run_steps(steps)
    verify.holds(error is None, what=states_code(layer, count), details=f"raised {described(error)} at step {step!r}")
    check_run_from(verify, layer, rnn, outputs, given_states(count, DIMS))


@over_layers(
    "layer", lambda selected: or_skipped([layer for layer in selected.layers if len(layer.state_names) > 1], "more than one state", selected)
)
@with_states(-1)
def test_fewer_initial_states_than_the_layer_has_are_refused(layer, verify, known):
    """Fewer initial states than the layer has (h alone for an LSTM) are refused, not completed with zeros.

    Keras 2 refuses when the model is built, with a ValueError naming cell.state_size. Keras 3
    builds the model and refuses when it runs, with an IndexError from the cell looking for c.

    ```python
    import numpy as np
    import keras
    import pytest

    x = np.random.default_rng(2).normal(size=(2, 4, 3)).astype('float32')
    h = np.random.default_rng(11).uniform(-1, 1, (2, 5)).astype('float32')  # h alone, no c
    layer = keras.layers.LSTM(5, return_sequences=True, return_state=True)
    inputs, h_input = keras.Input(shape=(4, 3)), keras.Input(shape=(5,))
    model = keras.Model([inputs, h_input], layer(inputs, initial_state=[h_input]))  # built without complaint
    with pytest.raises(IndexError) as refused:  # the cell's states[1], c
        model([x, h])
    assert "list index out of range" in str(refused.value)
    ```
    """
    count = len(layer.state_names) - 1
    _, steps = with_initial_states(layer, count)
    expected = expected_outcome(known, recorded_for(layer, {"LSTM": TOO_FEW_STATES}))
    check_refused(verify, expected, steps, what=states_code(layer, count))


@each_layer
@with_states(1)
def test_more_initial_states_than_the_layer_has_are_refused_except_by_keras_3_gru(layer, verify, known):
    """More initial states than the layer has are refused, except by Keras 3's GRU, which uses the first.

    Keras 2 refuses when the model is built (a ValueError naming cell.state_size). Keras 3 refuses
    when the model runs, with the backend's structure error (SimpleRNN, LSTM), or runs GRU from the
    first state given: its outputs match the float64 reference started from that state alone.

    ```python
    import numpy as np
    import keras
    import pytest

    x = np.random.default_rng(2).normal(size=(2, 4, 3)).astype('float32')
    rng = np.random.default_rng(11); states = [rng.uniform(-1, 1, (2, 5)).astype('float32') for _ in range(2)]
    layer = keras.layers.SimpleRNN(5, return_sequences=True, return_state=True)  # one state, h; two given
    inputs, state_inputs = keras.Input(shape=(4, 3)), [keras.Input(shape=(5,)) for _ in states]
    model = keras.Model([inputs, *state_inputs], layer(inputs, initial_state=state_inputs))  # built without complaint
    with pytest.raises(ValueError) as refused:  # TensorFlow's loop: 2 states in, the cell's 1 out
        model([x, *states])
    assert "Too few leaves for PyTreeSpec" in str(refused.value)
    ```
    """
    count = len(layer.state_names) + 1
    rnn, steps = with_initial_states(layer, count)
    expected = expected_outcome(known, recorded_for(layer, TOO_MANY_STATES))
    if expected != EXTRA_STATES_IGNORED:
        check_refused(verify, expected, steps, what=states_code(layer, count))
        return
    step, error, outputs = run_steps(steps)
    verify.holds(error is None, what=states_code(layer, count), details=f"raised {described(error)} at step {step!r}")
    check_run_from(verify, layer, rnn, outputs, given_states(count, DIMS)[: len(layer.state_names)])
