"""``backprop_cost``: backward costs a few forward passes, whatever the number of parameters.

The lesson (§ Cost): backprop gets every gradient in one forward and one
backward pass, and the backward pass costs about 2–3× the forward; finite
differences need P + 1 forward passes, 2P for central ones. On a network of
at least 20 000 parameters (the assignment's own sizes when its scope fixes
them) the two are four orders of magnitude apart, so the
check can afford a very wide margin: forward and backward together may cost
up to :data:`MAX_COST` forward passes. Times are the harness's own wall clock
around each call (never anything the student's code reports), the median of
several calls interleaved so that a loaded machine slows both alike
(:func:`measured_cost`; numerical_stability's diagnosis times backward the
same way, on :func:`timed_like`'s network, to tell code without an output δ
from code whose δ divides by ŷ(1 − ŷ)).

It is worth 30 points, more than any other check: code that gets its
gradients without backprop has not done the assignment, and scores at most
105/135 (78%) however right its numbers are.
"""

from __future__ import annotations

import time
from statistics import median

import numpy as np

from bpcheck._contract import MIN_OUTPUT_WIDTH, Architecture, Case, Family
from bpcheck._scope import Scope
from bpcheck._sandbox.calls import Call, ForwardCall
from bpcheck._student import Student
from bpcheck.checks._base import CheckNotJudged, CheckSkipped, check
from bpcheck.checks._context import CheckContext, gradient_call
from bpcheck.checks._expect import expect

#: Forward and backward together may cost at most this many forward passes.
MAX_COST = 30.0
#: The timed network has at least this many parameters: numerical
#: differentiation then costs ≥ 10⁴ forward passes, and one forward is quick.
PARAMETERS = 20_000
#: Depth and output width of the timed network, where the scope leaves them free.
DEPTH, OUTPUT_WIDTH = 3, 32
#: A small batch keeps a per-example loop over the batch cheap.
BATCH = 4
#: A cost that no backprop reaches however loaded the machine: a diagnosis that
#: times backward on its own names numerical differentiation only beyond it
#: (finite differences cost thousands of forward passes on such a network).
NUMERICAL_COST = 300.0
#: Timed calls of forward and backward, interleaved (the median of each is
#: compared); two backward calls in a row this far beyond the bound stop early.
REPEATS = 5
HOPELESS = 10.0


def _parameters(widths: tuple[int, ...], biases: bool) -> int:
    return sum(n_in * n_out + (n_out if biases else 0) for n_in, n_out in zip(widths, widths[1:]))


def cost_widths(scope: Scope, loss: str) -> tuple[int, ...]:
    """The widths of the timed network: the scope's own when it fixes them,
    else :data:`DEPTH` layers (or the nearest depth in scope) with equal inputs
    and hidden layers, wide enough for :data:`PARAMETERS` parameters."""
    if scope.widths is not None:
        return scope.widths
    depths = scope.depths
    depth = min(max(DEPTH, depths.start), depths.stop - 1)
    output = scope.output_width or max(OUTPUT_WIDTH, MIN_OUTPUT_WIDTH[loss])
    return _grown(depth, output, scope.biases)


def _grown(depth: int, output: int, biases: bool) -> tuple[int, ...]:
    """``depth`` layers ending in ``output`` units, with equal inputs and hidden
    layers just wide enough for :data:`PARAMETERS` parameters."""
    width = 1
    while _parameters((width,) * depth + (output,), biases) < PARAMETERS:
        width += 1 if depth > 1 else max(1, width // 8)
    return (width,) * depth + (output,)


def fits(scope: Scope) -> bool:
    """Whether the scope admits a network large enough to time (fixed widths may not)."""
    return scope.widths is None or _parameters(scope.widths, scope.biases) >= PARAMETERS


def cost_case(scope: Scope, families: tuple[Family, ...]) -> Case:
    """The timed network for the first family in ``families``: its hidden
    activation in every hidden layer, its loss and an output the scope allows."""
    if not families:
        raise CheckSkipped("no family is in scope")
    family = families[0]
    widths = cost_widths(scope, family.loss)
    output = scope.outputs_for(family.loss)[0]
    activations = (family.hidden,) * (len(widths) - 2) + (output,)
    return _timed_case(Architecture(widths, activations, family.loss, scope.biases))


def timed_like(case: Case) -> Case:
    """A network to time that is ``case``'s grown wide: its activations, loss,
    biases and output width, with inputs and hidden layers wide enough for
    :data:`PARAMETERS` parameters (the network of a diagnosis, which knows the
    failing case but not the scope). A one-layer case gets a hidden layer of
    its output's activation: one layer of 20 000 inputs is timed unreliably on
    a loaded machine (its forward and backward calls take a few microseconds)."""
    old = case.architecture
    activations = old.activations if old.depth > 1 else old.activations * 2
    widths = _grown(len(activations), old.widths[-1], old.biases)
    return _timed_case(Architecture(widths, activations, old.loss, old.biases))


def _timed_case(architecture: Architecture) -> Case:
    widths = architecture.widths
    rng = np.random.default_rng(20261201)
    params = {
        name: rng.normal(0.0, 1.0, shape) / np.sqrt(architecture.widths[int(name[1:]) - 1])
        for name, shape in architecture.parameter_shapes().items()
    }
    X = rng.normal(0.0, 1.0, (widths[0], BATCH))
    if architecture.loss == "cce":
        Y = np.eye(widths[-1])[:, rng.integers(0, widths[-1], BATCH)]
    elif architecture.loss == "bce":
        Y = rng.integers(0, 2, (widths[-1], BATCH)).astype(np.float64)
    else:
        Y = rng.normal(0.0, 1.0, (widths[-1], BATCH))
    return Case(architecture, params, X, Y)


def _seconds(student: Student, request: Call) -> float:
    """Wall time of one call, straight to the student (no remembered reply)."""
    started = time.perf_counter()
    reply = student.call(request)
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


def measured_cost(student: Student, case: Case) -> float:
    """What forward and backward together cost on ``case``, in forward passes:
    the median of timed gradient calls over the median of timed forward calls,
    interleaved. Raises CheckNotJudged, saying what the student's code raised,
    when a call fails."""
    forward = ForwardCall(case.params, case.X, case.architecture.activations)
    both = gradient_call(case)
    forwards = [_seconds(student, forward) for _ in range(3)]
    gradients: list[float] = []
    while len(gradients) < REPEATS and not _hopeless(gradients, median(forwards)):
        gradients.append(_seconds(student, both))
        forwards.append(_seconds(student, forward))
    return median(gradients) / median(forwards)


@check(
    "backprop_cost",
    claim=f"Forward and backward together cost at most {MAX_COST:g} forward passes on a network "
    "of at least 20 000 parameters (backprop costs about 3; numerical differentiation thousands).",
    points=30,
    per_family=False,
    applies_within=fits,
    outside_scope=f"the assignment fixes every width, and its network has fewer than {PARAMETERS:,} parameters",
)
def backprop_cost(context: CheckContext) -> None:
    case = cost_case(context.assignment, context.scope)
    cost = measured_cost(context.student, case)
    expect(
        cost <= MAX_COST,
        f"forward() and backward() together cost {cost:.0f} forward passes on a network of "
        f"{case.architecture.describe()} ({case_size(gradient_call(case))} parameters), batch of "
        f"{BATCH}; backprop costs about 3, and the bound is {MAX_COST:g}. Your backward seems to "
        "differentiate numerically, one forward pass (or two) per parameter.",
    )
