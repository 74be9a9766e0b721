"""Chapter 19: Sequential and functional models. Where the states go when a layer returns them.

Source: the RNN docstrings ("If return_state: a list of tensors. The first tensor is the output.
The remaining tensors are the last states"); the Keras guide "The Sequential model" ("A Sequential
model is not appropriate when: ... Any of your layers has multiple inputs or multiple outputs");
and the notes, whose cells In [5] and In [6] take the states out with the functional API:
`lstm1, state_h, state_c = LSTM(units, return_state=True)(inputs1)`.

Found: Keras 3 lets a Sequential model end in a return_state layer and returns the whole list, as
the functional model does, but refuses any layer after it (that layer receives the list, and
expects one tensor). Keras 2 refuses a return_state layer anywhere in a Sequential model ("All
layers in a Sequential model should have a single output tensor"). Either way, the functional API
is how to use the output further and keep the states: unpack the list and make the states model
outputs. Keras 2's refusals are entries of keras_rnn_spec/known_differences.toml, as in chapter 21.
"""

import numpy as np
import pytest

from keras_rnn_spec.cases import SteppedCase, WrittenCase, reproduced_by
from keras_rnn_spec.catalogue import SEQUENCES_STATE, STATE, reference_of
from keras_rnn_spec.observe import WEIGHT_SCALE, WEIGHT_SEED, Dims, data_code, reproduced, reproduced_once, seeding_code
from keras_rnn_spec.parameters import each_layer
from keras_rnn_spec.refusals import Refusal, check_bound, check_refused, described, executed_steps, expected_outcome
from keras_rnn_spec.semantics import output_of
from keras_rnn_spec.subject import as_list, to_numpy
from keras_rnn_spec.verify import FLOAT32_EPS, reference_tolerance

DIMS = Dims(batch=2, timesteps=4, features=3, units=5)  # short: the chapter is about where tensors go
HEAD_UNITS = 2  # the Dense layer a user puts on the output

RETURNS_THE_LIST = "returns the list the functional model returns"
SEQUENTIAL_ENDING_IN_STATES = RETURNS_THE_LIST  # Keras 2 refuses: see keras_rnn_spec/known_differences.toml
# The next layer's input check sees the whole list: "expects 1 input(s), but it received 3 ..."
LAYER_AFTER_STATES = Refusal("builtins.ValueError", "expects 1 input(s), but it received", step="build")

state_flags = pytest.mark.parametrize("flags", [STATE, SEQUENCES_STATE], ids=str)


INPUT_CODE = f"keras.Input(shape={DIMS.input_shape[1:]})"
DATA_CODE = data_code(DIMS.input_shape)
ON_X = f"called on x of shape {DIMS.input_shape}, seeded uniform weights"
LAYER_AFTER_STATES_MODEL = f"keras.Sequential([INPUT, LAYER, keras.layers.Dense({HEAD_UNITS})])"


def code(layer, flags, model: str) -> str:
    """How the model under test is made, for failure messages."""
    made = layer.constructor_code(DIMS.units, flags)
    return model.replace("LAYER", made).replace("INPUT", INPUT_CODE)


def functional_case(layer, flags) -> WrittenCase:
    return WrittenCase(
        layer, f"{code(layer, flags, 'keras.Model(inputs, LAYER(inputs))')} on {INPUT_CODE}, {ON_X}",
        "\n".join([
            DATA_CODE,
            f"layer = {layer.constructor_code(DIMS.units, flags)}",
            f"inputs = {INPUT_CODE}",
            "model = keras.Model(inputs, layer(inputs))",
            seeding_code(),
            "returned = model(x)",
            "print(returned)",
        ]),
    )


@state_flags
@each_layer
@reproduced_by(functional_case)
def test_a_functional_model_returns_the_output_then_every_state(layer, flags, verify):
    """A functional model on a return_state layer returns the whole list: the output, then each state.

    Each matches the float64 reference: [output, h] for SimpleRNN and GRU, [output, h, c] for LSTM,
    the output being the sequence with return_sequences=True.

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    sequence, states = reference.simple_rnn(layer.get_weights(), x)
    assert len(returned) == 1 + len(states)  # the output, then each state
    for got, expected in zip(returned, [sequence[:, -1], *states]):
        np.testing.assert_allclose(got, expected, atol=4 * 4 * (3 + 5 + 1) * 2**-23)
    ```
    """
    bound = reproduced_once(functional_case(layer, flags))
    outputs = as_list(bound["returned"])
    sequence, states = reference_of(layer)(bound["layer"].get_weights(), bound["x"])
    names = ["output", *layer.state_names]
    expected = [output_of(sequence, flags), *states]
    what = code(layer, flags, "keras.Model(inputs, LAYER(inputs))(x)")
    verify.holds(len(outputs) == len(expected), what=what, details=f"returned {len(outputs)} tensors, expected {names}")
    verify.match_reference(
        outputs, expected, names=names, dims=DIMS, what="{name} of " + f"{what}, against the reference"
    )


def sequential_case(layer, flags) -> SteppedCase:
    built = [
        DATA_CODE,
        f"layer = {layer.constructor_code(DIMS.units, flags)}",
        f"model = keras.Sequential([{INPUT_CODE}, layer])  # Keras 2 raises here",
    ]
    return SteppedCase(
        layer, f"{code(layer, flags, 'keras.Sequential([INPUT, LAYER])')} {ON_X}",
        (("build", "\n".join(built)), ("call", "\n".join([seeding_code(), "returned = model(x)", "print(returned)"]))),
    )


@state_flags
@each_layer
@reproduced_by(sequential_case)
def test_a_sequential_model_ending_in_a_return_state_layer_returns_the_same_list_or_is_refused(layer, flags, verify, known):
    """A Sequential model ending in a return_state layer returns the functional model's list (Keras 3), or is refused (Keras 2).

    Keras 3 gives the same number of tensors and exactly the same numbers as the functional model
    of the claim above, with the same weights; Keras 2 refuses the layer when the model is built.

    ```python
    inputs = keras.Input(shape=(4, 3))
    functional = keras.Model(inputs, layer(inputs))(x)  # the same layer, so the same weights
    assert len(returned) == len(functional)
    for got, expected in zip(returned, functional):
        np.testing.assert_array_equal(got, expected)
    ```
    """
    what = code(layer, flags, "keras.Sequential([INPUT, LAYER])")
    outcome = expected_outcome(known, SEQUENTIAL_ENDING_IN_STATES)
    if outcome != RETURNS_THE_LIST:
        check_refused(verify, outcome, sequential_case(layer, flags), what=what)
        return
    step, error, bound = executed_steps(sequential_case(layer, flags))
    verify.holds(error is None, what=f"{what}(x)", details=f"raised {described(error)} at step {step!r}")
    outputs = as_list(bound["returned"])
    expected = as_list(reproduced_once(functional_case(layer, flags))["returned"])
    verify.holds(
        len(outputs) == len(expected),
        what=f"{what}(x)",
        details=f"returned {len(outputs)} tensors, the functional model {len(expected)}",
    )
    for index, (got, want) in enumerate(zip(outputs, expected, strict=True)):
        # The same weights and the same operations in the same order: exact.
        verify.equal(got, want, what=f"tensor {index} of {what}(x) against the functional model's")


def layer_after_states_case(layer) -> WrittenCase:
    return WrittenCase(
        layer, f"{code(layer, STATE, LAYER_AFTER_STATES_MODEL)}, built",
        "\n".join([
            f"layer = {layer.constructor_code(DIMS.units, STATE)}",
            "try:",
            f"    {LAYER_AFTER_STATES_MODEL.replace('LAYER', 'layer').replace('INPUT', INPUT_CODE)}",
            "    refused = None",
            "except ValueError as error:",
            "    refused = error",
            "print(refused)",
        ]),
    )


@each_layer
@reproduced_by(layer_after_states_case)
def test_in_a_sequential_model_a_layer_after_a_return_state_layer_is_refused(layer, verify, known):
    """In a Sequential model, a layer after a return_state layer is refused when the model is built.

    It would receive the whole list: Keras 3's Dense says it expects 1 input but received 2 (3 after
    an LSTM); Keras 2 refuses the return_state layer itself.

    ```python
    assert isinstance(refused, ValueError) and "expects 1 input(s), but it received" in str(refused)
    ```
    """
    what = code(layer, STATE, LAYER_AFTER_STATES_MODEL)
    check_bound(verify, expected_outcome(known, LAYER_AFTER_STATES), reproduced(layer_after_states_case(layer)), what=what)


def head_case(layer) -> WrittenCase:
    return WrittenCase(
        layer,
        f"output, *states = {layer.constructor_code(DIMS.units, STATE)}(inputs) on {INPUT_CODE}; "
        f"keras.Model(inputs, [keras.layers.Dense({HEAD_UNITS})(output), *states]) {ON_X} (the head's from seed {WEIGHT_SEED + 1})",
        "\n".join([
            DATA_CODE,
            f"layer = {layer.constructor_code(DIMS.units, STATE)}",
            f"head = keras.layers.Dense({HEAD_UNITS})",
            f"inputs = {INPUT_CODE}",
            "output, *states = layer(inputs)",
            "model = keras.Model(inputs, [head(output), *states])",
            seeding_code(),
            seeding_code("head", WEIGHT_SEED + 1),
            "head_values, *state_values = model(x)",
            "print(head_values, *state_values, sep='\\n\\n')",
        ]),
    )


@each_layer
@reproduced_by(head_case)
def test_the_functional_api_feeds_the_output_on_and_returns_the_states(layer, verify):
    """To use the output further and keep the states, unpack the list and make the states model outputs.

    `output, *states = layer(inputs)`; `keras.Model(inputs, [Dense(2)(output), *states])` returns
    the head's values, Dense applied to the reference output, and the reference states.

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    sequence, expected_states = reference.simple_rnn(layer.get_weights(), x)
    kernel, bias = head.get_weights()
    atol = 4 * 4 * (3 + 5 + 1) * 2**-23  # float32 rounding over the 4 steps
    # The output's rounding carried through the head, and the head's own (keras_rnn_spec/test_models.py):
    np.testing.assert_allclose(head_values, sequence[:, -1] @ kernel + bias, atol=5 * 0.5 * atol + 4 * 6**2 * 0.5 * 2**-23)
    assert len(state_values) == len(expected_states)
    for got, expected in zip(state_values, expected_states):
        np.testing.assert_allclose(got, expected, atol=atol)
    ```
    """
    bound = reproduced(head_case(layer))
    got_head, got_states = to_numpy(bound["head_values"]), [to_numpy(state) for state in bound["state_values"]]
    sequence, expected_states = reference_of(layer)(bound["layer"].get_weights(), bound["x"])
    kernel, bias = (np.asarray(w, np.float64) for w in bound["head"].get_weights())
    atol = reference_tolerance(DIMS)
    # The head sums `units` products of the output (each off by up to atol) with weights below
    # WEIGHT_SCALE; its own float32 sum of units + 1 terms, each below WEIGHT_SCALE (|output| < 1),
    # rounds by at most (units + 1) * eps times their total, with the factor 4 as in chapter 7.
    head_atol = DIMS.units * WEIGHT_SCALE * atol + 4 * (DIMS.units + 1) ** 2 * WEIGHT_SCALE * FLOAT32_EPS
    what = code(layer, STATE, f"keras.Model(inputs, [Dense({HEAD_UNITS})(output), *states]), output, *states = LAYER(inputs)")
    verify.equal(
        got_head,
        sequence[:, -1] @ kernel + bias,
        what=f"the Dense head of {what}, against Dense on the reference output",
        atol=head_atol,
        why="the output's rounding carried through the head, and the head's own",
    )
    verify.holds(len(got_states) == len(layer.state_names), what=what, details=f"{len(got_states)} states, expected {layer.state_names}")
    state_names = [f"state {name}" for name in layer.state_names]
    verify.match_reference(
        got_states, expected_states, names=state_names, dims=DIMS, what="{name} of " + f"{what}, against the reference"
    )
