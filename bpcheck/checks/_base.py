"""What a check is, what it may call, and the ``expect_*`` helpers it fails through.

A check is one declared unit (:class:`Check`): a stable id that grades are
keyed on, points, a one-line claim, and a body. A property-based body takes
``(context, case)`` and runs under Hypothesis with cases from its ``cases``
strategy; a fixed body takes ``(context)`` and runs once. Bodies talk to the
student only through :class:`CheckContext` and fail only by raising
:class:`CheckFailure`, normally through the ``expect_*`` helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from hypothesis import strategies as st

import bpcheck_reference as reference
from bpcheck._sandbox.calls import ForwardCall, GradientCall, ProbeCall, Reply, StudentError
from bpcheck._contract import Array, Case, Family, gradient_name
from bpcheck._numerics import (
    CENTRAL,
    FOURTH_ORDER,
    NOISE_SAFETY,
    Stencil,
    finite_difference_noise,
    finite_difference_probes,
    finite_differences,
    loss_round_off,
    NORM_FLOOR,
    relative_error,
)
from bpcheck._scope import Scope
from bpcheck._student import Student
from bpcheck import strategies

Status = Literal["passed", "failed", "error", "skipped"]


@dataclass(frozen=True)
class Precision:
    """How strictly a student's numbers are judged, by the precision they computed in.

    ``exact`` bounds the relative error against the reference, ``finite`` the
    relative error against finite differences taken with ``stencil`` and step
    ``epsilon``. The float64 figures are the lesson's (central differences,
    1e-6 for ε = 1e-5); float32 "only reaches about 1e-3", and its round-off
    needs a larger step, which the fourth-order stencil keeps accurate.
    """

    name: str
    exact: float
    finite: float
    epsilon: float
    stencil: Stencil
    unit_roundoff: float
    norm_floor: float


FLOAT64 = Precision(
    "float64", 1e-7, 1e-6, 1e-5, CENTRAL, float(np.finfo(np.float64).eps), NORM_FLOOR
)
# Float32 derivatives of saturated units (1 − tanh² near 1) lose most of their
# digits, so gradients under 1e-2 in norm are compared absolutely.
FLOAT32 = Precision(
    "float32", 1e-3, 1e-3, 1e-2, FOURTH_ORDER, float(np.finfo(np.float32).eps), 1e-2
)


def precision_of(*arrays: Array) -> Precision:
    """FLOAT32 when any array is in a float type narrower than float64."""
    low = any(
        np.issubdtype(array.dtype, np.floating) and np.finfo(array.dtype).bits < 64
        for array in arrays
    )
    return FLOAT32 if low else FLOAT64


class CheckFailure(Exception):
    """A check found the student's code wrong.

    ``status`` is "failed" for a wrong result and "error" when the student's
    code raised or broke the contract. ``case`` is the counterexample and
    ``gradients`` what the student returned for it, when there was one;
    ``traceback`` is the student's own.
    """

    def __init__(
        self,
        message: str,
        *,
        case: Case | None = None,
        gradients: Mapping[str, Array] | None = None,
        status: Status = "failed",
        traceback: str = "",
        notes: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.case = case
        self.gradients = dict(gradients) if gradients is not None else None
        self.status = status
        self.traceback = traceback
        self.notes = notes


@dataclass
class CheckContext:
    """The student, the family under test, and the calls a check body may make.

    ``scope`` lists every family the run covers (the assignment's activations
    and losses); ``assignment`` is the whole scope the networks are drawn
    from (depth, widths, labels). ``notes`` collects remarks for the report,
    e.g. that results were judged at float32 tolerance.
    """

    student: Student
    family: Family | None
    scope: tuple[Family, ...]
    assignment: Scope = field(default_factory=Scope)
    notes: set[str] = field(default_factory=set)

    def judge(self, *arrays: Array) -> Precision:
        """The precision to judge ``arrays`` at, noting it in the report when lowered."""
        precision = precision_of(*arrays)
        if precision is FLOAT32:
            self.notes.add(
                "Your code computes in float32, so results were judged at the float32 "
                f"tolerance {FLOAT32.exact:g} (float64 code is held to {FLOAT64.exact:g})."
            )
        return precision

    def call(self, request: Any, case: Case | None) -> Reply:
        """Send ``request``; raise a CheckFailure with the student's traceback if it failed."""
        reply = self.student.call(request)
        if reply.error is not None:
            raise student_error_failure(reply.error, case)
        return reply

    def call_optional(self, request: Any, case: Case) -> Reply | None:
        """Like :meth:`call` for an optional function; None while it still raises
        NotImplementedError, as the starter template's do."""
        reply = self.student.call(request)
        if reply.error is not None and reply.error.exception == "NotImplementedError":
            return None
        if reply.error is not None:
            raise student_error_failure(reply.error, case)
        return reply

    def gradients(self, case: Case, backward_calls: int = 1) -> Reply:
        """The student's forward then backward on ``case``."""
        architecture = case.architecture
        return self.call(
            GradientCall(
                case.params,
                case.X,
                case.Y,
                architecture.activations,
                architecture.loss,
                backward_calls,
            ),
            case,
        )

    def forward(self, case: Case) -> Array:
        """The student's AL for ``case``."""
        reply = self.call(ForwardCall(case.params, case.X, case.architecture.activations), case)
        assert reply.AL is not None
        return reply.AL

    def finite_differences(self, case: Case, precision: Precision) -> FiniteDifferences:
        """Finite differences of (reference loss ∘ the student's forward)."""
        probes = finite_difference_probes(case.params, precision.stencil, precision.epsilon)
        reply = self.call(
            ProbeCall(case.params, case.X, case.architecture.activations, probes), case
        )
        assert reply.probes is not None
        loss = case.architecture.loss
        # Outputs saturated to exactly 0 or 1 make the loss infinite: no estimate there.
        with np.errstate(all="ignore"):
            losses = np.array([reference.compute_loss(AL, case.Y, loss) for AL in reply.probes])
            estimates = finite_differences(
                case.params, losses, precision.stencil, precision.epsilon
            )
            # np.max, unlike max(), lets a NaN through: then nothing can be judged.
            loss_noise = float(
                np.max(
                    [
                        loss_round_off(
                            value, AL, reference.loss_gradient(AL, case.Y, loss), precision.unit_roundoff
                        )
                        for value, AL in zip(losses, reply.probes, strict=True)
                    ],
                    initial=0.0,
                )
            )
        floors = {
            key: NOISE_SAFETY
            * finite_difference_noise(loss_noise, value.size, precision.stencil, precision.epsilon)
            / precision.finite
            for key, value in estimates.items()
        }
        return FiniteDifferences(estimates, floors, precision)


@dataclass(frozen=True)
class FiniteDifferences:
    """Finite-difference gradients, with the norm below which each is compared
    absolutely because round-off would swamp a relative error."""

    gradients: dict[str, Array]
    floors: dict[str, float]
    precision: Precision

    def is_finite(self, key: str) -> bool:
        """Whether the estimate for ``key`` can judge anything: finite, with a finite floor."""
        return bool(np.all(np.isfinite(self.gradients[key]))) and np.isfinite(self.floors[key])

    def judgeable(self) -> dict[str, Array]:
        """The estimates that :meth:`is_finite`."""
        return {key: value for key, value in self.gradients.items() if self.is_finite(key)}

    def relative_error(self, key: str, got: Array) -> float:
        return relative_error(got, self.gradients[key], max(self.floors[key], NORM_FLOOR))

    def describe(self) -> str:
        return f"{self.precision.stencil.name}s of your own forward (ε = {self.precision.epsilon:g})"


def student_error_failure(error: StudentError, case: Case | None) -> CheckFailure:
    return CheckFailure(error.summary, case=case, status="error", traceback=error.traceback)


def reference_gradients(case: Case) -> tuple[Array, dict[str, Array]]:
    """The reference's AL and gradients for ``case``."""
    activations = case.architecture.activations
    AL, cache = reference.forward(case.params, case.X, activations)
    return AL, reference.backward(case.params, cache, case.Y, activations, case.architecture.loss)


# ---------------------------------------------------------------------- checks

Body = Callable[..., None]
CaseStrategy = Callable[["CheckContext"], st.SearchStrategy[Case]]


def _every_family(family: Family) -> bool:
    return True


def _any_scope(scope: Scope) -> bool:
    return True


@dataclass(frozen=True)
class Check:
    """One declared check.

    ``id`` is stable: grades and reports are keyed on it. ``points`` are split
    evenly across the families the check applies to. With ``cases`` the body is
    property-based, ``body(context, case)``; without, it runs once as
    ``body(context)``. ``per_family`` False runs it once, not per family.
    ``requires`` names optional student functions without which it is skipped.
    ``applies_within`` says whether an assignment's scope leaves the check a
    case to run; when it does not, the check is not applicable (worth nothing).
    """

    id: str
    claim: str
    points: float
    body: Body = field(repr=False)
    cases: CaseStrategy | None = field(default=None, repr=False)
    per_family: bool = True
    applies_to: Callable[[Family], bool] = field(default=_every_family, repr=False)
    requires: tuple[str, ...] = ()
    applies_within: Callable[[Scope], bool] = field(default=_any_scope, repr=False)


def check(
    id: str,
    *,
    claim: str,
    points: float,
    cases: CaseStrategy | None = None,
    per_family: bool = True,
    applies_to: Callable[[Family], bool] = _every_family,
    requires: tuple[str, ...] = (),
    applies_within: Callable[[Scope], bool] = _any_scope,
) -> Callable[[Body], Check]:
    """Declare the decorated function as the body of a :class:`Check`."""

    def declare(body: Body) -> Check:
        return Check(id, claim, points, body, cases, per_family, applies_to, requires, applies_within)

    return declare


# ------------------------------------------------------------------- expect_*


def expect(condition: bool, message: str, **failure: Any) -> None:
    """Fail with ``message`` (and CheckFailure keyword arguments) unless ``condition``."""
    if not condition:
        raise CheckFailure(message, **failure)


def expect_gradient_shapes(reply: Reply, case: Case) -> None:
    """Every dWℓ and dbℓ is present, a finite numpy array, and exactly its parameter's shape."""
    problems = []
    for name, shape in case.architecture.parameter_shapes().items():
        key = gradient_name(name)
        if key not in reply.grads:
            problems.append(f"{key} is missing")
            continue
        got = reply.grads[key]
        if key in reply.returned_types:
            problems.append(f"{key} is a {reply.returned_types[key]}, not a numpy array")
        elif got.shape != shape:
            problems.append(f"{key} has shape {got.shape}; {name} has shape {shape}")
        elif not np.all(np.isfinite(got)):
            problems.append(f"{key} contains {_nonfinite(got)}")
    expect(
        not problems,
        "backward() returned gradients that break the contract:\n- " + "\n- ".join(problems),
        case=case,
        gradients=reply.grads,
    )


def _nonfinite(array: Array) -> str:
    kinds = [name for name, mask in (("nan", np.isnan(array)), ("inf", np.isinf(array))) if mask.any()]
    return " and ".join(kinds)


def expect_finite(what: str, value: Array, case: Case, **failure: Any) -> None:
    expect(
        bool(np.all(np.isfinite(value))),
        f"{what} contains {_nonfinite(np.asarray(value))}",
        case=case,
        **failure,
    )


def expect_close(
    what: str, got: Array | float, expected: Array | float, tolerance: float, case: Case
) -> None:
    """``got`` has ``expected``'s shape and is within ``tolerance`` relative error."""
    got, expected = np.asarray(got), np.asarray(expected)
    expect(
        got.shape == expected.shape,
        f"{what} has shape {got.shape}; expected {expected.shape}",
        case=case,
    )
    expect_finite(what, got, case)
    error = relative_error(got, expected)
    expect(
        error <= tolerance,
        f"{what} is off: relative error {error:.3g} against the reference "
        f"(tolerance {tolerance:g})",
        case=case,
    )


def expect_gradients_match(
    got: Mapping[str, Array],
    expected: Mapping[str, Array],
    tolerance: float,
    case: Case,
    against: str,
    notes: tuple[str, ...] = (),
    error: Callable[[str, Array], float] | None = None,
    floor: float = NORM_FLOOR,
) -> None:
    """Every expected gradient is matched within ``tolerance`` relative error
    (computed by ``error(key, got)`` when given, else :func:`relative_error`
    with ``floor``)."""
    measure = error or (lambda key, value: relative_error(value, expected[key], floor))
    errors = {
        key: measure(key, got[key])
        for key, value in expected.items()
        if key in got and got[key].shape == value.shape
    }
    wrong = [key for key, value in expected.items() if key not in errors or errors[key] > tolerance]
    described = [
        f"{key}: relative error {errors[key]:.3g}" if key in errors else f"{key}: missing or misshapen"
        for key in wrong
    ]
    expect(
        not wrong,
        f"gradients disagree with {against} (tolerance {tolerance:g}): " + "; ".join(described),
        case=case,
        gradients=got,
        notes=notes,
    )


class CheckSkipped(Exception):
    """The check does not apply to this student or configuration; the message says why."""


def family_cases(
    context: CheckContext,
    *,
    min_depth: int = 1,
    min_batch: int = 1,
) -> st.SearchStrategy[Case]:
    """Kink-free cases of the context's family (hidden layers all ``family.hidden``,
    loss ``family.loss``), or of any family in scope for a check run once,
    drawn inside ``context.assignment``: its depths (at least ``min_depth``),
    widths, output layers and labels; batches of ``min_batch`` to 8."""
    families = (context.family,) if context.family is not None else context.scope
    scope = context.assignment
    losses = sorted({family.loss for family in families})
    return strategies.cases(
        architecture=strategies.architectures(
            hidden_activations=sorted({family.hidden for family in families}),
            losses=losses,
            output_activations=sorted({name for loss in losses for name in scope.outputs_for(loss)}),
            min_depth=max(min_depth, scope.depths.start),
            max_depth=scope.depths.stop - 1,
            max_width=scope.max_width,
            widths=scope.widths,
            output_width=scope.output_width,
            square_hidden=scope.square_hidden,
        ),
        batch_size=strategies.batch_sizes(min_size=min_batch),
        hard_labels=scope.hard_labels,
    )
