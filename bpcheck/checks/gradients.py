"""``gradient_shapes``, ``gradient_values`` and ``finite_differences``."""

from __future__ import annotations

from bpcheck._contract import Case
from bpcheck.checks._base import (
    CheckContext,
    check,
    expect_gradient_shapes,
    expect_gradients_match,
    family_cases,
    reference_gradients,
)


@check(
    "gradient_shapes",
    claim="Every dWℓ and dbℓ is present, a finite numpy array, and exactly its parameter's shape.",
    points=10,
    cases=family_cases,
)
def gradient_shapes(context: CheckContext, case: Case) -> None:
    expect_gradient_shapes(context.gradients(case), case)


@check(
    "gradient_values",
    claim="The gradients match the reference's.",
    points=15,
    cases=family_cases,
)
def gradient_values(context: CheckContext, case: Case) -> None:
    reply = context.gradients(case)
    expect_gradient_shapes(reply, case)
    precision = context.judge(*reply.grads.values())
    _, expected = reference_gradients(case)
    expect_gradients_match(
        reply.grads, expected, precision.exact, case, "the reference", floor=precision.norm_floor
    )


@check(
    "finite_differences",
    claim="The gradients match finite differences of the reference loss through your own forward.",
    points=15,
    cases=family_cases,
)
def finite_differences(context: CheckContext, case: Case) -> None:
    reply = context.gradients(case)
    expect_gradient_shapes(reply, case)
    assert reply.AL is not None
    precision = context.judge(reply.AL, *reply.grads.values())
    numeric = context.finite_differences(case, precision)
    expect_gradients_match(
        reply.grads,
        numeric.judgeable(),
        precision.finite,
        case,
        numeric.describe(),
        error=numeric.relative_error,
    )
