"""Chapter 5: the sequence is causal. Step t depends on the steps up to t and on nothing after.

Source: the RNN docstrings ("return_sequences: Whether to return the last output in the output
sequence, or the full sequence"): step t of the full sequence is the last output of a run that
stopped at t.
"""

from dataclasses import replace


from keras_rnn_spec.catalogue import DEFAULT, SEQUENCES
from keras_rnn_spec.observe import build, cases, observe
from keras_rnn_spec.parameters import over_layers
from keras_rnn_spec.subject import as_list


@over_layers("case", lambda selected: cases(selected.layers, flags=[SEQUENCES]))
def test_step_t_is_the_final_output_on_the_prefix(case, verify, known):
    """Step t of the returned sequence equals the final output of the same layer on x[:, :t+1].

    ```python
    # The same layer without return_sequences, with the same weights, on an Input of any length:
    last = layer.from_config({**layer.get_config(), "return_sequences": False})
    prefix = keras.Input(shape=(None, 3))
    model = keras.Model(prefix, last(prefix))
    last.set_weights(layer.get_weights())
    for t in range(10):
        np.testing.assert_array_equal(sequence[:, t], model.predict(x[:, : t + 1], verbose=0))
    ```
    """
    observed = observe(case)
    # One layer, same seeded weights, default flags, an Input whose timestep dimension is unknown
    # so that a single model takes every prefix length.
    prefix_case = replace(case, flags=DEFAULT, known_timesteps=False)
    _, forward = build(prefix_case)
    check = verify.about(prefix_case)
    atol = known.value(0.0)
    for t in range(case.dims.timesteps):
        final = as_list(forward(observed.inputs[:, : t + 1]))[0]
        # The same operations in the same order on the same numbers: exact, unless the table
        # records a backend whose kernels round differently for another length.
        check.equal(
            observed.output[:, t],
            final,
            what=f"sequence[:, {t}] against the final output on x[:, :{t + 1}]",
            atol=atol,
            why="the known difference's rounding allowance",
        )
