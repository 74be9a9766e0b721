"""Chapter 14: unroll and implementation.

Two constructor settings that change how the layer loops and multiplies, not what it computes.
Sources: the RNN docstring ("unroll: If True, the network will be unrolled, else a symbolic loop
will be used. Unrolling can speed-up a RNN, although it tends to be more memory-intensive"), and
the tf.keras LSTM and GRU docstrings ("implementation: Implementation mode, either 1 or 2. Mode 1
will structure its operations as a larger number of smaller dot products and additions, whereas
mode 2 will batch them into fewer, larger operations"). Keras 3 still takes `implementation` for
GRU and LSTM (default 2) but no longer documents it, and SimpleRNN refuses it. Unrolling needs the
number of steps only when the layer runs, so a model may declare Input(shape=(None, features)).

unroll is an argument of every RNN layer, so its claims run on the layers under test, whatever
SPEC_LAYERS names; implementation belongs to Keras' own GRU and LSTM, checked only on those.
"""

import pytest

from keras_rnn_spec.cases import SteppedCase, WrittenCase, reproduced_by
from keras_rnn_spec.catalogue import (
    DEFAULT,
    FLAGS,
    GRU,
    GRU_RESET_BEFORE,
    LSTM,
    SIMPLE_RNN,
    about_keras_own_classes,
)
from keras_rnn_spec.observe import NOTES_DIMS, Case, observe, reproduced
from keras_rnn_spec.parameters import each_layer, over_layers
from keras_rnn_spec.refusals import Refusal, check_refused, described, executed_steps, expected_outcome
from keras_rnn_spec.semantics import returned_names
from keras_rnn_spec.verify import same_function_tolerance


ACCEPTED = "nothing"  # a known difference's outcome where a subject accepts what the claim says is refused, or the reverse
NO_IMPLEMENTATION = Refusal("builtins.ValueError", "implementation", step="build")  # Keras 3: Unrecognized keyword arguments


def variant_cases(selected) -> list[Case]:
    """Each variant in the four flag configurations; a variant's `derived_from` is the default layer.

    implementation=2 is the default (test_implementation_2_is_the_default), so the layers run here
    are those that change how the step is computed. GRU(reset_after=False) with implementation=1
    takes a branch of its own (the reset gate multiplies h before the recurrent product)."""
    variants = [layer.with_options(unroll=True) for layer in selected.layers]
    if selected.keras_own:
        variants += [default.with_options(implementation=1) for default in (GRU, GRU_RESET_BEFORE, LSTM)]
    return [Case(variant, flags, "call") for variant in variants for flags in FLAGS]


@over_layers("case", variant_cases)
def test_variant_returns_what_the_default_layer_returns(case, verify):
    """With unroll=True or implementation=1, the layer returns what the default layer returns.

    The same weights give the same structure (number and shapes of tensors) and the same numbers,
    within float32 rounding, under each of the four flag configurations.

    ```python
    # The default layer (unroll=False), with the same weights:
    default = layer.from_config({**layer.get_config(), "unroll": False})
    default.build(x.shape)
    default.set_weights(layer.get_weights())
    np.testing.assert_allclose(output, default(x), atol=2 * 4 * 10 * (3 + 5 + 1) * 2**-23)  # two float32 evaluations
    ```
    """
    observed = observe(case)
    default = observe(Case(case.layer.derived_from, case.flags, case.path))
    names = returned_names(case)
    verify.structure(observed.outputs, [item.shape for item in default.outputs], names=names)
    verify.each_equal(
        observed.outputs,
        default.outputs,
        names=names,
        what="{name} against the default layer's",
        atol=same_function_tolerance(case.dims),
        why="two float32 evaluations of the same equations",
    )


@over_layers("case", variant_cases)
def test_variant_matches_the_float64_reference(case, verify):
    """With unroll=True or implementation=1, every returned tensor matches the float64 reference.

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    expected, _ = reference.simple_rnn(layer.get_weights(), x)
    np.testing.assert_allclose(output, expected[:, -1], atol=4 * 10 * (3 + 5 + 1) * 2**-23)  # 10 steps' rounding
    ```
    """
    observed = observe(case)
    verify.matches_its_reference(case, observed.outputs, observed.weights, observed.inputs)


def unrolled_case(layer) -> Case:
    """The layer with unroll=True in a model whose Input leaves the timesteps unknown, run on the notes' 10 steps."""
    return Case(layer.with_options(unroll=True), DEFAULT, "predict", known_timesteps=False)


@each_layer
@reproduced_by(unrolled_case)
def test_unroll_accepts_an_unknown_number_of_timesteps(layer, verify, known):
    """unroll=True accepts Input(shape=(None, features)): the model builds, and unrolls over the steps it is given.

    Called on the notes' 10 steps, it returns what the default layer returns. (Keras 2 refuses the
    Input when the model is built: see the known differences.)

    ```python
    # The model above built on Input(shape=(None, 3)). The default layer (unroll=False), with the same weights:
    default = layer.from_config({**layer.get_config(), "unroll": False})
    default.build(x.shape)
    default.set_weights(layer.get_weights())
    np.testing.assert_allclose(output, default(x), atol=2 * 4 * 10 * (3 + 5 + 1) * 2**-23)  # two float32 evaluations
    ```
    """
    outcome = expected_outcome(known, ACCEPTED)
    what = f"{layer}(5, unroll=True) on Input(shape=(None, 3))"
    if outcome != ACCEPTED:
        check_refused(verify, outcome, unrolled_case(layer), what=what)
        return
    step, error, bound = executed_steps(unrolled_case(layer))
    verify.holds(error is None, what=what, details=f"raised {described(error)} at step {step!r}")
    # The same seeded weights as the default layer's: unroll changes no weight's shape.
    default = observe(Case(layer, DEFAULT, "call"))
    verify.equal(
        bound["output"],
        default.output,
        what="the model's output on 10 steps against the default layer's",
        atol=same_function_tolerance(NOTES_DIMS),
        why="two float32 evaluations of the same equations",
    )


def implementation_case(layer) -> WrittenCase:
    """The layer made without implementation and with implementation=2: their cells' settings."""
    made, explicit = (entry.constructor_code(5, DEFAULT) for entry in (layer, layer.with_options(implementation=2)))
    code = [f"default = {made}.cell.implementation", f"explicit = {explicit}.cell.implementation", "print(default, explicit)"]
    return WrittenCase(layer, f"{made} and {explicit}: their cell's implementation", "\n".join(code))


@about_keras_own_classes("GRU and LSTM (their implementation setting)")
@pytest.mark.parametrize("layer", (GRU, LSTM), ids=str)
@reproduced_by(implementation_case)
def test_implementation_2_is_the_default(layer, verify):
    """GRU and LSTM default to implementation=2, so passing implementation=2 changes nothing.

    ```python
    assert default == explicit == 2
    ```
    """
    bound = reproduced(implementation_case(layer))
    default, explicit = bound["default"], bound["explicit"]
    verify.holds(
        default == explicit == 2,
        what="the cell's implementation, by default and with implementation=2",
        details=f"{layer}(5): {default}; {layer}(5, implementation=2): {explicit}",
    )


def simple_rnn_implementation_case() -> SteppedCase:
    """The constructor call the claim makes; the case's code ends in it, as it raises."""
    made = SIMPLE_RNN.with_options(implementation=1).constructor_code(5, DEFAULT)
    return SteppedCase(SIMPLE_RNN, f"{made}, constructed (no input)", (("build", made),))


@about_keras_own_classes("SimpleRNN (its constructor)")
@reproduced_by(simple_rnn_implementation_case)
def test_simple_rnn_has_no_implementation_setting(verify, known):
    """SimpleRNN takes no implementation argument: passing one raises ValueError naming it.

    ```python
    import keras
    import pytest

    with pytest.raises(ValueError) as refused:  # Keras 3: Unrecognized keyword arguments ...
        keras.layers.SimpleRNN(5, implementation=1)
    assert "implementation" in str(refused.value)
    ```
    """
    # Keras 2 accepts it with a logged deprecation warning and ignores it (known differences table).
    outcome = expected_outcome(known, NO_IMPLEMENTATION)
    what = "SimpleRNN(5, implementation=1)"
    if outcome != ACCEPTED:
        check_refused(verify, outcome, simple_rnn_implementation_case(), what=what)
        return
    step, error, _ = executed_steps(simple_rnn_implementation_case())
    verify.holds(error is None, what=what, details=f"raised {described(error)} at step {step!r}")
