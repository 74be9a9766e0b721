"""Self-tests of the float64 reference (keras_rnn_spec/reference.py) on cases small enough to work out by hand.

One sample, one feature, one unit, one or two steps; weights like 0.5, a different one for each
gate, so that a swapped gate or a misplaced bias changes the result. Each expected value is the
layer's documented equation written out with math.tanh and math.exp, step by step, not computed
by the reference.
"""

import math

import numpy as np
import pytest

from keras_rnn_spec import reference


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def sequence(*steps: float) -> np.ndarray:
    """Input steps of one feature, for one sample: shape (1, steps, 1)."""
    return np.array(steps, dtype=np.float64).reshape(1, -1, 1)


def check(returned, expected_sequence, expected_states):
    got_sequence, got_states = returned
    np.testing.assert_allclose(got_sequence.reshape(-1), expected_sequence, rtol=0, atol=1e-12)
    assert len(got_states) == len(expected_states)
    for got, want in zip(got_states, expected_states):
        np.testing.assert_allclose(got.reshape(-1), [want], rtol=0, atol=1e-12)


# SimpleRNN: h_t = tanh(W x_t + U h_{t-1} + b) with W = 0.5, U = -0.25, b = 0.1.
SIMPLE_RNN_WEIGHTS = [np.array([[0.5]]), np.array([[-0.25]]), np.array([0.1])]


def test_simple_rnn_two_steps():
    h1 = math.tanh(0.5 * 1.0 + 0.1)
    h2 = math.tanh(0.5 * 2.0 - 0.25 * h1 + 0.1)
    check(reference.simple_rnn(SIMPLE_RNN_WEIGHTS, sequence(1.0, 2.0)), [h1, h2], [h2])


def test_simple_rnn_from_an_initial_state():
    h1 = math.tanh(0.5 * 1.0 - 0.25 * 0.3 + 0.1)
    h2 = math.tanh(0.5 * 2.0 - 0.25 * h1 + 0.1)
    returned = reference.simple_rnn(SIMPLE_RNN_WEIGHTS, sequence(1.0, 2.0), [np.array([[0.3]])])
    check(returned, [h1, h2], [h2])


def test_go_backwards_reads_the_last_step_first_and_returns_processing_order():
    first = math.tanh(0.5 * 2.0 + 0.1)  # after reading x_2
    second = math.tanh(0.5 * 1.0 - 0.25 * first + 0.1)  # then x_1
    check(reference.simple_rnn(SIMPLE_RNN_WEIGHTS, sequence(1.0, 2.0), go_backwards=True), [first, second], [second])


@pytest.mark.parametrize(
    "mask, zero_output, expected_sequence, expected_h",
    [
        # Step 1 masked: no output yet (zeros), the state stays 0; step 2 runs from h = 0.
        ([False, True], False, [0.0, math.tanh(0.5 * 2.0 + 0.1)], math.tanh(0.5 * 2.0 + 0.1)),
        # Step 2 masked: the output repeats step 1's, the state stays step 1's.
        ([True, False], False, [math.tanh(0.6), math.tanh(0.6)], math.tanh(0.6)),
        # The same with zero_output_for_mask: zeros at the masked step; the state is unchanged.
        ([True, False], True, [math.tanh(0.6), 0.0], math.tanh(0.6)),
    ],
    ids=["first-step-masked", "last-step-masked", "last-step-masked-zero-output"],
)
def test_a_masked_step_keeps_the_state(mask, zero_output, expected_sequence, expected_h):
    returned = reference.simple_rnn(
        SIMPLE_RNN_WEIGHTS, sequence(1.0, 2.0), mask=np.array([mask]), zero_output_for_mask=zero_output
    )
    check(returned, expected_sequence, [expected_h])


# LSTM, gates in Keras' order i, f, c (candidate g), o; the forget gate's bias is 1.
LSTM_KERNEL = [0.5, -0.5, 1.0, 0.25]
LSTM_RECURRENT = [0.1, 0.2, -0.3, 0.4]
LSTM_BIAS = [0.0, 1.0, 0.0, 0.0]
LSTM_WEIGHTS = [np.array([LSTM_KERNEL]), np.array([LSTM_RECURRENT]), np.array(LSTM_BIAS)]


def lstm_step_by_hand(x, h, c):
    z_i, z_f, z_g, z_o = (w * x + u * h + b for w, u, b in zip(LSTM_KERNEL, LSTM_RECURRENT, LSTM_BIAS))
    c = sigmoid(z_f) * c + sigmoid(z_i) * math.tanh(z_g)
    return sigmoid(z_o) * math.tanh(c), c


def test_lstm_two_steps():
    # Step 1 from h = c = 0: i = sigmoid(0.5), f = sigmoid(1 - 0.5), g = tanh(1), o = sigmoid(0.25).
    c1 = sigmoid(0.5) * math.tanh(1.0)
    h1 = sigmoid(0.25) * math.tanh(c1)
    assert lstm_step_by_hand(1.0, 0.0, 0.0) == (h1, c1)
    # Step 2, x = -1: i = sigmoid(-0.5 + 0.1 h1), f = sigmoid(0.5 + 0.2 h1 + 1), g = tanh(-1 - 0.3 h1),
    # o = sigmoid(-0.25 + 0.4 h1).
    c2 = sigmoid(0.5 + 0.2 * h1 + 1.0) * c1 + sigmoid(-0.5 + 0.1 * h1) * math.tanh(-1.0 - 0.3 * h1)
    h2 = sigmoid(-0.25 + 0.4 * h1) * math.tanh(c2)
    check(reference.lstm(LSTM_WEIGHTS, sequence(1.0, -1.0)), [h1, h2], [h2, c2])


def test_lstm_from_an_initial_h_and_c():
    h1, c1 = lstm_step_by_hand(1.0, 0.2, -0.6)
    returned = reference.lstm(LSTM_WEIGHTS, sequence(1.0), [np.array([[0.2]]), np.array([[-0.6]])])
    check(returned, [h1], [h1, c1])


def test_lstm_output_gate():
    # o = sigmoid(0.25 x + 0.4 h_previous), for x = -1 and h_previous = 0.5.
    gate = reference.lstm_output_gate(LSTM_WEIGHTS, np.array([[-1.0]]), np.array([[0.5]]))
    np.testing.assert_allclose(gate, [[sigmoid(-0.25 + 0.4 * 0.5)]], rtol=0, atol=1e-12)


# GRU, gates in Keras' order z (update), r (reset), h (candidate): h_t = z h_{t-1} + (1 - z) candidate.
GRU_KERNEL = [0.5, -0.4, 0.8]
GRU_RECURRENT = [0.3, 0.6, -0.7]
GRU_INPUT_BIAS = [0.1, -0.2, 0.05]
GRU_RECURRENT_BIAS = [0.2, 0.1, -0.3]  # reset_after=True: a second bias row, on the recurrent side


def gru_step_by_hand(x, h, *, reset_after):
    (w_z, w_r, w_h), (u_z, u_r, u_h) = GRU_KERNEL, GRU_RECURRENT
    (b_z, b_r, b_h), (c_z, c_r, c_h) = GRU_INPUT_BIAS, (GRU_RECURRENT_BIAS if reset_after else [0.0] * 3)
    z = sigmoid(w_z * x + b_z + u_z * h + c_z)
    r = sigmoid(w_r * x + b_r + u_r * h + c_r)
    if reset_after:
        candidate = math.tanh(w_h * x + b_h + r * (u_h * h + c_h))  # r multiplies the recurrent term and its bias
    else:
        candidate = math.tanh(w_h * x + b_h + u_h * (r * h))  # r multiplies h before the recurrent weight
    return z * h + (1 - z) * candidate


@pytest.mark.parametrize("reset_after", [True, False], ids=["reset_after", "reset_before"])
def test_gru_two_steps(reset_after):
    bias = np.array([GRU_INPUT_BIAS, GRU_RECURRENT_BIAS]) if reset_after else np.array(GRU_INPUT_BIAS)
    weights = [np.array([GRU_KERNEL]), np.array([GRU_RECURRENT]), bias]
    h1 = gru_step_by_hand(1.0, 0.0, reset_after=reset_after)
    h2 = gru_step_by_hand(-2.0, h1, reset_after=reset_after)
    check(reference.gru(weights, sequence(1.0, -2.0), reset_after=reset_after), [h1, h2], [h2])


def test_gru_first_step_written_out():
    """The by-hand step itself, for x = 1 from h = 0 with reset_after: h is (1 - z) tanh(0.8 + 0.05 + r (-0.3))."""
    z = sigmoid(0.5 + 0.1 + 0.2)
    r = sigmoid(-0.4 - 0.2 + 0.1)
    assert gru_step_by_hand(1.0, 0.0, reset_after=True) == pytest.approx((1 - z) * math.tanh(0.85 - 0.3 * r), abs=1e-15)


def test_gru_reset_before_multiplies_h_before_the_recurrent_weight():
    """Two units, one step from h = (0.5, -0.5): the reset gate r = (r_0, r_1) scales each h_i before
    U_h; with one unit (above) that is the same number as scaling the product, with two it is not."""
    h = (0.5, -0.5)
    w_z, w_r, w_h = (0.2, -0.1), (0.4, 0.3), (0.6, -0.2)
    # u[i][j]: the recurrent weight from h_i to unit j.
    u_z, u_r, u_h = ((0.1, 0.0), (0.0, 0.1)), ((0.2, -0.1), (0.3, 0.1)), ((0.5, -0.4), (0.25, 0.3))
    z = [sigmoid(w_z[j] + h[0] * u_z[0][j] + h[1] * u_z[1][j]) for j in (0, 1)]
    r = [sigmoid(w_r[j] + h[0] * u_r[0][j] + h[1] * u_r[1][j]) for j in (0, 1)]
    candidate = [math.tanh(w_h[j] + r[0] * h[0] * u_h[0][j] + r[1] * h[1] * u_h[1][j]) for j in (0, 1)]
    expected = [z[j] * h[j] + (1 - z[j]) * candidate[j] for j in (0, 1)]

    kernel = np.array([[*w_z, *w_r, *w_h]])
    recurrent = np.array([[*u_z[i], *u_r[i], *u_h[i]] for i in (0, 1)])
    weights = [kernel, recurrent, np.zeros(6)]
    returned_sequence, (h_final,) = reference.gru(weights, sequence(1.0), [np.array([h])], reset_after=False)
    np.testing.assert_allclose(h_final[0], expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(returned_sequence[0, 0], expected, rtol=0, atol=1e-12)
