"""``forward``: the forward pass, and the optional loss, match the reference."""

from __future__ import annotations

from collections.abc import Sequence

import bpcheck_reference as reference

from bpcheck._contract import Array, Case
from bpcheck._memo import per_case
from bpcheck._sandbox.calls import Call, LossCall
from bpcheck.checks._base import check, family_cases
from bpcheck.checks._context import CheckContext, shared_call
from bpcheck.checks._expect import expect_close
from bpcheck.checks._precision import Precision, reference_AL


@per_case
def _loss_call(case: Case) -> LossCall:
    """``compute_loss`` of the reference's AL for ``case``."""
    return LossCall(reference_AL(case), case.Y, case.architecture.loss)


def _requests(context: CheckContext, case: Case) -> Sequence[Call]:
    optional = context.student.api.optional
    return [shared_call(case)] + ([_loss_call(case)] if "compute_loss" in optional else [])


def _student_AL(context: CheckContext, case: Case) -> tuple[Array, Precision]:
    """AL from the reply the case's checks share and the precision it shows, or,
    when backward failed there, from forward alone: this check judges the
    forward pass only."""
    shared = context.reply(shared_call(case))
    if shared.error is None and shared.AL is not None:
        return shared.AL, context.judge(shared, case)
    AL = context.forward(case)
    return AL, context.judge_arrays(AL, case=case)


@check(
    "forward",
    claim="AL matches the reference; compute_loss, when present, matches the reference loss.",
    points=10,
    cases=family_cases,
    requests=_requests,
)
def forward(context: CheckContext, case: Case) -> None:
    AL, precision = _student_AL(context, case)
    expected = reference_AL(case)
    expect_close("AL returned by forward()", AL, expected, precision.exact, case)
    if "compute_loss" in context.student.api.optional:
        loss = case.architecture.loss
        reply = context.call_optional(_loss_call(case), case)
        if reply is None or reply.loss is None:
            return
        expect_close(
            f"compute_loss(AL, Y, {loss!r})",
            reply.loss,
            reference.compute_loss(expected, case.Y, loss),
            precision.exact,
            case,
        )
