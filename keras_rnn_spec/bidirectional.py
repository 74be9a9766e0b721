"""Chapter 11's cases: Bidirectional(layer(return_state=True)) in each merge_mode, what its reproducer
prints and binds, and the float64 reference of its two directions merged as merge_mode documents.
"""

from dataclasses import dataclass

import numpy as np

from keras_rnn_spec.catalogue import Flags, RecurrentLayer, reference_of
from keras_rnn_spec.observe import (
    STATE_SEED,
    Dims,
    Observation,
    given_states,
    given_states_code,
    preamble,
    returned_code,
    seeding_code,
)
from keras_rnn_spec.semantics import Directions, directions_by_reference, merged, output_name
from keras_rnn_spec.verify import reference_tolerance

MERGE_MODES = ("concat", "sum", "ave", "mul", None)
SEPARABLE = ("concat", None)  # the modes whose output keeps the backward half apart
# Five steps rather than the notes' ten: each case runs two eager loops, and five steps are enough
# for the two ends of a sequence to differ.
DIMS = Dims(batch=2, timesteps=5, features=3, units=5)


@dataclass(frozen=True)
class BidirectionalCase:
    """Bidirectional(layer(units, return_state=True[, return_sequences=True]), merge_mode), called directly
    (with_initial_state: in a Model whose Inputs are the sequence and the initial states)."""

    layer: RecurrentLayer
    merge_mode: str | None
    return_sequences: bool
    with_initial_state: bool = False  # called with initial_state, observe.given_states
    dims: Dims = DIMS

    def __str__(self) -> str:
        name = f"{self.layer}-{self.merge_mode}-{'sequences' if self.return_sequences else 'last'}"
        return f"{name}-initial-state" if self.with_initial_state else name

    @property
    def state_count(self) -> int:
        return len(self.layer.state_names)

    def constructor_code(self) -> str:
        wrapped = self.layer.constructor_code(self.dims.units, Flags(self.return_sequences, return_state=True))
        return f"keras.layers.Bidirectional({wrapped}, merge_mode={self.merge_mode!r})"

    def describe(self) -> str:
        if self.with_initial_state:
            via = f"a Model taking initial_state as Inputs, called on states from default_rng({STATE_SEED})"
        else:
            via = "a direct layer call"
        return f"{self.constructor_code()} via {via}, input {self.dims.input_shape}, seeded uniform weights"

    def snippet(self) -> str:
        shape, d = self.dims.input_shape, self.dims
        lines = [
            *preamble(shape, self.layer),
            f"layer = {self.constructor_code()}",
        ]
        if self.with_initial_state:
            # States enter as Inputs of a model: Keras 2 takes initial_state in a direct call only as
            # tensors, and a user's states are numpy arrays.
            lines += [
                f"sequences = keras.Input(shape=({d.timesteps}, {d.features}))",
                f"states = [keras.Input(shape=({d.units},)) for _ in range({2 * self.state_count})]",
                "model = keras.Model([sequences, *states], layer(sequences, initial_state=states))",
            ]
        else:
            lines.append(f"layer.build({shape})")
        lines.append(seeding_code())
        if self.with_initial_state:
            lines += [
                "# given: the forward states, then the backward states",
                given_states_code("given", "len(states)", d),
            ]
        run = "model([x, *given])" if self.with_initial_state else "layer(x)"
        return "\n".join([*lines, *returned_code(self.names(), run)])

    def names(self) -> list[str]:
        """What the snippet calls the returned tensors: sequence (or both directions' with merge_mode=None),
        then h_forward (c_forward), then h_backward (c_backward)."""
        output = output_name(self.return_sequences)
        outputs = [output] if self.merge_mode is not None else [f"forward_{output}", f"backward_{output}"]
        return outputs + [f"{name}_{way}" for way in ("forward", "backward") for name in self.layer.state_names]


def bidirectional_cases(layers, merge_modes=MERGE_MODES, sequences=(True,)) -> list[BidirectionalCase]:
    return [BidirectionalCase(layer, mode, seq) for layer in layers for mode in merge_modes for seq in sequences]


# Every merge_mode with return_sequences=True; without it, merge_mode=None, which returns the
# backward final output as it is (the other modes combine final outputs by the same code as they
# combine sequences). Each case costs two eager loops, so the matrix stays this size.
def last_cases(selected) -> list[BidirectionalCase]:
    return bidirectional_cases(selected.layers, [None], sequences=(False,))


def all_cases(selected) -> list[BidirectionalCase]:
    return bidirectional_cases(selected.layers) + last_cases(selected)


def initial_states(case: BidirectionalCase) -> list[np.ndarray]:
    """Forward states then backward states."""
    return given_states(2 * case.state_count, case.dims)


def reference_directions(case: BidirectionalCase, run: Observation) -> Directions:
    starts = (None, None)
    if case.with_initial_state:
        given = initial_states(case)
        starts = (given[: case.state_count], given[case.state_count :])
    return directions_by_reference(reference_of(case.layer), run.weights, run.inputs, starts)


def documented_merge(case: BidirectionalCase, directions: Directions) -> list[np.ndarray]:
    return merged(case.merge_mode, directions, case.return_sequences)


def merged_tolerance(case: BidirectionalCase) -> float:
    """Each direction is within reference_tolerance; sum adds the two errors, and so does mul, because
    both factors are outputs of tanh-bounded units (|y| <= 1), so |fb - f'b'| <= |e_f| + |e_b|."""
    return reference_tolerance(case.dims) * (2 if case.merge_mode in ("sum", "mul") else 1)


def output_count(case: BidirectionalCase) -> int:
    return 2 if case.merge_mode is None else 1


def backward_output(case: BidirectionalCase, run: Observation) -> np.ndarray:
    """The backward half of what was returned: the second output, or the concat's upper units."""
    if case.merge_mode is None:
        return run.outputs[1]
    return run.outputs[0][..., case.dims.units :]


def backward_h(case: BidirectionalCase, run: Observation) -> np.ndarray:
    return run.outputs[output_count(case) + case.state_count]
