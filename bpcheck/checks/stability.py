"""``numerical_stability``: logits of about 1e3 keep softmax and sigmoid outputs sane."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from bpcheck._contract import Case
from bpcheck.checks._base import (
    CheckContext,
    check,
    expect_close,
    expect_finite,
    expect_gradient_shapes,
    expect_gradients_match,
    family_cases,
    reference_gradients,
)

LARGE_LOGIT = 1e3
#: How many units of round-off at |z| = LARGE_LOGIT an accurate result may be off by.
LOGIT_ROUNDING = 100.0


def _large_logit_cases(context: CheckContext) -> st.SearchStrategy[Case]:
    return family_cases(context).map(_with_large_logits)


def _with_large_logits(case: Case) -> Case:
    """Shift the output biases by about 1e3.

    softmax gets the same +1e3 on every logit, which leaves ŷ unchanged but
    overflows an exp taken without max-subtraction; sigmoid gets ±1e3
    alternately, saturating ŷ to exactly 0 and 1.
    """
    depth = case.architecture.depth
    params = {name: value.copy() for name, value in case.params.items()}
    b = params[f"b{depth}"]
    if case.architecture.activations[-1] == "softmax":
        b += LARGE_LOGIT
    else:
        b += LARGE_LOGIT * np.where(np.arange(b.shape[0]) % 2 == 0, 1.0, -1.0)[:, None]
    return case.with_params(params)


@check(
    "numerical_stability",
    claim="Output logits of about 1e3 keep softmax/cce and sigmoid/bce finite and accurate.",
    points=5,
    cases=_large_logit_cases,
    applies_to=lambda family: family.loss in ("bce", "cce"),
)
def numerical_stability(context: CheckContext, case: Case) -> None:
    reply = context.gradients(case)
    assert reply.AL is not None
    hint = (
        "subtract each column's max before np.exp in softmax"
        if case.architecture.loss == "cce"
        else "use δ = ŷ − y for sigmoid with bce instead of dividing by ŷ(1 − ŷ)"
    )
    expect_finite(f"AL for output logits near ±{LARGE_LOGIT:g} (hint: {hint})", reply.AL, case)
    expect_gradient_shapes(reply, case)
    expected_AL, expected = reference_gradients(case)
    precision = context.judge(reply.AL, *reply.grads.values())
    # Logits near 1e3 carry only about u·1e3 of absolute precision themselves.
    tolerance = max(precision.exact, LOGIT_ROUNDING * precision.unit_roundoff * LARGE_LOGIT)
    expect_close(f"AL for output logits near ±{LARGE_LOGIT:g}", reply.AL, expected_AL, tolerance, case)
    expect_gradients_match(
        reply.grads,
        expected,
        tolerance,
        case,
        f"the reference at logits near ±{LARGE_LOGIT:g} ({hint})",
        floor=precision.norm_floor,
    )
