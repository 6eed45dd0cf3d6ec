"""``regularisation``: the loss and the gradients agree on the L2 penalty (CS231n's ``reg``).

With ``reg = λ`` a course's loss adds a penalty R = Σ_K a_K ‖K‖² over the
kinds K of parameter it regularises (CS231n: ½λ‖W‖², the weights only; some
years λ‖W‖², or the weights and the biases), and its gradients must add R's
derivative 2 a_K K. Which kinds, and with which factor, is the course's
choice; that the gradients follow the loss is not. The check reads R off the
student's own losses, with λ and without, at the case's parameters and with
every bias zeroed (which leaves the weights' share of R), and compares how
the gradients change with λ against 2 a_K K, kind by kind. Every parameter
is kept away from zero: a penalty on zero biases is zero, and hides a bias
term that only one side applies.

It applies where the course's API takes λ (the scope's ``regularised``:
CS231n's nets); the translation answers :class:`RegularisedCall`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bpcheck._contract import Array, Case
from bpcheck._memo import per_case
from bpcheck._numerics import relative_error
from bpcheck._sandbox.calls import RegularisedCall, Reply
from bpcheck._student import Student
from bpcheck.checks._base import CheckFailure, CheckNotJudged, check, family_cases
from bpcheck.checks._context import CheckContext
from bpcheck.checks._precision import precision_of

#: The L2 strength λ the check asks for.
REG = 0.5
#: Every parameter is moved at least this far from zero.
FLOOR = 0.25
#: The kinds of parameter, in words.
KINDS = {"W": "weights", "b": "biases"}
#: The mistakes a kind's gradient term can make against its loss term.
MISSING = "regularisation_gradient_missing"
DOUBLED = "regularisation_gradient_doubled"
UNMATCHED = "regularisation_gradient_unmatched"


@per_case
def with_nonzero_parameters(case: Case) -> Case:
    """``case`` with every weight and bias at least :data:`FLOOR` from zero."""
    return case.with_params(
        {name: value + np.where(value < 0, -FLOOR, FLOOR) for name, value in case.params.items()}
    )


@per_case
def regularised_calls(case: Case) -> tuple[RegularisedCall, ...]:
    """The student's loss and gradients with λ and without, at the case's
    parameters, then with every bias zeroed (the same objects each time; a
    network without biases has only the first two)."""
    architecture = case.architecture
    zeroed = {name: value if name.startswith("W") else np.zeros_like(value) for name, value in case.params.items()}
    return tuple(
        RegularisedCall(params, case.X, case.Y, architecture.activations, architecture.loss, reg)
        for params in ((case.params, zeroed) if architecture.biases else (case.params,))
        for reg in (REG, 0.0)
    )


@dataclass(frozen=True)
class Penalty:
    """The L2 terms of one case, per kind of parameter ("W", and "b" where the
    network has biases: the keys of ``coefficient``): the loss's
    coefficient a_K (its penalty is Σ a_K ‖K‖²), and per parameter how the
    gradients change with λ (``got``), how they should (2 a_K K,
    ``expected``) and the size of a plain L2 term, λ·K (``unit``)."""

    coefficient: dict[str, float]
    got: dict[str, Array]
    expected: dict[str, Array]
    unit: dict[str, Array]
    tolerance: float

    def _stacked(self, values: dict[str, Array], kind: str, factor: float = 1.0) -> Array:
        return np.concatenate([factor * values[name].ravel() for name in sorted(values) if name[0] == kind])

    def close(self, kind: str, factor: float) -> bool:
        """Whether the gradients' change is ``factor`` × the expected one, within the tolerance."""
        got, expected = self._stacked(self.got, kind), self._stacked(self.expected, kind, factor)
        scale = float(np.linalg.norm(expected) + np.linalg.norm(self._stacked(self.unit, kind)))
        return float(np.linalg.norm(got - expected)) <= self.tolerance * scale

    def in_loss(self, kind: str) -> bool:
        """Whether the loss penalises ``kind`` at all."""
        return abs(self.coefficient[kind]) > self.tolerance * REG

    def mistake(self, kind: str) -> str | None:
        """The named mistake of ``kind``'s gradient term (None: it agrees, or no name fits)."""
        if self.close(kind, 1.0):
            return None
        if not self.in_loss(kind):
            return UNMATCHED
        if self.close(kind, 0.0):
            return MISSING
        return DOUBLED if self.close(kind, 2.0) else None

    def describe(self, kind: str) -> str:
        """What ``kind``'s terms are, in numbers, for a failure or a diagnosis."""
        words = KINDS[kind]
        if not self.in_loss(kind):
            changed = float(np.linalg.norm(self._stacked(self.got, kind)))
            return (
                f"with reg = {REG:g} your loss adds nothing for the {words}, yet your gradients of "
                f"them change (by {changed:.3g} in norm)"
            )
        a = self.coefficient[kind]
        return (
            f"with reg = {REG:g} your loss adds {a / REG:.3g}·reg·‖{kind}‖² for the {words}, whose "
            f"derivative is {2 * a / REG:.3g}·reg·{kind}; your gradients of them change by "
            + self._change(kind)
        )

    def _change(self, kind: str) -> str:
        """How the gradients of ``kind`` change, against the derivative the loss calls for."""
        if self.close(kind, 0.0):
            return "nothing"
        got, expected = self._stacked(self.got, kind), self._stacked(self.expected, kind)
        multiple = float(got @ expected / (expected @ expected))
        if self.close(kind, multiple):
            return f"{multiple:.3g} × that"
        return f"something else (relative error {relative_error(got, expected):.3g})"


def penalty_of(case: Case, replies: Sequence[Reply], grads: Sequence[dict[str, Array]]) -> Penalty:
    """The :class:`Penalty` of ``case`` from the replies to :func:`regularised_calls`
    and their gradients (the contract's keys, checked)."""
    losses = [float(reply.loss) for reply in replies]  # type: ignore[arg-type]
    params = case.params
    squares = {kind: sum(float(np.sum(v * v)) for n, v in params.items() if n[0] == kind) for kind in KINDS}
    total = losses[0] - losses[1]
    if not case.architecture.biases:
        coefficient = {"W": total / squares["W"]}
    else:
        weights = losses[2] - losses[3]
        coefficient = {"W": weights / squares["W"], "b": (total - weights) / squares["b"]}
    return Penalty(
        coefficient,
        got={name: grads[0][f"d{name}"] - grads[1][f"d{name}"] for name in params},
        expected={name: 2 * coefficient[name[0]] * value for name, value in params.items()},
        unit={name: REG * value for name, value in params.items()},
        tolerance=precision_of(*grads[0].values()).finite,
    )


def measure(student: Student, case: Case) -> Penalty | None:
    """The :class:`Penalty` of ``case``, asked of ``student`` afresh (for a
    diagnosis); None when a call fails or a gradient breaks the contract."""
    replies = student.call_many(list(regularised_calls(case)))
    shapes = case.architecture.parameter_shapes()
    for reply in replies:
        if reply.error is not None or reply.loss is None or not np.isfinite(reply.loss):
            return None
    for reply in replies[:2]:
        for name, shape in shapes.items():
            value = reply.grads.get(f"d{name}")
            if value is None or value.shape != shape or value.dtype.kind != "f":
                return None
    return penalty_of(case, replies, [reply.grads for reply in replies[:2]])


def _requests(context: CheckContext, case: Case) -> Sequence[RegularisedCall]:
    return regularised_calls(case)


@check(
    "regularisation",
    claim="With an L2 strength reg, the gradients change by the derivative of the penalty the "
    "loss adds: on the weights, and on the biases exactly where the loss penalises them "
    "(checked with nonzero biases).",
    points=10,
    cases=family_cases,
    per_family=False,
    requires=("regularised",),
    prepare=with_nonzero_parameters,
    requests=_requests,
    applies_within=lambda scope: scope.regularised,
    outside_scope="the course's API takes no L2 strength (reg)",
)
def regularisation(context: CheckContext, case: Case) -> None:
    replies = [context.call(call, case) for call in regularised_calls(case)]
    try:
        grads = [context.usable_gradients(reply, case) for reply in replies[:2]]
    except CheckNotJudged:  # gradient_shapes judged the call without reg, not these
        raise CheckFailure(
            "the gradients your loss returns with an L2 strength reg (with reg = 0 and with "
            f"reg = {REG:g}) break the contract: each must be present, a finite floating-point "
            "numpy array, and exactly its parameter's shape",
            case=case,
        ) from None
    penalty = penalty_of(case, replies, grads)
    kinds = list(penalty.coefficient)
    if not any(penalty.in_loss(kind) or not penalty.close(kind, 0.0) for kind in kinds):
        raise CheckFailure(
            f"with reg = {REG:g} neither your loss nor your gradients change: the L2 penalty "
            "(the course's ½·reg·Σ‖W‖², added to the loss, and reg·W added to each dW) is missing",
            case=case,
        )
    wrong = [kind for kind in kinds if not penalty.close(kind, 1.0)]
    if wrong:
        raise CheckFailure(
            "your gradients do not follow your loss's L2 penalty: "
            + "; ".join(penalty.describe(kind) for kind in wrong)
            + f" (tolerance {penalty.tolerance:g}). The gradient of a penalty a·‖K‖² is 2a·K, "
            "added exactly where the loss adds the penalty.",
            case=case,
        )
