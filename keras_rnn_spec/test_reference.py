"""Chapter 7: the numbers. Every returned tensor matches an independent float64 reference.

The reference (keras_rnn_spec/reference.py) implements the documented equations of SimpleRNN, GRU (both
reset_after settings) and LSTM from `get_weights()` alone. Weights and data are random and
non-constant, so a swapped gate, a transposed kernel or a misplaced bias shows as a difference.
"""


from keras_rnn_spec.observe import cases, observe
from keras_rnn_spec.parameters import over_layers


@over_layers("case", lambda selected: cases(selected.variants))
def test_every_returned_tensor_matches_the_float64_reference(case, verify):
    """Every returned sequence and state matches the float64 reference within float32 rounding.

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    expected, _ = reference.simple_rnn(layer.get_weights(), x)
    np.testing.assert_allclose(output, expected[:, -1], atol=4 * 10 * (3 + 5 + 1) * 2**-23)  # 10 steps' rounding
    ```
    """
    observed = observe(case)
    verify.matches_its_reference(case, observed.outputs, observed.weights, observed.inputs)
