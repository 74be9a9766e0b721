"""Chapter 2: what comes back. The number of returned tensors and the shape of each.

Source: the notebook's cells In [3] to In [6], and the RNN layers' docstrings ("return_state:
Boolean. Whether to return the last state in addition to the output").
"""


from keras_rnn_spec.observe import cases, observe
from keras_rnn_spec.parameters import over_layers
from keras_rnn_spec.semantics import expected_structure


@over_layers("case", lambda selected: cases(selected.layers))
def test_returns_the_output_then_one_tensor_per_state(case, verify):
    """The layer returns 1 tensor, or 1 + its number of states with return_state=True, with these shapes.

    The output is (batch, timesteps, units) with return_sequences=True and (batch, units) without;
    each state is (batch, units). SimpleRNN and GRU have one state (h), LSTM two (h, then c).

    ```python
    assert output.shape == (2, 5)  # (batch, units): one tensor, no states without return_state
    ```
    """
    names, shapes = expected_structure(case)
    verify.structure(observe(case).outputs, shapes, names=names)
