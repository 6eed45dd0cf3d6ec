"""``numerical_stability``: logits of about 1e3 keep softmax and sigmoid outputs sane."""

from __future__ import annotations

from collections.abc import Sequence

import bpcheck_reference as reference
import numpy as np

from bpcheck._contract import Case
from bpcheck._memo import per_case
from bpcheck._sandbox.calls import Call
from bpcheck.checks._base import (
    CheckFailure,
    CheckNotJudged,
    check,
    family_cases,
    reference_forward,
    reference_gradients,
)
from bpcheck.checks._context import CheckContext, gradient_call, shared_call
from bpcheck.checks._expect import expect, expect_close, expect_gradients_match, nonfinite
from bpcheck.checks.gradients import gradient_values
from bpcheck.checks.hygiene import repeatable

LARGE_LOGIT = 1e3
#: How many units of round-off at |z| = LARGE_LOGIT an accurate result may be off by.
LOGIT_ROUNDING = 100.0
#: The most a gradient's tolerance at large logits grows by the round-off its
#: backward pass amplifies: a vanished or sign-flipped gradient is about 1 off.
AMPLIFIED_AT_MOST = 0.5

#: What to do about an output that overflows, by loss: said only when it does.
HINTS = {
    "cce": "subtract each column's max before np.exp in softmax",
    "bce": "use δ = ŷ − y for sigmoid with bce instead of dividing by ŷ(1 − ŷ)",
}


def scaled_output_weights(case: Case, largest: float) -> Case:
    """``case`` with its output weights scaled so that its largest |logit| is
    ``largest`` (unchanged when every logit is 0)."""
    depth = case.architecture.depth
    _, cache = reference_forward(case)
    now = float(np.max(np.abs(cache[f"Z{depth}"])))
    params = dict(case.params)
    if now > 0:
        params[f"W{depth}"] = case.params[f"W{depth}"] * (largest / now)
    return case.with_params(params)


@per_case
def large_logit_case(case: Case) -> Case:
    """Output logits of about 1e3.

    With biases, the output biases shift: softmax gets the same +1e3 on every
    logit, which leaves ŷ unchanged but overflows an exp taken without
    max-subtraction; sigmoid gets ±1e3 alternately, saturating ŷ to exactly 0
    and 1. Without biases, the output weights are scaled until the largest
    |logit| is 1e3: softmax and sigmoid saturate, and an exp taken without
    max-subtraction overflows. (Shifting through the weights instead would
    make them large along a direction the gradients then amplify round-off in.)
    """
    if not case.architecture.biases:
        return scaled_output_weights(case, LARGE_LOGIT)
    depth = case.architecture.depth
    params = {name: value.copy() for name, value in case.params.items()}
    b = params[f"b{depth}"]
    if case.architecture.activations[-1] == "softmax":
        b += LARGE_LOGIT
    else:
        b += LARGE_LOGIT * np.where(np.arange(b.shape[0]) % 2 == 0, 1.0, -1.0)[:, None]
    return case.with_params(params)


def logit_magnitude(case: Case) -> float:
    """The largest Σ|terms| of an output pre-activation z = W a + b of ``case``:
    the scale of the round-off any computation of its logits makes."""
    depth = case.architecture.depth
    _, cache = reference_forward(case)
    terms = np.abs(case.params[f"W{depth}"]) @ np.abs(cache[f"A{depth - 1}"])
    return float(np.max(terms + np.abs(case.params.get(f"b{depth}", 0.0))))


def amplification(case: Case, floor: float) -> dict[str, float]:
    """How many times each gradient of ``case`` can amplify a round-off in δ⁽ᴸ⁾,
    to first order: with every entry of δ⁽ᴸ⁾ off by up to ε times the largest,
    a gradient is off by up to ε times this factor in :func:`relative_error`
    (with ``floor``). It is the recurrence taken in absolute values, over the
    gradient's norm: large where the sums of the backward pass cancel, as they
    do below output weights scaled up to reach large logits."""
    architecture = case.architecture
    AL, cache = reference_forward(case)
    _, expected = reference_gradients(case)
    delta = np.full(AL.shape, float(np.max(np.abs(AL - case.Y))) / case.batch_size)
    factors: dict[str, float] = {}
    for layer in range(architecture.depth, 0, -1):
        bounds = {f"dW{layer}": delta @ np.abs(cache[f"A{layer - 1}"]).T}
        if architecture.biases:
            bounds[f"db{layer}"] = delta.sum(axis=1, keepdims=True)
        for key, bound in bounds.items():
            scale = max(2 * float(np.linalg.norm(expected[key])), floor)
            factors[key] = max(1.0, float(np.linalg.norm(bound)) / scale)
        if layer > 1:
            f_prime = reference.ACTIVATIONS[architecture.activations[layer - 2]][1]
            gate = np.abs(f_prime(cache[f"Z{layer - 1}"]))
            delta = (np.abs(case.params[f"W{layer}"]).T @ delta) * gate
    return factors


def _requests(context: CheckContext, case: Case) -> Sequence[Call]:
    return [shared_call(case), gradient_call(large_logit_case(case))]


def _failure_at_ordinary_logits(context: CheckContext, case: Case) -> CheckNotJudged | None:
    """Why a failure at large logits says nothing about stability, if it does
    not: the student's code already fails, on ``case`` itself, before any
    shift, ``gradient_values`` (it raises, or misses the reference's
    gradients) or ``repeatable`` (its gradients carry state over from earlier
    calls, as the call at large logits comes after others); or another
    check's failure stands in the way of judging that (gradients that break
    the contract: then the same one stands in this check's way)."""
    for other in (gradient_values, repeatable):
        try:
            other.body(context, case)
        except CheckNotJudged as blocked:
            return blocked
        except CheckFailure as failure:
            first = failure.message.splitlines()[0] if failure.message else "its claim fails"
            return CheckNotJudged(
                "not judged: your code already fails at ordinary logits what "
                f"{context.result_name(other.id)} checks ({first})"
            )
    return None


@check(
    "numerical_stability",
    claim="Output logits of about 1e3 keep softmax/cce and sigmoid/bce finite and accurate.",
    points=5,
    cases=family_cases,
    requests=_requests,
    applies_to=lambda family: family.loss in ("bce", "cce"),
)
def numerical_stability(context: CheckContext, case: Case) -> None:
    try:
        _stable_at_large_logits(context, case)
    except CheckFailure:
        reason = _failure_at_ordinary_logits(context, case)
        if reason is not None:
            raise reason from None
        raise


def _stable_at_large_logits(context: CheckContext, ordinary: Case) -> None:
    """The check's claim on ``ordinary`` with its output logits scaled to about
    LARGE_LOGIT: AL and every gradient finite and close to the reference's."""
    case = large_logit_case(ordinary)
    reply = context.gradients(case)
    assert reply.AL is not None
    hint = f" (hint: {HINTS[case.architecture.loss]})"
    at = f"for output logits near ±{LARGE_LOGIT:g}"
    expect(
        bool(np.all(np.isfinite(reply.AL))),
        f"AL {at} contains {nonfinite(reply.AL)}{hint}",
        case=case,
    )
    grads = context.usable_gradients(reply, case, finite=False)
    overflowing = [key for key, value in grads.items() if not np.all(np.isfinite(value))]
    expect(
        not overflowing,
        f"{', '.join(overflowing)} {at} contain{'s' if len(overflowing) == 1 else ''} "
        f"{' and '.join(sorted({nonfinite(grads[key]) for key in overflowing}))}{hint}",
        case=case,
        gradients=grads,
    )
    expected_AL, expected = reference_gradients(case)
    # Saturated outputs hide the precision AL was computed in: ordinary logits show it.
    precision = max(
        context.judge(reply, case),
        context.judge(context.shared(ordinary), ordinary),
        key=lambda judged: judged.unit_roundoff,
    )
    # Logits near 1e3 carry only about u·1e3 of absolute precision themselves
    # (u · Σ|W a| + |b| where the sum cancels down to them).
    magnitude = max(LARGE_LOGIT, logit_magnitude(case))
    tolerance = max(precision.exact, LOGIT_ROUNDING * precision.unit_roundoff * magnitude)
    expect_close(f"AL {at}", reply.AL, expected_AL, tolerance, case)
    # Each gradient carries that round-off as the backward pass amplifies it, up
    # to AMPLIFIED_AT_MOST: an unstable δ⁽ᴸ⁾ (a gradient vanished, or of the wrong
    # sign) is about 1 off, whatever the amplification.
    allowed = {
        key: min(tolerance * factor, AMPLIFIED_AT_MOST)
        for key, factor in amplification(case, precision.norm_floor).items()
    }
    expect_gradients_match(
        grads, expected, tolerance, case, f"the reference at logits near ±{LARGE_LOGIT:g}",
        floor=precision.norm_floor, tolerances=allowed,
    )
