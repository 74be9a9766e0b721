"""Assertions that explain themselves.

A failure names the claim (the test's docstring), the layer and configuration, shows expected
against observed (shapes, largest absolute difference and where), and prints Keras code that
reproduces the observation. Each comparison is also recorded on the test's `user_properties`, so
reports can show what was observed in passing runs too.
"""

import textwrap
from dataclasses import dataclass, field, replace

import numpy as np

from keras_rnn_spec.catalogue import reference_outputs
from keras_rnn_spec.observe import WEIGHT_SCALE, Case, Dims

FLOAT32_EPS = float(np.finfo(np.float32).eps)  # 2**-23


def reference_tolerance(dims: Dims) -> float:
    """Absolute tolerance of a float32 layer against the float64 reference.

    Each step's pre-activations are sums of (features + units + 1) float32 products, each rounded
    with relative error up to eps; with inputs ~N(0, 1) and weights in (-0.5, 0.5) they stay of
    order one, and the activations (tanh, sigmoid: derivatives <= 1) do not amplify the error. A
    step's error therefore stays below (features + units + 1) * eps, and over T steps the carried
    state adds at most that much per step. Four times that bound leaves room for the activation
    functions' own last-ulp rounding. (Observed on the notes' sizes: under 2e-7, against 4e-5.)
    """
    return 4 * dims.timesteps * (dims.features + dims.units + 1) * FLOAT32_EPS


def same_function_tolerance(dims: Dims) -> float:
    """Absolute tolerance between two float32 evaluations of the same equations: each is within
    reference_tolerance of the exact value, so they differ by at most twice that. Not exact: two
    evaluations may sum in another order (implementation=1 adds the bias before the recurrent
    product, 2 after: observed up to 1.2e-7 apart for LSTM), and on a GPU the default layer may run
    a fused cuDNN kernel that RNN(cell) and unroll=True never do (on this CPU those agree exactly)."""
    return 2 * reference_tolerance(dims)


def chained_tolerance(chain: list[Dims]) -> float:
    """Absolute tolerance, against the float64 reference, of recurrent layers (or cells) in a chain,
    each reading the sequence of the one before, at the sizes `chain` gives in order.

    Each rounds as it would alone (reference_tolerance of its sizes). It also takes the previous
    one's output as input, already off by that one's tolerance; through weights below WEIGHT_SCALE
    in magnitude that error enters each step's pre-activations scaled by at most (its input width)
    * WEIGHT_SCALE, and like its own rounding it is carried over the T steps."""
    tolerance = 0.0
    for dims in chain:
        tolerance = reference_tolerance(dims) + dims.timesteps * dims.features * WEIGHT_SCALE * tolerance
    return tolerance


@dataclass
class Verify:
    claim: str
    case: Case | None = None
    record: list = field(default_factory=list)  # the test's user_properties

    def about(self, case: Case) -> "Verify":
        """The same claim, checked on another case (for messages and records)."""
        return replace(self, case=case)

    def equal(self, observed, expected, *, what: str, atol: float = 0.0, why: str = "") -> None:
        """observed == expected elementwise: exactly when atol is 0, else within atol (reason: why)."""
        __tracebackhide__ = True
        observed, expected = np.asarray(observed), np.asarray(expected)
        if observed.shape != expected.shape:
            self.fail(what, f"shapes differ: observed {observed.shape}, expected {expected.shape}")
        difference = np.abs(observed.astype(np.float64) - expected.astype(np.float64))
        worst = float(difference.max()) if difference.size else 0.0
        self.record.append((what, {"shape": list(observed.shape), "max_abs_difference": worst}))
        if worst > atol or not np.all(np.isfinite(observed)):
            where = np.unravel_index(int(np.argmax(difference)), difference.shape)
            bound = "exact equality" if atol == 0 else f"tolerance {atol:.3g} ({why})"
            self.fail(
                what,
                f"shape {observed.shape}; max |observed - expected| = {worst:.6g} at index "
                f"{tuple(int(i) for i in where)}: observed {float(observed[where]):.8g}, expected "
                f"{float(expected[where]):.8g}; allowed: {bound}",
            )

    def each_equal(
        self, observed: list, expected: list, *, names: list[str], what: str, atol: float = 0.0, why: str = ""
    ) -> None:
        """As many tensors observed as expected, each equal to the expected one in its place (see
        `equal`); `what` names the pair through "{name}", from `names` (labels; "tensor k" past them)."""
        __tracebackhide__ = True
        if len(observed) != len(expected):
            self.fail(
                what.replace("{name}", "each tensor"),
                f"{len(observed)} tensors observed, {len(expected)} expected ({', '.join(names[: len(expected)])})",
            )
        labels = [*names, *(f"tensor {k}" for k in range(len(names), len(expected)))]
        for name, got, want in zip(labels, observed, expected):
            self.equal(got, want, what=what.replace("{name}", name), atol=atol, why=why)

    def match_reference(
        self, observed: list, expected: list, *, names: list[str], dims: Dims, what: str = "{name} against the reference"
    ) -> None:
        """Each tensor within float32 rounding of the float64 reference's (reference_tolerance(dims))."""
        __tracebackhide__ = True
        atol = reference_tolerance(dims)
        self.each_equal(observed, expected, names=names, what=what, atol=atol, why="float32 rounding over T steps")

    def matches_its_reference(self, case, outputs: list, weights, inputs, *, where: str = "") -> None:
        """Every tensor the case returned matches its layer's float64 reference run on `weights` and
        `inputs`: as many tensors, each within float32 rounding over the steps run (shape included)."""
        __tracebackhide__ = True
        names, expected = reference_outputs(case, weights, inputs)
        self.count(outputs, expected, names=names, what=f"number of returned tensors{where}")
        dims = replace(case.dims, timesteps=np.shape(inputs)[1])
        self.match_reference(outputs, expected, names=names, dims=dims, what="{name}" + f"{where} against the reference")

    def count(
        self, observed: list, expected: list, *, names: list[str], what: str = "number of returned tensors"
    ) -> None:
        """As many tensors returned as the reference has; `names` are the reference's, for the message."""
        __tracebackhide__ = True
        self.holds(
            len(observed) == len(expected),
            what=what,
            details=f"{len(observed)} returned, the reference has {len(expected)} ({', '.join(names)})",
        )

    def differ(self, first, second, *, what: str, at_least: float) -> None:
        """first and second are not the same numbers: they differ somewhere by at_least."""
        __tracebackhide__ = True
        worst = float(np.abs(np.asarray(first, np.float64) - np.asarray(second, np.float64)).max())
        self.record.append((what, {"max_abs_difference": worst}))
        if worst < at_least:
            self.fail(what, f"max |difference| = {worst:.6g}, expected at least {at_least:.3g}")

    def structure(self, observed: list, expected: list[tuple], *, names: list[str]) -> None:
        """The returned tensors are len(expected) arrays with the expected shapes, in that order."""
        __tracebackhide__ = True
        shapes = [tuple(np.shape(item)) for item in observed]
        self.record.append(("returned structure", {"names": names, "shapes": [list(s) for s in shapes]}))
        if shapes != list(expected):
            self.fail(
                "returned structure",
                f"observed {len(shapes)} tensors with shapes {shapes}; "
                f"expected {len(expected)} ({', '.join(names)}) with shapes {list(expected)}",
            )

    def holds(self, condition: bool, *, what: str, details: str) -> None:
        """A condition that has no better-suited helper; details say what was seen."""
        __tracebackhide__ = True
        self.record.append((what, {"holds": bool(condition)}))
        if not condition:
            self.fail(what, details)

    def fail(self, what: str, details: str):
        __tracebackhide__ = True
        lines = [f"Claim:    {self.claim}"]
        if self.case is not None:
            lines.append(f"Case:     {self.case.describe()}")
        lines += [f"Compared: {what}", f"Observed: {details}"]
        if self.case is not None:
            lines += ["Reproduce:", textwrap.indent(self.case.snippet(), "    ")]
        raise AssertionError("\n".join(lines))
