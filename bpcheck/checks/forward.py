"""``forward``: the forward pass, and the optional loss, match the reference."""

from __future__ import annotations

import bpcheck_reference as reference
from bpcheck._sandbox.calls import LossCall
from bpcheck._contract import Case
from bpcheck.checks._base import CheckContext, check, expect_close, family_cases


@check(
    "forward",
    claim="AL matches the reference; compute_loss, when present, matches the reference loss.",
    points=10,
    cases=family_cases,
)
def forward(context: CheckContext, case: Case) -> None:
    AL = context.forward(case)
    expected, _ = reference.forward(case.params, case.X, case.architecture.activations)
    precision = context.judge(AL)
    expect_close("AL returned by forward()", AL, expected, precision.exact, case)
    if "compute_loss" in context.student.api.optional:
        loss = case.architecture.loss
        reply = context.call_optional(LossCall(expected, case.Y, loss), case)
        if reply is None or reply.loss is None:
            return
        expect_close(
            f"compute_loss(AL, Y, {loss!r})",
            reply.loss,
            reference.compute_loss(expected, case.Y, loss),
            precision.exact,
            case,
        )
