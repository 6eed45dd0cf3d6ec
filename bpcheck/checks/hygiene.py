"""``no_mutation`` and ``repeatable``: calls leave no trace."""

from __future__ import annotations

import numpy as np

from bpcheck._contract import Case
from bpcheck.checks._base import CheckContext, check, expect, expect_gradient_shapes, family_cases


@check(
    "no_mutation",
    claim="params, X, Y and everything else passed in are unchanged after forward and backward.",
    points=5,
    cases=family_cases,
)
def no_mutation(context: CheckContext, case: Case) -> None:
    reply = context.gradients(case)
    expect(
        not reply.mutated,
        "forward()/backward() changed their arguments in place: "
        + ", ".join(reply.mutated)
        + ". Compute into new arrays (e.g. W = W - ..., not W -= ...).",
        case=case,
    )


@check(
    "repeatable",
    claim="Calling backward again on the same inputs gives the same gradients.",
    points=5,
    cases=family_cases,
)
def repeatable(context: CheckContext, case: Case) -> None:
    first = context.gradients(case, backward_calls=2)
    expect_gradient_shapes(first, case)
    again = context.gradients(case)
    calls = {
        "the second backward() on the same cache": first.gradients[1],
        "a second forward() and backward()": again.grads,
    }
    for label, grads in calls.items():
        changed = [
            key
            for key, value in first.grads.items()
            if key not in grads
            or grads[key].shape != value.shape
            or not np.allclose(grads[key], value, rtol=1e-12, atol=0.0)
        ]
        expect(
            not changed,
            f"{label} returned different {', '.join(changed)}: state carries over between "
            "calls (a running sum, a global, or a returned array that is reused). "
            "Compute every gradient afresh on each call.",
            case=case,
            gradients=grads,
        )
