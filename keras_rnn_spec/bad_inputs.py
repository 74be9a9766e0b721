"""Chapter 21's refusals and cases: the inputs a layer cannot take, the refusal the default subject
gives for each, and the code that makes each case.
"""

import pytest

from keras_rnn_spec.cases import SteppedCase, reproduced_by
from keras_rnn_spec.catalogue import SEQUENCES_STATE, reference_of
from keras_rnn_spec.observe import Dims, data_code, given_states_code, returned_code, seeding_code, snippet_names
from keras_rnn_spec.refusals import Refusal, described, executed_steps
from keras_rnn_spec.subject import keras, to_numpy

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


def made_code(layer) -> str:
    """The code that makes a new, unbuilt layer with return_sequences and return_state."""
    return layer.constructor_code(DIMS.units, SEQUENCES_STATE)


def flat_input_case(layer, given) -> SteppedCase:
    """The layer called on the data's first step, (batch, features), or on a 2-D Input."""
    if given == "array":
        lines, flat, shape = [DATA_CODE], "x[:, 0]", (DIMS.batch, DIMS.features)
    else:
        lines, flat, shape = [], f"keras.Input(shape=({DIMS.features},))", (None, DIMS.features)
    description = f"{made_code(layer)} called on a 2-D {given} of shape {shape}"
    return SteppedCase(layer, description, (("call", "\n".join([*lines, f"{made_code(layer)}({flat})"])),))


def built_layer_case(layer) -> SteppedCase:
    """The layer built for DIMS, called on zeros with OTHER_FEATURES."""
    built = f"layer = {made_code(layer)}\nlayer.build({DIMS.input_shape})"
    description = f"{made_code(layer)} built for {DIMS.input_shape}, called on zeros of shape {OTHER_SHAPE}"
    return SteppedCase(layer, description, (("build", built), ("call", f"layer(np.zeros({OTHER_SHAPE}, 'float32'))")))


def model_case(layer) -> SteppedCase:
    """A model of the layer on an Input with DIMS' features, called on zeros with OTHER_FEATURES."""
    built = f"inputs = keras.Input(shape={DIMS.input_shape[1:]})\nmodel = keras.Model(inputs, {made_code(layer)}(inputs))"
    description = f"Model(Input(shape={DIMS.input_shape[1:]}), {made_code(layer)}) called on zeros of shape {OTHER_SHAPE}"
    return SteppedCase(layer, description, (("build", built), ("call", f"model(np.zeros({OTHER_SHAPE}, 'float32'))")))


def initial_states_case(layer, count: int) -> SteppedCase:
    """Model([x, *states], layer(x, initial_state=states)) with `count` states, built, then run on x and seeded states."""
    built = [
        DATA_CODE,
        given_states_code("states", count, DIMS),
        f"layer = {made_code(layer)}",
        f"inputs, state_inputs = keras.Input(shape={DIMS.input_shape[1:]}), [keras.Input(shape=({DIMS.units},)) for _ in states]",
        "model = keras.Model([inputs, *state_inputs], layer(inputs, initial_state=state_inputs))",
        seeding_code(),
    ]
    run = returned_code(snippet_names(SEQUENCES_STATE, layer.state_names), "model([x, *states])")
    description = (
        f"{made_code(layer)} in Model([x, *s], layer(x, initial_state=s)) with {count} state Input(s), "
        f"run on x {DIMS.input_shape} and {count} seeded states, seeded uniform weights"
    )
    return SteppedCase(layer, description, (("build", "\n".join(built)), ("call", "\n".join(run))))


def with_states(extra: int):
    """Mark a claim run with len(layer.state_names) + `extra` initial states: that model is its case."""
    return reproduced_by(lambda layer: initial_states_case(layer, len(layer.state_names) + extra))


def states_code(layer, count: int) -> str:
    states = ", ".join([f"Input(shape=({DIMS.units},))"] * count)
    return f"Model([x, *s], {layer}(...)(x, initial_state=s)) with s = [{states}], run on arrays"


def check_run_from(verify, layer, count: int, used: int) -> None:
    """The model of `count` initial states runs, and its sequence and final states match the float64
    reference started from the first `used` of them."""
    __tracebackhide__ = True
    step, error, bound = executed_steps(initial_states_case(layer, count))
    verify.holds(error is None, what=states_code(layer, count), details=f"raised {described(error)} at step {step!r}")
    names = snippet_names(SEQUENCES_STATE, layer.state_names)
    sequence, final_states = reference_of(layer)(bound["layer"].get_weights(), bound["x"], bound["states"][:used])
    verify.match_reference([to_numpy(bound[name]) for name in names], [sequence, *final_states], names=names, dims=DIMS)
