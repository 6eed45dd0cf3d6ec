"""What a check is, and the three ways its body may end other than passing.

A check is one declared unit (:class:`Check`): a stable id that grades are
keyed on, points, a one-line claim, and a body. A property-based body takes
``(context, case)`` and runs under Hypothesis; a fixed body takes
``(context)`` and runs once. Bodies talk to the student only through
:class:`~bpcheck.checks.CheckContext` and end only by returning (passed) or by
raising :class:`CheckFailure` (normally through the ``expect_*`` helpers),
:class:`CheckNotJudged` or :class:`CheckSkipped`.

Checks whose ``cases`` is :func:`family_cases` share their cases: one
Hypothesis run per family draws each case once and runs every such check on
it, each through its own ``prepare`` (see :mod:`bpcheck._family_run`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import bpcheck_reference as reference
from hypothesis import strategies as st

from bpcheck import strategies
from bpcheck._contract import Array, Case, Family
from bpcheck._memo import per_case
from bpcheck._scope import Scope
from bpcheck._sandbox.calls import Call

if TYPE_CHECKING:
    from bpcheck.checks._context import CheckContext

Status = Literal["passed", "failed", "error", "skipped", "not_judged"]


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


class CheckSkipped(Exception):
    """The check does not apply to this student or configuration; the message says why."""


class CheckNotJudged(Exception):
    """The check cannot judge its claim because another check's failure stands in
    the way (gradients of the wrong shape, say); the message names that check.
    It scores nothing and is not reported as a failure of its own."""


@per_case
def reference_forward(case: Case) -> tuple[Array, dict[str, Array]]:
    """The reference's AL and forward cache for ``case`` (computed once per
    case: do not change them)."""
    return reference.forward(case.params, case.X, case.architecture.activations)


@per_case
def reference_gradients(case: Case) -> tuple[Array, dict[str, Array]]:
    """The reference's AL and gradients for ``case`` (computed once per case: do
    not change them)."""
    AL, cache = reference_forward(case)
    architecture = case.architecture
    return AL, reference.backward(case.params, cache, case.Y, architecture.activations, architecture.loss)


# ---------------------------------------------------------------------- checks

Body = Callable[..., None]
CaseStrategy = Callable[["CheckContext"], st.SearchStrategy[Case]]
#: Derives a check's own case from a family's shared case; None: the shared
#: case cannot show what the check looks for (too shallow, a batch of one).
Prepare = Callable[[Case], "Case | None"]
#: The calls a body will make on its case, so that they go in one round trip.
Requests = Callable[["CheckContext", Case], Sequence[Call]]


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
    ``body(context)``. ``cases=family_cases`` shares the family's drawn cases
    with every other such check; ``prepare`` then derives this check's case
    from each shared one, and ``requests`` names the calls the body will make
    on it, so that they are sent together. ``per_family`` False runs it once,
    not per family. ``requires`` names optional student functions without
    which it is skipped. ``applies_within`` says whether an assignment's scope
    leaves the check a case to run; when it does not, the check is not
    applicable (worth nothing), and ``outside_scope`` says why.
    """

    id: str
    claim: str
    points: float
    body: Body = field(repr=False)
    cases: CaseStrategy | None = field(default=None, repr=False)
    per_family: bool = True
    applies_to: Callable[[Family], bool] = field(default=_every_family, repr=False)
    requires: tuple[str, ...] = ()
    prepare: Prepare | None = field(default=None, repr=False)
    requests: Requests | None = field(default=None, repr=False)
    applies_within: Callable[[Scope], bool] = field(default=_any_scope, repr=False)
    outside_scope: str = "the scope has no case for it"

    @property
    def shares_cases(self) -> bool:
        """Whether the check runs on its family's shared cases."""
        return self.cases is family_cases


def check(
    id: str,
    *,
    claim: str,
    points: float,
    cases: CaseStrategy | None = None,
    per_family: bool = True,
    applies_to: Callable[[Family], bool] = _every_family,
    requires: tuple[str, ...] = (),
    prepare: Prepare | None = None,
    requests: Requests | None = None,
    applies_within: Callable[[Scope], bool] = _any_scope,
    outside_scope: str = "the scope has no case for it",
) -> Callable[[Body], Check]:
    """Declare the decorated function as the body of a :class:`Check`."""

    def declare(body: Body) -> Check:
        return Check(
            id,
            claim,
            points,
            body,
            cases,
            per_family,
            applies_to,
            requires,
            prepare,
            requests,
            applies_within,
            outside_scope,
        )

    return declare


def family_cases(context: CheckContext) -> st.SearchStrategy[Case]:
    """Kink-free cases of the context's family (hidden layers all ``family.hidden``,
    loss ``family.loss``), or of any family in scope for a check run once,
    drawn inside ``context.assignment``: its depths, widths, output layers and
    labels; batches of 1 to 8."""
    families = (context.family,) if context.family is not None else context.scope
    scope = context.assignment
    losses = sorted({family.loss for family in families})
    return strategies.cases(
        architecture=strategies.architectures(
            hidden_activations=sorted({family.hidden for family in families}),
            losses=losses,
            output_activations=sorted({name for loss in losses for name in scope.outputs_for(loss)}),
            min_depth=scope.depths.start,
            max_depth=scope.depths.stop - 1,
            max_width=scope.max_width,
            widths=scope.widths,
            output_width=scope.output_width,
            square_hidden=scope.square_hidden,
            biases=scope.biases,
        ),
        hard_labels=scope.hard_labels,
    )


def at_least(*, depth: int = 1, batch: int = 1) -> Prepare:
    """A ``prepare`` that keeps the shared cases at least ``depth`` layers deep
    with a batch of at least ``batch``, and passes over the others."""

    def prepare(case: Case) -> Case | None:
        enough = case.architecture.depth >= depth and case.batch_size >= batch
        return case if enough else None

    return prepare
