"""Chapter 3: how the returned tensors relate. Last step, output and h are the same numbers.

Source: the notebook's cells In [4] (the last printed row of the sequence is cell 3's output),
In [5] (_h and h print the same, c differs) and In [6].
"""

import numpy as np
import pytest

from keras_rnn_spec import reference
from keras_rnn_spec.catalogue import DEFAULT, SEQUENCES, SEQUENCES_STATE, STATE
from keras_rnn_spec.observe import cases, observe
from keras_rnn_spec.parameters import or_skipped, over_layers
from keras_rnn_spec.verify import FLOAT32_EPS

# Exact comparisons below: the library computes these tensors once and returns them twice (or runs
# the same operations in the same order), so any difference at all is a fault.



def with_cell_state(selected, flags) -> list:
    """The cases of the layers under test with states h and c, or one skipped case when none has them."""
    layers = [layer for layer in selected.layers if layer.state_names == ("h", "c")]
    return or_skipped(cases(layers, flags=flags), "states h, c", selected)


@over_layers("case", lambda selected: cases(selected.layers, flags=[SEQUENCES, SEQUENCES_STATE]))
def test_last_step_of_the_sequence_is_the_default_output(case, verify):
    """With return_sequences=True, the last step of the sequence equals the output without it.

    ```python
    # The same layer without return_sequences, with the same weights:
    last = layer.from_config({**layer.get_config(), "return_sequences": False})
    model = keras.Model(inputs, last(inputs))
    last.set_weights(layer.get_weights())
    np.testing.assert_array_equal(sequence[:, -1], model.predict(x, verbose=0))
    ```
    """
    sequence = observe(case).output
    default_output = observe(case.with_flags(DEFAULT if not case.flags.return_state else STATE)).output
    verify.equal(sequence[:, -1], default_output, what="sequence[:, -1] against the output of return_sequences=False")


@over_layers("case", lambda selected: cases(selected.layers, flags=[STATE]))
def test_output_is_h(case, verify):
    """With return_state=True (and no sequences), the output equals h: the same numbers.

    ```python
    np.testing.assert_array_equal(output, h)  # exactly the same numbers
    ```
    """
    observed = observe(case)
    verify.equal(observed.output, observed.states[0], what="output against state h")


@over_layers("case", lambda selected: cases(selected.layers, flags=[SEQUENCES_STATE]))
def test_last_step_of_the_sequence_is_h(case, verify):
    """With both flags, the last step of the returned sequence equals h.

    ```python
    np.testing.assert_array_equal(sequence[:, -1], h)
    ```
    """
    observed = observe(case)
    verify.equal(observed.output[:, -1], observed.states[0], what="sequence[:, -1] against state h")


@over_layers("case", lambda selected: with_cell_state(selected, [STATE, SEQUENCES_STATE]))
def test_cell_state_is_not_h(case, verify):
    """LSTM: the cell state c is not h; it is returned second, and its numbers differ from h's.

    ```python
    print(np.abs(c - h).max())
    assert np.abs(c - h).max() >= 1e-3  # other numbers, not h repeated
    ```
    """
    h, c = observe(case).states
    # c = h would need o * tanh(c) = c at every unit; with random weights they differ by O(0.1).
    verify.differ(c, h, what="state c against state h", at_least=1e-3)


@over_layers("case", lambda selected: with_cell_state(selected, [STATE, SEQUENCES_STATE]))
def test_h_is_bounded_by_tanh_of_c(case, verify):
    """LSTM: |h| <= |tanh(c)| elementwise, because h = o * tanh(c) with the output gate o in (0, 1).

    ```python
    # tanh(c) in float64; the layer's float32 tanh may sit an ulp or two above it.
    assert np.all(np.abs(h) <= np.abs(np.tanh(c.astype("float64"))) + 2 * 2**-23)
    ```
    """
    h, c = observe(case).states
    # tanh(c) is recomputed here in float64; the layer's float32 tanh may sit one ulp above it.
    excess = float(np.max(np.abs(h) - np.abs(np.tanh(c.astype(np.float64)))))
    verify.holds(
        excess <= 2 * FLOAT32_EPS,
        what="|h| against |tanh(c)|",
        details=f"max(|h| - |tanh(c)|) = {excess:.6g}, allowed 2 float32 eps",
    )


@over_layers("case", lambda selected: with_cell_state(selected, [SEQUENCES_STATE]))
def test_h_is_output_gate_times_tanh_of_c(case, verify):
    """LSTM: h = o * tanh(c) elementwise, with o the output gate of the last step.

    ```python
    # The output gate of the last step, from the weights (Keras' gate order: i, f, c, o).
    kernel, recurrent_kernel, bias = (w.astype("float64") for w in layer.get_weights())
    z = x[:, -1] @ kernel + sequence[:, -2] @ recurrent_kernel + bias
    o = 1 / (1 + np.exp(-z[:, 15:]))  # the last 5 of 4 * 5 columns
    np.testing.assert_allclose(h, o * np.tanh(c.astype("float64")), atol=4 * (3 + 5 + 4) * 2**-23)  # one step
    ```
    """
    if case.layer.reference is not reference.lstm:
        # Another layer with states h and c (SPEC_LAYERS) may lay out its weights otherwise.
        layout = "o is read from weights laid out as LSTM's (i, f, c, o)"
        pytest.skip(f"{layout}; {case.layer}'s reference is not keras_rnn_spec.reference.lstm")
    observed = observe(case)
    h, c = observed.states
    gate = reference.lstm_output_gate(observed.weights, observed.inputs[:, -1], observed.output[:, -2])
    # One step from the layer's own previous h: float32 rounding of one step's pre-activation
    # (features + units + 1 terms) and of three activations, a few eps in all.
    dims = case.dims
    verify.equal(
        h,
        gate * np.tanh(c.astype(np.float64)),
        what="h against o * tanh(c)",
        atol=4 * (dims.features + dims.units + 4) * FLOAT32_EPS,
        why="float32 rounding of one step",
    )
