"""Expected errors: how a subject refuses what it cannot take, and the check that it does.

A claim states the refusal of the default subject (Keras 3 on TensorFlow) as its default. Where
another Keras version or backend refuses differently, an "expect" entry of
keras_rnn_spec/known_differences.toml gives that subject's refusal as {error, says, step} (or a sentence
naming another documented outcome), read through the `known` fixture. A subject that raises
something else fails and prints what it raised, so a new release is looked at, not passed.
"""

import importlib
import re
from dataclasses import dataclass

from keras_rnn_spec.observe import READ, executed


@dataclass(frozen=True)
class Refusal:
    """How an input is refused: the exception, a stable part of its message, the step that raises."""

    error: str  # dotted name, imported when checked: "builtins.ValueError", "tensorflow.errors.InvalidArgumentError"
    says: str  # "": a claim about the type alone
    step: str = "call"  # "build" (making the layer's model) or "call" (running it)

    def exception_class(self) -> type:
        package, *attributes = self.error.split(".")
        found = importlib.import_module(package)
        for attribute in attributes:
            found = getattr(found, attribute)
        return found


def expected_outcome(known, default):
    """The outcome expected here: the table's entry for this test and subject, else `default`."""
    found = known.value(default)
    return Refusal(**found) if isinstance(found, dict) else found


def executed_steps(case) -> tuple[str | None, Exception | None, dict]:
    """Execute the case's reproducer step by step (`case.steps`, (name, code) in order) in one namespace.

    Returns the name of the step that raised and what it raised (None, None where every step ran),
    and the names the reproducer bound up to there."""
    __tracebackhide__ = True
    READ.append(case)
    lines = case.snippet().splitlines()
    line = len(lines) - sum(len(code.splitlines()) for _, code in case.steps) + 1  # the first step's, after the imports
    namespace = executed("\n".join(lines[: line - 1]), case)
    for name, code in case.steps:
        try:
            executed(code, case, namespace, first_line=line)
        except Exception as error:  # any type: the expectation says which one is right
            return name, error, namespace
        line += len(code.splitlines())
    return None, None, namespace


def described(error: Exception | None) -> str:
    """An exception as "module.Type: message" on one line, without terminal colour codes."""
    if error is None:
        return "nothing (every step returned)"
    return f"{error_type(error)}: {error_message(error)}"


def error_type(error: Exception) -> str:
    return f"{type(error).__module__}.{type(error).__qualname__}"


def error_message(error: Exception) -> str:
    """The message on one line, without terminal colour codes, cut at 400 characters."""
    return " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(error)).split())[:400]


def record_raised(verify, step: str | None, error: Exception | None) -> None:
    """Record what the steps raised, and at which step, as the test's observation "raised"."""
    found = {"error": error_type(error), "message": error_message(error), "step": step} if error else {"error": None}
    verify.record.append(("raised", found))


def check_refused(verify, refusal: Refusal, case, *, what: str) -> None:
    """The case's reproducer is refused as `refusal` says: that exception, those words, at that step."""
    __tracebackhide__ = True
    step, error, _ = executed_steps(case)
    check_raised(verify, refusal, step, error, what=what)


def check_bound(verify, refusal: Refusal, bound: dict, *, what: str, returned: str = "") -> None:
    """A refusal that the case's reproducer caught and bound as `refused` (None: nothing raised) is
    `refusal`: at its step, the one the caught code runs in."""
    __tracebackhide__ = True
    refused = bound["refused"]
    check_raised(verify, refusal, refusal.step if refused is not None else None, refused, what=what, returned=returned)


def check_raised(verify, refusal: Refusal, step: str | None, error: Exception | None, *, what: str, returned: str = "") -> None:
    """What a reproducer raised at `step` (None, None: nothing) is `refusal`; `returned` says what the
    refused call returned where nothing was raised."""
    __tracebackhide__ = True
    record_raised(verify, step, error)
    saying = f" saying {refusal.says!r}" if refusal.says else ""
    instead = f"; the call returned {returned}" if error is None and returned else ""
    verify.holds(
        isinstance(error, refusal.exception_class()) and refusal.says in str(error) and step == refusal.step,
        what=what,
        details=f"expected {refusal.error}{saying} at step {refusal.step!r}; raised {described(error)} at step {step!r}{instead}",
    )
