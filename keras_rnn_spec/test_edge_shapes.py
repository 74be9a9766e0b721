"""Chapter 18: edge shapes. One timestep, zero timesteps, a timestep dimension left unknown, a batch of one.

Source: the RNN docstrings ("sequences: A 3-D tensor with shape (batch_size, timesteps,
features)"; "return_sequences: Whether to return the last output in the output sequence, or the
full sequence"), which set no lower bound on either size, and the float64 reference, which at one
timestep is a single step from zero states.

Found: a batch of one and a single timestep keep their axes (nothing is squeezed); zero timesteps
are refused with an out-of-bounds slice error (the layer reads the first step before it loops), an
InvalidArgumentError from an eager call and a ValueError from `Model.predict`'s traced graph, on
Keras 2 and Keras 3 alike (TensorFlow backend).
"""

from dataclasses import replace

from keras_rnn_spec.cases import WrittenCase, reproduced_by
from keras_rnn_spec.catalogue import DEFAULT, SEQUENCES_STATE
from keras_rnn_spec.observe import DATA_SEED, NOTES_DIMS, Case, cases, observe, reproduced, seeding_code
from keras_rnn_spec.parameters import each_layer, over_layers
from keras_rnn_spec.refusals import Refusal, check_refused, expected_outcome
from keras_rnn_spec.subject import as_list

ONE_STEP = replace(NOTES_DIMS, timesteps=1)
NO_STEPS = replace(NOTES_DIMS, timesteps=0)
BATCH_OF_ONE = replace(NOTES_DIMS, batch=1, timesteps=3)  # short: the batch axis is the point
LENGTHS = (1, 3, 6)  # fed one after another through one model whose Input has timesteps None

# The slice of the first timestep is out of bounds. TensorFlow's op says so eagerly as
# InvalidArgumentError; in predict's traced graph the same op fails at tracing, as ValueError.
# (Keras 2 refuses in the same words.)
ZERO_TIMESTEPS = {
    "call": Refusal("tensorflow.errors.InvalidArgumentError", "out of bounds"),
    "predict": Refusal("builtins.ValueError", "out of bounds"),
}


# Both flags on return every tensor (sequence and states), neither flag the bare output; the
# other two configurations return subsets of these, which chapter 4 shows are the same numbers.
@over_layers("case", lambda selected: cases(selected.layers, flags=[DEFAULT, SEQUENCES_STATE], paths=["call"], dims=ONE_STEP))
def test_one_timestep_is_one_reference_step(case, verify):
    """With one timestep, each returned tensor is one step of the reference from zero states.

    The sequence keeps its time axis: (batch, 1, units) with return_sequences=True.

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    expected, _ = reference.simple_rnn(layer.get_weights(), x)  # one step from zero states
    np.testing.assert_allclose(output, expected[:, -1], atol=4 * 1 * (3 + 5 + 1) * 2**-23)  # one step's rounding
    ```
    """
    observed = observe(case)
    verify.matches_its_reference(case, observed.outputs, observed.weights, observed.inputs)


# The Input leaves the timesteps unknown (None), as it would for variable-length data.
def zero_timesteps_cases(selected) -> list:
    return [replace(case, known_timesteps=False) for case in cases(selected.layers, flags=[DEFAULT], dims=NO_STEPS)]


@over_layers("case", zero_timesteps_cases)
def test_zero_timesteps_are_refused_not_answered_with_an_empty_output(case, verify, known):
    """A sequence of zero timesteps is refused with an out-of-bounds error; no empty or zero output comes back.

    An eager call raises TensorFlow's InvalidArgumentError; predict, which traces a graph first,
    raises ValueError. The model's Input leaves the timestep dimension unknown, as it would be for
    variable-length data.

    ```python
    import numpy as np
    import keras
    x = np.zeros((2, 0, 3), "float32")  # a batch of sequences of zero timesteps
    layer = keras.layers.SimpleRNN(5)
    inputs = keras.Input(shape=(None, 3))  # the timesteps unknown, as for variable-length data
    model = keras.Model(inputs, layer(inputs))
    try:
        model.predict(x, verbose=0)
        refused = None
    except ValueError as error:
        refused = error
    print(refused)
    assert isinstance(refused, ValueError) and "out of bounds" in str(refused)
    ```
    """
    check_refused(
        verify.about(case),
        expected_outcome(known, ZERO_TIMESTEPS[case.path]),
        case,
        what=f"{case.layer}(...) on input of shape {case.dims.input_shape} via {case.path}",
    )


def every_length_case(layer) -> WrittenCase:
    """The model of the claim below, fed each of LENGTHS."""
    made = layer.constructor_code(NOTES_DIMS.units, SEQUENCES_STATE)
    shapes = [replace(NOTES_DIMS, timesteps=length).input_shape for length in LENGTHS]
    code = [
        f"layer = {made}",
        f"inputs = keras.Input(shape=(None, {NOTES_DIMS.features}))",
        "model = keras.Model(inputs, layer(inputs))",
        seeding_code(),
        f"xs = [np.random.default_rng({DATA_SEED}).normal(size=shape).astype('float32') for shape in {shapes}]",
        "returned = [model(x) for x in xs]",
        "print(*returned, sep='\\n\\n')",
    ]
    description = (
        f"{made} in one Model on Input(shape=(None, {NOTES_DIMS.features})), called on x of shapes "
        f"{', '.join(map(str, shapes))} in turn, seeded uniform weights"
    )
    return WrittenCase(layer, description, "\n".join(code))


@each_layer
@reproduced_by(every_length_case)
def test_one_model_with_unknown_timesteps_matches_the_reference_at_every_length(layer, verify):
    """One model with Input(shape=(None, features)) gives, for each length fed to it, the reference's numbers.

    The lengths 1, 3 and 6 go through the same model, one after another (model(x), eagerly).

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    for x, tensors in zip(xs, returned):
        sequence, states = reference.simple_rnn(layer.get_weights(), x)
        assert len(tensors) == 1 + len(states)  # the sequence, then the states
        for got, expected in zip(tensors, [sequence, *states]):
            np.testing.assert_allclose(got, expected, atol=4 * x.shape[1] * (3 + 5 + 1) * 2**-23)  # this length's rounding
    ```
    """
    case = Case(layer, SEQUENCES_STATE, "call", NOTES_DIMS)
    bound = reproduced(every_length_case(layer))
    for x, returned in zip(bound["xs"], bound["returned"], strict=True):
        where = f" of model(x) at length {x.shape[1]}"
        verify.matches_its_reference(case, as_list(returned), bound["layer"].get_weights(), x, where=where)


@over_layers("case", lambda selected: cases(selected.layers, flags=[DEFAULT, SEQUENCES_STATE], paths=["call"], dims=BATCH_OF_ONE))
def test_a_batch_of_one_keeps_its_batch_axis_and_matches_the_reference(case, verify):
    """A batch of one sample returns tensors whose batch axis is 1 (not squeezed), matching the reference.

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    assert output.shape == (1, 5)  # the batch axis kept, not squeezed
    expected, _ = reference.simple_rnn(layer.get_weights(), x)
    np.testing.assert_allclose(output, expected[:, -1], atol=4 * 3 * (3 + 5 + 1) * 2**-23)  # float32 rounding, 3 steps
    ```
    """
    observed = observe(case)
    verify.matches_its_reference(case, observed.outputs, observed.weights, observed.inputs)
