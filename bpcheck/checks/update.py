"""``update``: the optional gradient-descent step.

Worth 0 points unless a course's rubric gives it some (``[points] update = 5``):
then it is required, and a module without a working ``update`` scores 0 of
them; at 0 points it still runs when present and reports what is wrong, and
is not applicable when absent (see :meth:`bpcheck._outcome.Outcome.finish`).
"""

from __future__ import annotations

from bpcheck._contract import Case
from bpcheck._sandbox.calls import UpdateCall
from bpcheck.checks._base import CheckSkipped, check, family_cases, reference_gradients
from bpcheck.checks._context import CheckContext
from bpcheck.checks._expect import expect, expect_close

LEARNING_RATE = 0.1


def update_call(case: Case) -> UpdateCall:
    """``update`` applied to the reference's gradients for ``case``."""
    return UpdateCall(case.params, reference_gradients(case)[1], LEARNING_RATE)


@check(
    "update",
    claim="update(params, grads, η) returns new W − η·dW and b − η·db, leaving its inputs alone.",
    points=0,
    cases=family_cases,
    per_family=False,
    requires=("update",),
    requests=lambda context, case: [update_call(case)],
)
def update(context: CheckContext, case: Case) -> None:
    call = update_call(case)
    grads = call.grads
    reply = context.call_optional(call, case)
    if reply is None:
        raise CheckSkipped("update() is not implemented yet (it raises NotImplementedError)")
    assert reply.params is not None
    expect(
        not reply.mutated,
        "update() changed its arguments in place: "
        + ", ".join(reply.mutated)
        + ". Return new arrays (W - learning_rate * dW), so the caller's params survive.",
        case=case,
    )
    missing = sorted(set(case.params) - set(reply.params))
    expect(not missing, f"update() returned no {', '.join(missing)}", case=case)
    for name, value in case.params.items():
        expected = value - LEARNING_RATE * grads[f"d{name}"]
        got = reply.params[name]
        expect_close(
            f"update(...)[{name!r}] with learning_rate={LEARNING_RATE}",
            got,
            expected,
            context.judge_arrays(got).exact,
            case,
        )
