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

import pytest

from keras_rnn_spec.bad_inputs import (
    BUILT_LAYER_OTHER_FEATURES,
    DIMS,
    EXTRA_STATES_IGNORED,
    MODEL_OTHER_FEATURES,
    NOT_3D,
    OTHER_SHAPE,
    TOO_FEW_STATES,
    TOO_MANY_STATES,
    built_layer_case,
    check_run_from,
    flat_input_case,
    initial_states_case,
    model_case,
    recorded_for,
    states_code,
    with_states,
)
from keras_rnn_spec.cases import reproduced_by
from keras_rnn_spec.parameters import each_layer, or_skipped, over_layers
from keras_rnn_spec.refusals import check_refused, expected_outcome


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
    shape = (DIMS.batch if given == "array" else None, DIMS.features)
    check_refused(
        verify, expected_outcome(known, NOT_3D), flat_input_case(layer, given), what=f"{layer}(...) called on a 2-D {given} of shape {shape}"
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
    check_refused(
        verify,
        expected_outcome(known, BUILT_LAYER_OTHER_FEATURES),
        built_layer_case(layer),
        what=f"{layer}(...) built for {DIMS.input_shape}, called on shape {OTHER_SHAPE}",
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
    check_refused(
        verify,
        expected_outcome(known, MODEL_OTHER_FEATURES),
        model_case(layer),
        what=f"Model(Input(shape={DIMS.input_shape[1:]}), {layer}(...)) called on shape {OTHER_SHAPE}",
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
    check_run_from(verify, layer, len(layer.state_names), used=len(layer.state_names))


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
    expected = expected_outcome(known, recorded_for(layer, {"LSTM": TOO_FEW_STATES}))
    check_refused(verify, expected, initial_states_case(layer, count), what=states_code(layer, count))


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
    expected = expected_outcome(known, recorded_for(layer, TOO_MANY_STATES))
    if expected != EXTRA_STATES_IGNORED:
        check_refused(verify, expected, initial_states_case(layer, count), what=states_code(layer, count))
    else:
        check_run_from(verify, layer, count, used=len(layer.state_names))
