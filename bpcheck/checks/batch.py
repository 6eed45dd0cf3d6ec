"""``bias_batch_sum``: batch gradients are the mean of the gradients of the batch's parts."""

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
def _halves(case: Case) -> list[Case]:
    """The first ⌈M/2⌉ examples of ``case`` and the rest, each as a batch of its own.

    Every loss is a batch mean, so the batch's gradients are the size-weighted
    mean of its parts': two calls test what one call per example would (a db
    of one example, a missing or doubled 1/M, db over the wrong axis), whatever M.
    """
    split = (case.batch_size + 1) // 2
    return [case.with_batch(case.X[:, part], case.Y[:, part]) for part in (slice(0, split), slice(split, None))]


@per_case
def _repeated_and_permuted(case: Case) -> Case:
    """The batch followed by every example again, rotated by one place."""
    order = np.roll(np.arange(case.batch_size), 1)
    return case.with_batch(np.hstack([case.X, case.X[:, order]]), np.hstack([case.Y, case.Y[:, order]]))


def _requests(context: CheckContext, case: Case) -> Sequence[Call]:
    cases = [*_halves(case), _repeated_and_permuted(case)]
    return [shared_call(case), *(gradient_call(each) for each in cases)]


@check(
    "bias_batch_sum",
    claim="Batch gradients are the mean of your gradients for the batch's halves, weighted by "
    "their sizes (db is summed over the batch), and repeating or permuting examples changes "
    "nothing.",
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

    parts = _halves(case)
    grads = [context.usable_gradients(context.gradients(part), part) for part in parts]
    mean: dict[str, Array] = {
        key: np.sum([part.batch_size * each[key] for part, each in zip(parts, grads, strict=True)], axis=0)
        / case.batch_size
        for key in batch
    }
    expect_gradients_match(
        batch,
        mean,
        tolerance,
        case,
        f"the mean of your own gradients for its first {parts[0].batch_size} and its last "
        f"{parts[1].batch_size} examples alone, weighted by their sizes",
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
