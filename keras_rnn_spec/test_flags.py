"""Chapter 4: the flags choose what is returned, not what is computed.

With the same weights, the four configurations give identical numbers wherever what they return
overlaps: the final output, the full sequence, the final states. Source: the notebook, whose cells
In [3] to In [6] print the same numbers under every flag (the same seed, so the same weights).
"""

import itertools

import pytest

from keras_rnn_spec.catalogue import FLAGS
from keras_rnn_spec.observe import PATHS, Case, observe
from keras_rnn_spec.parameters import over_layers
from keras_rnn_spec.semantics import final_output



def pairs(selected) -> list:
    return [
        pytest.param(Case(layer, first, path), second, id=f"{layer}-{first}-vs-{second}-{path}")
        for layer in selected.layers
        for first, second in itertools.combinations(FLAGS, 2)
        for path in PATHS
    ]


@over_layers("case, other_flags", pairs, ids=None)
def test_configurations_agree_where_they_overlap(case, other_flags, verify):
    """With the same weights, all four configurations give identical numbers where they overlap.

    ```python
    # The same layer with return_sequences=True, with the same weights:
    other = layer.from_config({**layer.get_config(), "return_sequences": True})
    model = keras.Model(inputs, other(inputs))
    other.set_weights(layer.get_weights())
    np.testing.assert_array_equal(output, model.predict(x, verbose=0)[:, -1])
    ```
    """
    first, second = observe(case), observe(case.with_flags(other_flags))
    verify.equal(
        final_output(first.output, case.flags),
        final_output(second.output, other_flags),
        what=f"final output against the final output of {other_flags}",
    )
    if case.flags.return_sequences and other_flags.return_sequences:
        verify.equal(first.output, second.output, what=f"sequence against the sequence of {other_flags}")
    if case.flags.return_state and other_flags.return_state:
        for name, mine, theirs in zip(case.layer.state_names, first.states, second.states, strict=True):
            verify.equal(mine, theirs, what=f"state {name} against state {name} of {other_flags}")
