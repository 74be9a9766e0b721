"""What the documentation says a configuration returns, independent of any run."""


def expected_structure(case) -> tuple[list[str], list[tuple]]:
    """Names and shapes of the tensors a case returns, in order.

    From the RNN docstrings: the output is (batch, timesteps, units) with return_sequences=True,
    else (batch, units); with return_state=True the final states follow, each (batch, units).
    """
    d = case.dims
    output = (d.batch, d.timesteps, d.units) if case.flags.return_sequences else (d.batch, d.units)
    states = len(case.layer.state_names) if case.flags.return_state else 0
    return returned_names(case), [output] + [(d.batch, d.units)] * states


def returned_names(case) -> list[str]:
    """What each returned tensor is, in order, for messages and observations: "output" (the whole
    sequence with return_sequences=True, as the docstrings call it), then "state h" (and "state c")
    with return_state=True."""
    states = [f"state {name}" for name in case.layer.state_names] if case.flags.return_state else []
    return ["output", *states]


def returned_by_reference(case, sequence, states) -> list:
    """A reference run cut to what the case returns: the sequence or its last step, then the states."""
    output = sequence if case.flags.return_sequences else sequence[:, -1]
    return [output, *(states if case.flags.return_state else [])]
