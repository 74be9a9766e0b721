"""What the documentation says a configuration returns, independent of any run."""

from dataclasses import dataclass

import numpy as np


def expected_structure(case) -> tuple[list[str], list[tuple]]:
    """Names and shapes of the tensors a case returns, in order.

    From the RNN docstrings: the output is (batch, timesteps, units) with return_sequences=True,
    else (batch, units); with return_state=True the final states follow, each (batch, units).
    """
    d = case.dims
    output = output_shape((d.batch, d.units), d.timesteps, case.flags.return_sequences)
    states = len(case.layer.state_names) if case.flags.return_state else 0
    return returned_names(case), [output] + [(d.batch, d.units)] * states


def output_shape(step_shape: tuple, timesteps: int, return_sequences: bool) -> tuple:
    """The shape of a layer's output, given one step's, (batch, ...): with return_sequences=True a
    time axis follows the batch (the RNN docstrings)."""
    return (step_shape[0], timesteps, *step_shape[1:]) if return_sequences else tuple(step_shape)


def output_name(return_sequences: bool) -> str:
    """What a reproducer calls a layer's output: `sequence` with return_sequences=True, else `output`."""
    return "sequence" if return_sequences else "output"


def returned_names(case) -> list[str]:
    """What each returned tensor is, in order, for messages and observations: "output" (the whole
    sequence with return_sequences=True, as the docstrings call it), then "state h" (and "state c")
    with return_state=True."""
    states = [f"state {name}" for name in case.layer.state_names] if case.flags.return_state else []
    return ["output", *states]


def returned_by_reference(case, sequence, states) -> list:
    """A reference run cut to what the case returns: the sequence or its last step, then the states."""
    return [output_of(sequence, case.flags), *(states if case.flags.return_state else [])]


def output_of(sequence, flags):
    """The output a layer returns, given its whole sequence (batch, timesteps, ...): the sequence itself
    with return_sequences=True, else its last step (the RNN docstrings)."""
    return sequence if flags.return_sequences else sequence[:, -1]


def final_output(output, flags):
    """The last step's output, given what the layer returned as its output (the inverse cut of `output_of`)."""
    return output[:, -1] if flags.return_sequences else output


@dataclass(frozen=True)
class Directions:
    """Bidirectional's two directions by the float64 reference: sequences in input order, final states."""

    forward_sequence: np.ndarray
    forward_states: list[np.ndarray]
    backward_sequence: np.ndarray  # flipped into input order: step t has read x[:, t:]
    backward_final_output: np.ndarray  # after reading back to step 0
    backward_states: list[np.ndarray]


def directions_by_reference(reference, weights: list, x: np.ndarray, starts=(None, None)) -> Directions:
    """Bidirectional(layer) by `reference`: the forward layer (the first half of the weights) on x, and the
    backward one (the second half) on x with go_backwards=True, each from its `starts` states (None: zeros)."""
    half = len(weights) // 2
    forward_sequence, forward_states = reference(weights[:half], x, starts[0])
    # go_backwards: the reference returns the sequence in processing order (its step 0 is input step T-1).
    backward_processed, backward_states = reference(weights[half:], x, starts[1], go_backwards=True)
    return Directions(
        forward_sequence, forward_states, backward_processed[:, ::-1], backward_processed[:, -1], backward_states
    )


def merged(merge_mode, directions: Directions, return_sequences: bool) -> list[np.ndarray]:
    """The output(s) merge_mode documents, from the two directions' outputs aligned in input order."""
    if return_sequences:
        forward, backward = directions.forward_sequence, directions.backward_sequence
    else:
        forward, backward = directions.forward_sequence[:, -1], directions.backward_final_output
    merges = {
        "concat": lambda: [np.concatenate([forward, backward], axis=-1)],  # forward units first
        "sum": lambda: [forward + backward],
        "ave": lambda: [(forward + backward) / 2],
        "mul": lambda: [forward * backward],
        None: lambda: [forward, backward],
    }
    return merges[merge_mode]()
