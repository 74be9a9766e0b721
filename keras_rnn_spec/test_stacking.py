"""Chapter 16: stacking layers.

A recurrent layer takes a sequence, (batch, timesteps, features), so a layer stacked on another
needs the whole sequence below it: every layer but the top one needs return_sequences=True.
Sources: the RNN docstrings ("inputs: A 3D tensor, with shape (batch, timesteps, feature)";
"return_sequences: Whether to return the last output in the output sequence, or the full
sequence"), and the article the notes credit, which stacks LSTMs with return_sequences=True.
"""

import functools
from dataclasses import dataclass, replace

import numpy as np
import pytest

from keras_rnn_spec.cases import WrittenCase, reproduced_by
from keras_rnn_spec.catalogue import DEFAULT, FLAGS, SEQUENCES, Flags, RecurrentLayer, reference_of
from keras_rnn_spec.observe import (
    READ,
    WEIGHT_SCALE,
    WEIGHT_SEED,
    Dims,
    Observation,
    data_code,
    preamble,
    raised_by_reproducer,
    reproduced,
    returned_code,
    snippet_names,
)
from keras_rnn_spec.parameters import each_layer, over_layers
from keras_rnn_spec.refusals import described, record_raised
from keras_rnn_spec.semantics import returned_by_reference, returned_names
from keras_rnn_spec.subject import to_numpy
from keras_rnn_spec.verify import chained_tolerance

TOP_UNITS = 4  # the top layer is narrower than the one below it, so a mixed-up width shows
# A shorter sequence than the notes' (an eager call costs per step and per layer); five steps
# carry the recurrence through every state.
SHORT_DIMS = Dims(batch=2, timesteps=5, features=3, units=5)


@dataclass(frozen=True)
class StackCase:
    """Two layers of one kind: the first with return_sequences=True, the top one with `flags`."""

    layer: RecurrentLayer
    flags: Flags
    dims: Dims = SHORT_DIMS

    @property
    def top_dims(self) -> Dims:
        """The top layer's sizes: its features are the first layer's units."""
        return replace(self.dims, features=self.dims.units, units=TOP_UNITS)

    def __str__(self) -> str:
        return f"{self.layer}-on-{self.layer}-{self.flags}"

    def layers_code(self) -> tuple[str, str]:
        return (
            self.layer.constructor_code(self.dims.units, SEQUENCES),
            self.layer.constructor_code(TOP_UNITS, self.flags),
        )

    def describe(self) -> str:
        first, top = self.layers_code()
        return f"{top} on {first}, direct layer calls, input {self.dims.input_shape}, seeded uniform weights"

    def snippet(self) -> str:
        first, top = self.layers_code()
        return "\n".join(
            [
                *preamble(self.dims.input_shape, self.layer),
                f"first, top = {first}, {top}",
                f"first.build({self.dims.input_shape})",
                f"top.build({self.top_dims.input_shape})",
                f"rng = np.random.default_rng({WEIGHT_SEED})",
                "for layer in (first, top):",
                f"    layer.set_weights([rng.uniform(-{WEIGHT_SCALE}, {WEIGHT_SCALE}, w.shape).astype('float32')"
                " for w in layer.get_weights()])",
                *returned_code(self.names(), "top(first(x))"),
            ]
        )

    def names(self) -> list[str]:
        return snippet_names(self.flags, self.layer.state_names)




@functools.cache
def _observed_stack(case: StackCase) -> Observation:
    __tracebackhide__ = True  # as observe.executed's
    namespace = reproduced(case)
    weights = [np.asarray(w) for layer in (namespace["first"], namespace["top"]) for w in layer.get_weights()]
    return Observation([to_numpy(namespace[name]) for name in case.names()], weights, namespace["x"])


def observe_stack(case: StackCase) -> Observation:
    """What the case's reproducer binds, executed once per session: the top layer's returned tensors,
    both layers' weights (drawn from one generator: the first layer's, then the top layer's) and x."""
    __tracebackhide__ = True
    READ.append(case)
    return _observed_stack(case)


# Both layers of the refused stack are one width: the refusal comes before the top layer is built.
def stack_without_sequences_case(layer: RecurrentLayer, how: str) -> WrittenCase:
    """Two layers, the first without return_sequences, stacked on arrays (`call`), on an Input
    (`functional`) or in a Sequential model."""
    made = layer.constructor_code(SHORT_DIMS.units, DEFAULT)
    shape = SHORT_DIMS.input_shape
    ways = {
        "call": ([data_code(shape)], "top(first(x))"),
        "functional": ([], f"top(first(keras.Input(shape={shape[1:]})))"),
        "Sequential": ([], f"keras.Sequential([keras.Input(shape={shape[1:]}), first, top])"),
    }
    data, stack = ways[how]
    return WrittenCase(layer, f"{made} on {made}, stacked by {stack}", "\n".join([*data, f"first, top = {made}, {made}", stack]))


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
    error, bound = raised_by_reproducer(stack_without_sequences_case(layer, how))
    top = bound["top"]
    record_raised(verify, "call" if how == "call" else "build", error)  # on an Input the layers build a model
    verify.holds(
        isinstance(error, ValueError) and "expected ndim=3, found ndim=2" in str(error) and top.name in str(error),
        what=f"what stacking {layer}({SHORT_DIMS.units}) on {layer}({SHORT_DIMS.units}) raised ({how})",
        details=f"raised {described(error)}; "
        f"expected ValueError with 'expected ndim=3, found ndim=2' and the name {top.name!r}",
    )


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
    observed = observe_stack(case)
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
