"""Chapter 6: determinism. The same seed gives the same weights and the same outputs.

The notes call `reset_graph(seed)` (TensorFlow 1's tf.set_random_seed) before every cell, which is
why their cells print the same numbers. Today's API for it is `keras.utils.set_random_seed`, which
seeds Python, numpy and the backend; the layers keep their default initialisers here.
"""

from dataclasses import replace

import numpy as np

from keras_rnn_spec.catalogue import SEQUENCES_STATE
from keras_rnn_spec.observe import PATHS, cases, run
from keras_rnn_spec.parameters import over_layers

SEED = 2


def seeded_cases(layers, paths=PATHS) -> list:
    """The layers with both flags, their default initialisers seeded SEED (the reproducer shows it)."""
    return [replace(case, keras_seed=SEED) for case in cases(layers, flags=[SEQUENCES_STATE], paths=paths)]


@over_layers("case", lambda selected: seeded_cases(selected.layers))
def test_same_seed_gives_the_same_weights_and_outputs(case, verify):
    """The same seed gives the same weights and the same outputs (the notes' reset_graph, in today's API).

    ```python
    def seeded(seed):  # a new layer like this one, with its default initialisers, after set_random_seed
        keras.utils.set_random_seed(seed)
        new = layer.from_config(layer.get_config())
        new.build(x.shape)
        return new

    first, second = seeded(2), seeded(2)
    for w1, w2 in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(w1, w2)
    for o1, o2 in zip(first(x), second(x)):
        np.testing.assert_array_equal(o1, o2)
    ```
    """
    first, second = run(case), run(case)
    for index, (w1, w2) in enumerate(zip(first.weights, second.weights, strict=True)):
        verify.equal(w2, w1, what=f"weight {index} of a second build with seed {SEED}")
    for index, (o1, o2) in enumerate(zip(first.outputs, second.outputs, strict=True)):
        verify.equal(o2, o1, what=f"returned tensor {index} of a second build with seed {SEED}")


@over_layers("case", lambda selected: seeded_cases(selected.layers, paths=["call"]))
def test_another_seed_gives_other_weights(case, verify):
    """Another seed gives other weights: the seed, not a constant initialiser, decides them.

    ```python
    def seeded_kernel(seed):  # a new layer like this one, with its default initialisers, after set_random_seed
        keras.utils.set_random_seed(seed)
        new = layer.from_config(layer.get_config())
        new.build(x.shape)
        return new.get_weights()[0]

    assert np.abs(seeded_kernel(2) - seeded_kernel(3)).max() >= 1e-3
    assert np.ptp(seeded_kernel(2)) > 0  # not a constant initialiser
    ```
    """
    first, other = run(case), run(replace(case, keras_seed=SEED + 1))
    # The kernel (weight 0) comes from glorot_uniform: two seeds agreeing to 1e-3 everywhere
    # would mean the seed is ignored.
    verify.differ(first.weights[0], other.weights[0], what=f"kernel under seeds {SEED} and {SEED + 1}", at_least=1e-3)
    verify.holds(
        bool(np.ptp(first.weights[0]) > 0),
        what="kernel entries vary",
        details="every kernel entry is the same number: the initialiser is constant",
    )
