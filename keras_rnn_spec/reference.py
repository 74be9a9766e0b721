"""An independent float64 numpy reference of SimpleRNN, GRU and LSTM.

Written from the layers' documented equations, not from Keras' code, and fed only with what
`layer.get_weights()` returns. Each layer function takes the weights in that order and an input
(batch, timesteps, features), and returns the sequence of outputs (batch, timesteps, units) and
the final states as a list in the layer's order (LSTM: h then c).

Gate order inside the concatenated kernels, as the Keras docstrings and weight layouts give it:
LSTM i, f, c, o; GRU z, r, h. Activations are the layers' defaults: tanh for the output and the
candidate, sigmoid for the gates.

The options every layer function takes, as the RNN docstrings describe them:
- initial_state: the states before the first step (default zeros);
- go_backwards: process the input from the last step to the first; the returned sequence is in
  processing order (its step 0 is the input's last step);
- mask: boolean (batch, timesteps), in the input's order; at a masked step the states are carried
  over unchanged and the output repeats the previous output (zeros before any valid step), or is
  zero with zero_output_for_mask=True.
"""

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _float64(arrays):
    return [np.asarray(a, dtype=np.float64) for a in arrays]


def scan(step, inputs, states, *, go_backwards=False, mask=None, zero_output_for_mask=False):
    """Run `step(x_t, states) -> (output, states)` over time with the RNN options above."""
    x = np.asarray(inputs, dtype=np.float64)
    states = _float64(states)
    order = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
    previous = None
    outputs = []
    for t in order:
        output, new_states = step(x[:, t], states)
        if mask is None:
            states = new_states
        else:
            valid = np.asarray(mask, dtype=bool)[:, t][:, None]
            if previous is None:
                previous = np.zeros_like(output)
            states = [np.where(valid, new, old) for new, old in zip(new_states, states)]
            output = np.where(valid, output, 0.0 if zero_output_for_mask else previous)
            previous = output
        outputs.append(output)
    return np.stack(outputs, axis=1), states


def _zeros_or(initial_state, batch, units, count):
    if initial_state is None:
        return [np.zeros((batch, units)) for _ in range(count)]
    return _float64(initial_state)


def simple_rnn_step(weights):
    """h_t = tanh(x_t W + h_{t-1} U + b)."""
    kernel, recurrent, bias = _float64(weights)

    def step(x_t, states):
        h = np.tanh(x_t @ kernel + states[0] @ recurrent + bias)
        return h, [h]

    return step


def lstm_step(weights):
    """Gates i, f, o = sigmoid(.), candidate g = tanh(.); c_t = f c_{t-1} + i g; h_t = o tanh(c_t)."""
    kernel, recurrent, bias = _float64(weights)
    units = recurrent.shape[0]

    def step(x_t, states):
        h, c = states
        z = x_t @ kernel + h @ recurrent + bias
        i, f, g, o = (z[:, k * units : (k + 1) * units] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        return h, [h, c]

    return step


def gru_step(weights, reset_after=True):
    """z, r = sigmoid(.); candidate with r applied after (reset_after) or before the recurrent matmul.

    h_t = z h_{t-1} + (1 - z) candidate. With reset_after=True the bias has two rows, one added to
    the input projection and one to the recurrent projection (inside the reset gate's product).
    """
    kernel, recurrent, bias = _float64(weights)
    units = recurrent.shape[0]
    input_bias, recurrent_bias = (bias[0], bias[1]) if reset_after else (bias, np.zeros_like(bias))

    def split(m):
        return m[..., :units], m[..., units : 2 * units], m[..., 2 * units :]

    U_z, U_r, U_h = split(recurrent)
    b_z, b_r, b_h = split(recurrent_bias)

    def step(x_t, states):
        (h,) = states
        x_z, x_r, x_h = split(x_t @ kernel + input_bias)
        z = sigmoid(x_z + h @ U_z + b_z)
        r = sigmoid(x_r + h @ U_r + b_r)
        if reset_after:
            candidate = np.tanh(x_h + r * (h @ U_h + b_h))
        else:
            candidate = np.tanh(x_h + (r * h) @ U_h)
        h = z * h + (1.0 - z) * candidate
        return h, [h]

    return step


def simple_rnn(weights, inputs, initial_state=None, **options):
    units = np.shape(weights[1])[0]
    states = _zeros_or(initial_state, np.shape(inputs)[0], units, 1)
    return scan(simple_rnn_step(weights), inputs, states, **options)


def lstm(weights, inputs, initial_state=None, **options):
    units = np.shape(weights[1])[0]
    states = _zeros_or(initial_state, np.shape(inputs)[0], units, 2)
    return scan(lstm_step(weights), inputs, states, **options)


def gru(weights, inputs, initial_state=None, *, reset_after=True, **options):
    units = np.shape(weights[1])[0]
    states = _zeros_or(initial_state, np.shape(inputs)[0], units, 1)
    return scan(gru_step(weights, reset_after), inputs, states, **options)


def lstm_output_gate(weights, x_t, h_previous):
    """The LSTM output gate o = sigmoid(x_t W_o + h_{t-1} U_o + b_o) of one step, in float64."""
    kernel, recurrent, bias = _float64(weights)
    units = recurrent.shape[0]
    o = slice(3 * units, 4 * units)
    x_t, h_previous = np.asarray(x_t, np.float64), np.asarray(h_previous, np.float64)
    return sigmoid(x_t @ kernel[:, o] + h_previous @ recurrent[:, o] + bias[o])
