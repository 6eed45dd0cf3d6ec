"""``bias_batch_sum``: batch gradients are the mean of per-example gradients."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bpcheck._contract import Array, Case
from bpcheck._memo import per_case
from bpcheck._sandbox.calls import Call
from bpcheck.checks._base import at_least, check, family_cases
from bpcheck.checks._context import CheckContext, gradient_call, shared_call
from bpcheck.checks._expect import expect_gradients_match


@per_case
def _examples(case: Case) -> list[Case]:
    """Each example of ``case`` alone, as a batch of one."""
    return [case.with_batch(case.X[:, [j]], case.Y[:, [j]]) for j in range(case.batch_size)]


@per_case
def _repeated_and_permuted(case: Case) -> Case:
    """The batch followed by every example again, rotated by one place."""
    order = np.roll(np.arange(case.batch_size), 1)
    return case.with_batch(np.hstack([case.X, case.X[:, order]]), np.hstack([case.Y, case.Y[:, order]]))


def _requests(context: CheckContext, case: Case) -> Sequence[Call]:
    cases = [*_examples(case), _repeated_and_permuted(case)]
    return [shared_call(case), *(gradient_call(each) for each in cases)]


@check(
    "bias_batch_sum",
    claim="Batch gradients are the mean of your per-example gradients, db is summed over the "
    "batch, and repeating or permuting examples changes nothing.",
    points=10,
    cases=family_cases,
    prepare=at_least(batch=2),
    requests=_requests,
)
def bias_batch_sum(context: CheckContext, case: Case) -> None:
    reply = context.shared(case)
    batch = context.usable_gradients(reply, case)
    precision = context.judge(reply, case)
    tolerance, floor = precision.exact, precision.norm_floor

    single = [
        context.usable_gradients(context.gradients(example), example) for example in _examples(case)
    ]
    mean: dict[str, Array] = {
        key: np.mean([example[key] for example in single], axis=0) for key in batch
    }
    expect_gradients_match(
        batch,
        mean,
        tolerance,
        case,
        "the mean of your own gradients for each example alone",
        floor=floor,
    )

    repeated = _repeated_and_permuted(case)
    expect_gradients_match(
        context.usable_gradients(context.gradients(repeated), repeated),
        batch,
        tolerance,
        repeated,
        "your gradients for the batch before its examples were repeated in another order",
        floor=floor,
    )
