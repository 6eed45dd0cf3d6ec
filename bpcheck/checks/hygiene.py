"""``no_mutation`` and ``repeatable``: calls leave no trace."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bpcheck._contract import Case
from bpcheck._sandbox.calls import Call
from bpcheck.checks._base import check, family_cases
from bpcheck.checks._context import CheckContext, gradient_call, shared_call
from bpcheck.checks._expect import expect


@check(
    "no_mutation",
    claim="params, X, Y and everything else passed in are unchanged after forward and backward.",
    points=5,
    cases=family_cases,
    requests=lambda context, case: [shared_call(case)],
)
def no_mutation(context: CheckContext, case: Case) -> None:
    reply = context.shared(case)
    expect(
        not reply.mutated,
        "forward()/backward() changed their arguments in place: "
        + ", ".join(reply.mutated)
        + ". Compute into new arrays (e.g. W = W - ..., not W -= ...).",
        case=case,
    )


def _same(again: np.ndarray | None, first: np.ndarray) -> bool:
    """``again`` holds ``first``'s values, to 1e-12 relative (the same code on the
    same inputs may sum in another order, never differ by more)."""
    if again is None or again.shape != first.shape:
        return False
    with np.errstate(all="ignore"):
        return bool(np.all(np.abs(again - first) <= 1e-12 * np.abs(first)))


def _twice(context: CheckContext, case: Case) -> Sequence[Call]:
    return [shared_call(case), gradient_call(case, backward_calls=2)]


@check(
    "repeatable",
    claim="Calling backward again on the same inputs gives the same gradients.",
    points=5,
    cases=family_cases,
    requests=_twice,
)
def repeatable(context: CheckContext, case: Case) -> None:
    first = context.shared(case)
    grads = context.usable_gradients(first, case)
    twice = context.gradients(case, backward_calls=2)
    calls = {
        "a second forward() and backward()": twice.gradients[0],
        "the second backward() on the same cache": twice.gradients[1],
    }
    for label, other in calls.items():
        changed = [key for key, value in grads.items() if not _same(other.get(key), value)]
        expect(
            not changed,
            f"{label} returned different {', '.join(changed)}: state carries over between "
            "calls (a running sum, a global, or a returned array that is reused). "
            "Compute every gradient afresh on each call.",
            case=case,
            gradients=other,
        )
