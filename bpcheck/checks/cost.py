"""``backprop_cost``: backward costs a few forward passes, whatever the number of parameters.

The lesson (§ Cost): backprop gets every gradient in one forward and one
backward pass, and the backward pass costs about 2–3× the forward; finite
differences need P + 1 forward passes, 2P for central ones. On a network of
about 24 000 parameters the two are four orders of magnitude apart, so the
check can afford a very wide margin: forward and backward together may cost
up to :data:`MAX_COST` forward passes. Times are the harness's own wall clock
around each call (never anything the student's code reports), the median of
several calls interleaved so that a loaded machine slows both alike.

It is worth 30 points, more than any other check: code that gets its
gradients without backprop has not done the assignment, and scores at most
105/135 (78%) however right its numbers are.
"""

from __future__ import annotations

import time
from statistics import median

import numpy as np

from bpcheck._contract import MIN_OUTPUT_WIDTH, Architecture, Case, Family
from bpcheck._sandbox.calls import Call, ForwardCall
from bpcheck.checks._base import CheckNotJudged, CheckSkipped, check
from bpcheck.checks._context import CheckContext, gradient_call
from bpcheck.checks._expect import expect

#: Forward and backward together may cost at most this many forward passes.
MAX_COST = 30.0
#: Widths of the timed network: 23 808 parameters, wide enough that numerical
#: differentiation costs ≥ 10⁴ forward passes, small enough that one is quick.
WIDTHS = (64, 128, 96, 32)
#: A small batch keeps a per-example loop over the batch cheap.
BATCH = 4
#: Timed calls of forward and backward, interleaved (the median of each is
#: compared); two backward calls in a row this far beyond the bound stop early.
REPEATS = 5
HOPELESS = 10.0

_OUTPUT = {"mse": "linear", "bce": "sigmoid", "cce": "softmax"}


def cost_case(scope: tuple[Family, ...]) -> Case:
    """A network of :data:`WIDTHS` with the first family in ``scope``: its hidden
    activation in every hidden layer, its loss and the output that loss takes."""
    if not scope:
        raise CheckSkipped("no family is in scope")
    family = scope[0]
    widths = WIDTHS[:-1] + (max(WIDTHS[-1], MIN_OUTPUT_WIDTH[family.loss]),)
    activations = (family.hidden,) * (len(widths) - 2) + (_OUTPUT[family.loss],)
    architecture = Architecture(widths, activations, family.loss)
    rng = np.random.default_rng(20261201)
    params = {
        name: rng.normal(0.0, 1.0, shape) / np.sqrt(architecture.widths[int(name[1:]) - 1])
        for name, shape in architecture.parameter_shapes().items()
    }
    X = rng.normal(0.0, 1.0, (widths[0], BATCH))
    if family.loss == "cce":
        Y = np.eye(widths[-1])[:, rng.integers(0, widths[-1], BATCH)]
    elif family.loss == "bce":
        Y = rng.integers(0, 2, (widths[-1], BATCH)).astype(np.float64)
    else:
        Y = rng.normal(0.0, 1.0, (widths[-1], BATCH))
    return Case(architecture, params, X, Y)


def _seconds(context: CheckContext, request: Call) -> float:
    """Wall time of one call, straight to the student (no remembered reply)."""
    started = time.perf_counter()
    reply = context.student.call(request)
    elapsed = time.perf_counter() - started
    if reply.error is not None:
        raise CheckNotJudged(
            f"not judged: on the {case_size(request)}-parameter network {reply.error.summary}"
        )
    return elapsed


def _hopeless(gradients: list[float], forward: float) -> bool:
    """Two calls in a row beyond :data:`HOPELESS` times the bound: no pause of a
    loaded machine lasts that long twice, so more timing would change nothing."""
    return len(gradients) >= 2 and min(gradients[-2:]) > HOPELESS * MAX_COST * forward


def case_size(request: Call) -> int:
    params = getattr(request, "params", {})
    return sum(int(np.size(value)) for value in params.values())


@check(
    "backprop_cost",
    claim=f"Forward and backward together cost at most {MAX_COST:g} forward passes on a network "
    "of about 24 000 parameters (backprop costs about 3; numerical differentiation thousands).",
    points=30,
    per_family=False,
)
def backprop_cost(context: CheckContext) -> None:
    case = cost_case(context.scope)
    forward = ForwardCall(case.params, case.X, case.architecture.activations)
    both = gradient_call(case)
    forwards = [_seconds(context, forward) for _ in range(3)]
    gradients: list[float] = []
    while len(gradients) < REPEATS and not _hopeless(gradients, median(forwards)):
        gradients.append(_seconds(context, both))
        forwards.append(_seconds(context, forward))
    cost = median(gradients) / median(forwards)
    expect(
        cost <= MAX_COST,
        f"forward() and backward() together cost {cost:.0f} forward passes on a network of "
        f"{case.architecture.describe()} ({case_size(forward)} parameters), batch of {BATCH}; "
        f"backprop costs about 3, and the bound is {MAX_COST:g}. Your backward seems to "
        "differentiate numerically, one forward pass (or two) per parameter.",
    )
