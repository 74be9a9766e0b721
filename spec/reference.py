"""An independent float64 numpy reference of SimpleRNN, GRU and LSTM.

Written from the layers' documented equations, not from Keras' code, and fed only with what
`layer.get_weights()` returns. Each function takes the weights in that order and an input
(batch, timesteps, features), and returns the full sequence of outputs (batch, timesteps, units)
and the final states as a list in the layer's order (LSTM: h then c).

Gate order inside the concatenated kernels, as the Keras docstrings and weight layouts give it:
LSTM i, f, c, o; GRU z, r, h. Activations are the layers' defaults: tanh for the output and the
candidate, sigmoid for the gates.
"""

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _float64(arrays):
    return [np.asarray(a, dtype=np.float64) for a in arrays]


def _initial(batch: int, units: int, given, count: int) -> list[np.ndarray]:
    if given is None:
        return [np.zeros((batch, units)) for _ in range(count)]
    return _float64(given)


def simple_rnn(weights, inputs, initial_state=None):
    """h_t = tanh(x_t W + h_{t-1} U + b)."""
    kernel, recurrent, bias = _float64(weights)
    x = np.asarray(inputs, dtype=np.float64)
    (h,) = _initial(x.shape[0], recurrent.shape[0], initial_state, 1)
    steps = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ kernel + h @ recurrent + bias)
        steps.append(h)
    return np.stack(steps, axis=1), [h]


def lstm(weights, inputs, initial_state=None):
    """Gates i, f, o = sigmoid(.), candidate g = tanh(.); c_t = f c_{t-1} + i g; h_t = o tanh(c_t)."""
    kernel, recurrent, bias = _float64(weights)
    x = np.asarray(inputs, dtype=np.float64)
    units = recurrent.shape[0]
    h, c = _initial(x.shape[0], units, initial_state, 2)
    steps = []
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent + bias
        i, f, g, o = (z[:, k * units : (k + 1) * units] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        steps.append(h)
    return np.stack(steps, axis=1), [h, c]


def gru(weights, inputs, initial_state=None, *, reset_after=True):
    """z, r = sigmoid(.); candidate from r applied after (reset_after) or before the recurrent matmul.

    h_t = z h_{t-1} + (1 - z) candidate. With reset_after=True the bias has two rows, one added to
    the input projection and one to the recurrent projection (inside the reset gate's product).
    """
    kernel, recurrent, bias = _float64(weights)
    x = np.asarray(inputs, dtype=np.float64)
    units = recurrent.shape[0]
    if reset_after:
        input_bias, recurrent_bias = bias[0], bias[1]
    else:
        input_bias, recurrent_bias = bias, np.zeros_like(bias)
    (h,) = _initial(x.shape[0], units, initial_state, 1)

    def split(m):
        return m[..., :units], m[..., units : 2 * units], m[..., 2 * units :]

    steps = []
    for t in range(x.shape[1]):
        x_z, x_r, x_h = split(x[:, t] @ kernel + input_bias)
        U_z, U_r, U_h = split(recurrent)
        b_z, b_r, b_h = split(recurrent_bias)
        z = sigmoid(x_z + h @ U_z + b_z)
        r = sigmoid(x_r + h @ U_r + b_r)
        if reset_after:
            candidate = np.tanh(x_h + r * (h @ U_h + b_h))
        else:
            candidate = np.tanh(x_h + (r * h) @ U_h)
        h = z * h + (1.0 - z) * candidate
        steps.append(h)
    return np.stack(steps, axis=1), [h]


def lstm_output_gate(weights, x_t, h_previous):
    """The LSTM output gate o = sigmoid(x_t W_o + h_{t-1} U_o + b_o) of one step, in float64."""
    kernel, recurrent, bias = _float64(weights)
    units = recurrent.shape[0]
    o = slice(3 * units, 4 * units)
    return sigmoid(np.asarray(x_t, np.float64) @ kernel[:, o] + np.asarray(h_previous, np.float64) @ recurrent[:, o] + bias[o])
