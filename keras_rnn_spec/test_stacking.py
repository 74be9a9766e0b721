"""Chapter 16: stacking layers.

A recurrent layer takes a sequence, (batch, timesteps, features), so a layer stacked on another
needs the whole sequence below it: every layer but the top one needs return_sequences=True.
Sources: the RNN docstrings ("inputs: A 3D tensor, with shape (batch, timesteps, feature)";
"return_sequences: Whether to return the last output in the output sequence, or the full
sequence"), and the article the notes credit, which stacks LSTMs with return_sequences=True.
"""

import pytest

from keras_rnn_spec.cases import reproduced_by
from keras_rnn_spec.catalogue import FLAGS, reference_of
from keras_rnn_spec.observe import observe
from keras_rnn_spec.parameters import each_layer, over_layers
from keras_rnn_spec.refusals import Refusal, check_raised, described, executed_steps
from keras_rnn_spec.semantics import returned_by_reference, returned_names
from keras_rnn_spec.stacks import SHORT_DIMS, StackCase, stack_without_sequences_case
from keras_rnn_spec.verify import chained_tolerance


@pytest.mark.parametrize("how", ["call", "functional", "Sequential"])
@each_layer
@reproduced_by(stack_without_sequences_case)
def test_a_layer_on_a_layer_without_return_sequences_raises(layer, how, verify):
    """A layer stacked on one without return_sequences=True raises ValueError: expected ndim=3, found ndim=2.

    The layer below returns (batch, units), one vector per sample, where the layer above needs
    (batch, timesteps, features). The message names the layer that received it. Checked on a
    direct call, on the functional API's Input, and in a Sequential model.

    ```python
    import numpy as np
    import keras
    import pytest

    x = np.random.default_rng(2).normal(size=(2, 5, 3)).astype('float32')
    first, top = keras.layers.SimpleRNN(5), keras.layers.SimpleRNN(5)
    with pytest.raises(ValueError) as raised:
        top(first(x))  # first(x) is (2, 5): no time axis
    assert "expected ndim=3, found ndim=2" in str(raised.value)
    assert top.name in str(raised.value)  # the layer that received it
    ```
    """
    case = stack_without_sequences_case(layer, how)
    step, error, bound = executed_steps(case)
    what = f"what stacking {layer}({SHORT_DIMS.units}) on {layer}({SHORT_DIMS.units}) raised ({how})"
    check_raised(verify, Refusal("builtins.ValueError", "expected ndim=3, found ndim=2", case.steps[-1][0]), step, error, what=what)
    top = bound["top"].name
    verify.holds(top in str(error), what=f"{what}: the layer it names", details=f"raised {described(error)}; expected the name {top!r}")


@over_layers("case", lambda selected: [StackCase(layer, flags) for layer in selected.layers for flags in FLAGS])
def test_a_stack_matches_the_reference_chained_layer_after_layer(case, verify):
    """With return_sequences=True on the first layer, the stack is the float64 reference applied layer after layer.

    The top layer returns what it would return alone (its own structure and width, under each of
    the four flag configurations) on the first layer's sequence.

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    below, _ = reference.simple_rnn(first.get_weights(), x)
    expected, _ = reference.simple_rnn(top.get_weights(), below)  # the top layer reads the sequence below it
    # Each layer's float32 rounding, the first layer's carried through the top (keras_rnn_spec/verify.py, chained_tolerance):
    atol = (4 * 5 * (5 + 4 + 1) + 5 * 5 * 0.5 * 4 * 5 * (3 + 5 + 1)) * 2**-23
    np.testing.assert_allclose(output, expected[:, -1], atol=atol)
    ```
    """
    observed = observe(case)
    outputs, half = observed.outputs, len(observed.weights) // 2  # the same layer twice: first's weights, then top's
    reference = reference_of(case.layer)
    first_sequence, _ = reference(observed.weights[:half], observed.inputs)
    sequence, states = reference(observed.weights[half:], first_sequence)
    expected = returned_by_reference(case, sequence, states)
    names = returned_names(case)
    verify.structure(outputs, [item.shape for item in expected], names=names)
    verify.each_equal(
        outputs,
        expected,
        names=names,
        what="top layer's {name} against the reference",
        atol=chained_tolerance([case.dims, case.top_dims]),
        why="float32 rounding of each layer, passed on to the next",
    )
