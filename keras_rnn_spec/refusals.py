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


@dataclass(frozen=True)
class Refusal:
    """How an input is refused: the exception, a stable part of its message, the step that raises."""

    error: str  # dotted name, imported when checked: "builtins.ValueError", "tensorflow.errors.InvalidArgumentError"
    says: str
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


def run_steps(steps) -> tuple[str | None, Exception | None, object]:
    """Run the (name, step) pairs in order, each step given the previous one's result.

    Returns the name of the step that raised and what it raised, or (None, None, last result).
    """
    result = None
    for name, step in steps:
        try:
            result = step(result)
        except Exception as error:  # any type: the expectation says which one is right
            return name, error, None
    return None, None, result


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


def raised_by(action) -> str:
    """What calling `action()` raised, as "Type: message", or "nothing"."""
    try:
        action()
    except Exception as error:  # any type: the claim says which one it expects
        return f"{type(error).__name__}: {error}"
    return "nothing"


def check_refused(verify, refusal: Refusal, steps, *, what: str) -> None:
    """The steps are refused as `refusal` says: that exception, those words, at that step."""
    __tracebackhide__ = True
    step, error, _ = run_steps(steps)
    record_raised(verify, step, error)
    verify.holds(
        isinstance(error, refusal.exception_class()) and refusal.says in str(error) and step == refusal.step,
        what=what,
        details=f"expected {refusal.error} saying {refusal.says!r} at step {refusal.step!r}; "
        f"raised {described(error)} at step {step!r}",
    )
