"""``bias_batch_sum``: batch gradients are the mean of per-example gradients."""

from __future__ import annotations

from functools import partial

import numpy as np

from bpcheck._contract import Array, Case
from bpcheck.checks._base import (
    CheckContext,
    check,
    expect_gradient_shapes,
    expect_gradients_match,
    family_cases,
)


@check(
    "bias_batch_sum",
    claim="Batch gradients are the mean of your per-example gradients, db is summed over the "
    "batch, and duplicating or permuting examples changes nothing.",
    points=10,
    cases=partial(family_cases, min_batch=2),
)
def bias_batch_sum(context: CheckContext, case: Case) -> None:
    reply = context.gradients(case)
    expect_gradient_shapes(reply, case)
    batch = reply.grads
    precision = context.judge(*batch.values())
    tolerance, floor = precision.exact, precision.norm_floor

    single = [
        context.gradients(case.with_batch(case.X[:, [j]], case.Y[:, [j]])).grads
        for j in range(case.batch_size)
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

    doubled = case.with_batch(np.hstack([case.X, case.X]), np.hstack([case.Y, case.Y]))
    expect_gradients_match(
        context.gradients(doubled).grads,
        batch,
        tolerance,
        doubled,
        "your gradients for the batch before its examples were duplicated",
        floor=floor,
    )

    order = np.roll(np.arange(case.batch_size), 1)
    permuted = case.with_batch(case.X[:, order], case.Y[:, order])
    expect_gradients_match(
        context.gradients(permuted).grads,
        batch,
        tolerance,
        permuted,
        "your gradients for the same examples in another order",
        floor=floor,
    )
