"""``update``: the optional gradient-descent step."""

from __future__ import annotations

from bpcheck._sandbox.calls import UpdateCall
from bpcheck._contract import Case
from bpcheck.checks._base import (
    CheckContext,
    CheckSkipped,
    check,
    expect,
    expect_close,
    family_cases,
    reference_gradients,
)

LEARNING_RATE = 0.1



@check(
    "update",
    claim="update(params, grads, η) returns new W − η·dW and b − η·db, leaving its inputs alone.",
    points=5,
    cases=family_cases,
    per_family=False,
    requires=("update",),
)
def update(context: CheckContext, case: Case) -> None:
    _, grads = reference_gradients(case)
    reply = context.call_optional(UpdateCall(case.params, grads, LEARNING_RATE), case)
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
            context.judge(got).exact,
            case,
        )
