"""Chapter 17: ConvLSTM.

ConvLSTM1D and ConvLSTM2D are LSTMs whose kernels are convolutions: each step's input, output,
h and c are feature maps instead of vectors, and return_sequences and return_state mean what they
mean for LSTM. Source: the ConvLSTM2D docstring ("If `return_state`: a list of tensors. The first
tensor is the output. The remaining tensors are the last states, each 4D tensor with shape:
`(samples, new_rows, new_cols, filters)` ... `rows` and `cols` values might have changed due to
padding. If `return_sequences`: 5D tensor with shape: `(samples, timesteps, new_rows, new_cols,
filters)`"), and ConvLSTM1D's, one spatial dimension fewer. Default padding="valid" and strides 1:
new size = size - kernel_size + 1.

Every equality here is exact: the library computes these tensors once and returns them twice, or
runs the same operations in the same order on the same weights.
"""

import numpy as np
import pytest

from keras_rnn_spec.catalogue import DEFAULT, SEQUENCES, SEQUENCES_STATE, STATE, keras_classes_marks
from keras_rnn_spec.convlstm import FILTERS, KERNEL_SIZE, cases
from keras_rnn_spec.observe import observe
from keras_rnn_spec.semantics import output_shape
from keras_rnn_spec.verify import FLOAT32_EPS

# The chapter runs keras.layers.ConvLSTM1D and ConvLSTM2D, whatever SPEC_LAYERS names.
pytestmark = keras_classes_marks("ConvLSTM1D and ConvLSTM2D")


@pytest.mark.parametrize("case", cases(), ids=str)
def test_returns_the_output_then_h_and_c(case, verify):
    """ConvLSTM returns the output, then h and c with return_state=True, each a feature map of filters channels.

    With padding="valid" each spatial size shrinks by kernel_size - 1. The output is (batch,
    timesteps, *new_sizes, filters) with return_sequences=True and (batch, *new_sizes, filters)
    without; h and c are (batch, *new_sizes, filters).

    ```python
    assert output.shape == (2, 5, 3)  # (batch, 7 rows - kernel_size 3 + 1, 3 filters)
    ```
    """
    batch, timesteps, *spatial, _ = case.input_shape
    state = (batch, *(size - KERNEL_SIZE + 1 for size in spatial), FILTERS)
    output = output_shape(state, timesteps, case.flags.return_sequences)
    names, shapes = ["output"], [output]
    if case.flags.return_state:
        names += ["h", "c"]
        shapes += [state, state]
    verify.structure(observe(case).outputs, shapes, names=names)


@pytest.mark.parametrize("case", cases([SEQUENCES, SEQUENCES_STATE]), ids=str)
def test_last_step_of_the_sequence_is_the_default_output(case, verify):
    """With return_sequences=True, the last step of the sequence equals the output without it.

    ```python
    # The same layer without return_sequences, with the same weights:
    default = layer.from_config({**layer.get_config(), "return_sequences": False})
    default.build(x.shape)
    default.set_weights(layer.get_weights())
    np.testing.assert_array_equal(sequence[:, -1], default(x))
    ```
    """
    without = case.with_flags(STATE if case.flags.return_state else DEFAULT)
    what = f"sequence[:, -1] against the output of {without.flags}"
    verify.equal(observe(case).output[:, -1], observe(without).output, what=what)


@pytest.mark.parametrize("case", cases([STATE]), ids=str)
def test_output_is_h(case, verify):
    """With return_state=True (and no sequences), the output equals h: the same numbers.

    ```python
    np.testing.assert_array_equal(output, h)
    ```
    """
    output, h, _ = observe(case).outputs
    verify.equal(output, h, what="output against state h")


@pytest.mark.parametrize("case", cases([SEQUENCES_STATE]), ids=str)
def test_last_step_of_the_sequence_is_h(case, verify):
    """With both flags, the last step of the returned sequence equals h.

    ```python
    np.testing.assert_array_equal(sequence[:, -1], h)
    ```
    """
    sequence, h, _ = observe(case).outputs
    verify.equal(sequence[:, -1], h, what="sequence[:, -1] against state h")


@pytest.mark.parametrize("case", cases([SEQUENCES_STATE]), ids=str)
def test_states_do_not_depend_on_return_sequences(case, verify):
    """h and c are the same numbers with and without return_sequences=True.

    ```python
    # The same layer without return_sequences, with the same weights:
    state_only = layer.from_config({**layer.get_config(), "return_sequences": False})
    state_only.build(x.shape)
    state_only.set_weights(layer.get_weights())
    _, h_without, c_without = state_only(x)
    np.testing.assert_array_equal(h, h_without)
    np.testing.assert_array_equal(c, c_without)
    ```
    """
    _, h, c = observe(case).outputs
    _, h_without, c_without = observe(case.with_flags(STATE)).outputs
    verify.equal(h, h_without, what="state h against state h of return_state alone")
    verify.equal(c, c_without, what="state c against state c of return_state alone")


@pytest.mark.parametrize("case", cases([STATE, SEQUENCES_STATE]), ids=str)
def test_cell_state_is_not_h(case, verify):
    """The cell state c is not h: it is returned after h, and its numbers differ from h's.

    ```python
    assert np.abs(np.asarray(c) - np.asarray(h)).max() >= 1e-3  # other numbers, not h repeated
    ```
    """
    _, h, c = observe(case).outputs
    # c = h would need o * tanh(c) = c everywhere; with random weights they differ by O(0.1).
    verify.differ(c, h, what="state c against state h", at_least=1e-3)


@pytest.mark.parametrize("case", cases([STATE, SEQUENCES_STATE]), ids=str)
def test_h_is_bounded_by_tanh_of_c(case, verify):
    """|h| <= |tanh(c)| elementwise, because h = o * tanh(c) with the output gate o in (0, 1).

    ```python
    # tanh(c) in float64; the layer's float32 tanh may sit an ulp or two above it.
    h, c = np.asarray(h), np.asarray(c, dtype="float64")
    assert np.all(np.abs(h) <= np.abs(np.tanh(c)) + 2 * 2**-23)
    ```
    """
    _, h, c = observe(case).outputs
    # tanh(c) is recomputed here in float64; the layer's float32 tanh may sit one ulp above it.
    excess = float(np.max(np.abs(h) - np.abs(np.tanh(c.astype(np.float64)))))
    verify.holds(
        excess <= 2 * FLOAT32_EPS,
        what="|h| against |tanh(c)|",
        details=f"max(|h| - |tanh(c)|) = {excess:.6g}, allowed 2 float32 eps",
    )
