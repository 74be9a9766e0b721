"""The case protocol: every claim function is checked on cases that describe themselves and print
Keras code reproducing what the claim observes.

A case is any object with `describe()` (one line: the layer, its configuration, how it is run, on
what input) and `snippet()` (code that runs when pasted, binding what the claim compares). Most
claims are parametrized with their cases. A claim parametrized with a layer and settings instead
names, with `@reproduced_by(make_case)`, the function that makes its case from those parameters,
so that its test ids (and the known differences and results that name them) stay as they are.
`case_of(item)` finds a test's case either way: the verify fixture puts it in every failure
message, the session in the notes of any other error raised in a claim, the report above the
claim's check.
"""

import inspect
from dataclasses import dataclass

import pytest

from keras_rnn_spec.catalogue import RecurrentLayer
from keras_rnn_spec.observe import snippet_imports

MARKER = "reproduced_by"


def reproduced_by(make_case):
    """Mark a claim whose case `make_case` makes from the test's parameters (those it names)."""
    # with_args: a mark called on a lone function would take it for the test it decorates
    return getattr(pytest.mark, MARKER).with_args(make_case)


def is_case(value) -> bool:
    return callable(getattr(value, "describe", None)) and callable(getattr(value, "snippet", None))


def case_of(item):
    """The case a test checks: its parameter that is a case, else the one its `reproduced_by` function
    makes from its parameters, else None (a test that is not a claim, or a skipped placeholder)."""
    params = item.callspec.params if hasattr(item, "callspec") else {}
    found = next((value for value in params.values() if is_case(value)), None)
    marker = item.get_closest_marker(MARKER)
    if found is not None or marker is None:
        return found
    make_case = marker.args[0]
    wanted = {name: value for name, value in params.items() if name in inspect.signature(make_case).parameters}
    if any(value is None for value in wanted.values()):
        return None  # parameters.or_skipped's placeholder: no layer under test has this claim's case
    return make_case(**wanted)


@dataclass(frozen=True)
class WrittenCase:
    """A case whose Keras code its chapter writes out (a refusal, a model of several layers, a saved
    and loaded model): a description, the code after the imports of `layer`'s snippet, and the
    layer, whose own reference a claim's check may use."""

    layer: RecurrentLayer
    description: str
    code: str

    def describe(self) -> str:
        return self.description

    def snippet(self) -> str:
        return "\n".join([*snippet_imports(self.layer), self.code])


@dataclass(frozen=True)
class SteppedCase:
    """A written case whose code runs in named steps, ("build", code) then ("call", code): a refusal
    says at which step it is raised (keras_rnn_spec/refusals.py). The code follows `layer`'s imports."""

    layer: RecurrentLayer
    description: str
    steps: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        return self.description

    def snippet(self) -> str:
        return "\n".join([*snippet_imports(self.layer), *(code for _, code in self.steps)])
