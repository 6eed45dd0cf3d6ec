"""``gradient_shapes``, ``gradient_values`` and ``finite_differences``."""

from __future__ import annotations

from collections.abc import Sequence

from bpcheck._contract import Case, gradient_name
from bpcheck._numerics import ALL_PARAMETERS
from bpcheck._sandbox.calls import Call
from bpcheck.checks._base import CheckFailure, check, family_cases, reference_gradients
from bpcheck.checks._context import CheckContext, shared_call
from bpcheck.checks._differences import directional_call, directional_differences
from bpcheck.checks._expect import expect, expect_gradient_shapes, expect_gradients_match


def _shared(context: CheckContext, case: Case) -> Sequence[Call]:
    return [shared_call(case)]


@check(
    "gradient_shapes",
    claim="Every dWℓ and dbℓ is present, a finite floating-point numpy array, and exactly its "
    "parameter's shape.",
    points=10,
    cases=family_cases,
    requests=_shared,
)
def gradient_shapes(context: CheckContext, case: Case) -> None:
    expect_gradient_shapes(context.shared(case), case)


@check(
    "gradient_values",
    claim="The gradients match the reference's.",
    points=15,
    cases=family_cases,
    requests=_shared,
)
def gradient_values(context: CheckContext, case: Case) -> None:
    reply = context.shared(case)
    grads = context.usable_gradients(reply, case)
    precision = context.judge(reply, case)
    _, expected = reference_gradients(case)
    expect_gradients_match(
        grads, expected, precision.exact, case, "the reference", floor=precision.norm_floor
    )


def _probes(context: CheckContext, case: Case) -> Sequence[Call]:
    """The directional probes, at the precision the student computes in: on
    the run's first case, the one its shared reply shows (asked for now); on
    later cases the same, so that the probes go in one batch with the shared
    call (the body asks for its own where a case shows another precision)."""
    if context.precision_hint is None:
        try:
            context.precision_hint = context.judge(context.shared(case), case)
        except CheckFailure:  # the student raised: the body reports it
            return []
    return [directional_call(case, context.precision_hint)]


@check(
    "finite_differences",
    claim="The gradients match finite differences of the reference loss through your own "
    "forward, along random directions.",
    points=15,
    cases=family_cases,
    requests=_probes,
)
def finite_differences(context: CheckContext, case: Case) -> None:
    reply = context.shared(case)
    grads = context.usable_gradients(reply, case)
    assert reply.AL is not None
    precision = context.judge(reply, case)
    numeric = directional_differences(context, case, precision, grads, reply.AL)
    wrong = numeric.wrong()
    described = [
        f"along {'a random direction of ' + gradient_name(name) if name != ALL_PARAMETERS else 'a random direction of all parameters'}: "
        f"relative error {numeric.error(name):.3g} (your gradients give {numeric.claimed[name]:.6g}, "
        f"the finite difference {numeric.estimates[name]:.6g})"
        for name in wrong
    ]
    expect(
        not wrong,
        f"gradients disagree with {numeric.describe()} (tolerance {precision.finite:g}):\n- "
        + "\n- ".join(described),
        case=case,
        gradients=grads,
    )
