"""``activation_gating``: units with f′(z) = 0 pass no gradient back."""

from __future__ import annotations

from collections.abc import Sequence

import bpcheck_reference as reference
import numpy as np

from bpcheck._contract import Array, Case
from bpcheck._memo import per_case
from bpcheck._sandbox.calls import Call
from bpcheck.checks._base import at_least, check, family_cases
from bpcheck.checks._context import CheckContext, gradient_call
from bpcheck.checks._differences import case_seed
from bpcheck.checks._expect import expect

#: |z| beyond which a sigmoid or tanh unit counts as saturated.
SATURATED = 30.0
#: A gated unit's gradient may be at most this fraction of its layer's.
VANISHING = 1e-9


def _gated(activation: str, Z: Array) -> Array:
    """Units whose f′(z) is 0 (ReLU, z < 0) or vanishing (saturated) across the batch."""
    if activation == "relu":
        return np.all(Z < 0, axis=1)
    return np.all(np.abs(Z) > SATURATED, axis=1)


@per_case
def gated_case(case: Case) -> Case:
    """``case`` with one hidden unit, chosen by the case's seed, forced dead
    (ReLU) or saturated (sigmoid, tanh) across the whole batch."""
    choice = case_seed(case)
    hidden = case.architecture.depth - 1
    layer = 1 + choice % hidden
    unit = choice // hidden % case.architecture.widths[layer]
    _, cache = reference.forward(case.params, case.X, case.architecture.activations)
    params = {name: value.copy() for name, value in case.params.items()}
    reach = float(np.max(np.abs(params[f"W{layer}"][unit] @ cache[f"A{layer - 1}"]))) + 1.0
    offset = -reach if case.architecture.activations[layer - 1] == "relu" else reach + SATURATED
    params[f"b{layer}"][unit, 0] = offset
    return case.with_params(params)


def _requests(context: CheckContext, case: Case) -> Sequence[Call]:
    return [gradient_call(gated_case(case))]


@check(
    "activation_gating",
    claim="A unit with f′(z) = 0 across the batch (dead ReLU, saturated sigmoid/tanh) gets a "
    "zero row in dW and a zero entry in db.",
    points=10,
    cases=family_cases,
    prepare=at_least(depth=2),
    requests=_requests,
    applies_to=lambda family: family.hidden in ("relu", "sigmoid", "tanh"),
    applies_within=lambda scope: scope.depths.stop > 2,
    outside_scope="the assignment's networks have no hidden layer to gate",
)
def activation_gating(context: CheckContext, case: Case) -> None:
    case = gated_case(case)
    reply = context.gradients(case)
    grads = context.usable_gradients(reply, case)
    _, cache = reference.forward(case.params, case.X, case.architecture.activations)
    leaks = []
    for layer, activation in enumerate(case.architecture.activations[:-1], start=1):
        dW, db = grads[f"dW{layer}"], grads[f"db{layer}"]
        scale = max(float(np.abs(dW).max()), float(np.abs(db).max()), 1.0)
        for unit in np.flatnonzero(_gated(activation, cache[f"Z{layer}"])):
            allowed = 0.0 if activation == "relu" else VANISHING * scale
            leak = max(float(np.abs(dW[unit]).max()), float(np.abs(db[unit]).max()))
            if leak > allowed:
                z = cache[f"Z{layer}"][unit]
                leaks.append(
                    f"layer {layer} ({activation}) unit {unit}: z in [{z.min():.3g}, {z.max():.3g}] "
                    f"so f′(z) {'= 0' if activation == 'relu' else '≈ 0'}, yet "
                    f"|dW{layer}[{unit}]|, |db{layer}[{unit}]| reach {leak:.3g}"
                )
    expect(
        not leaks,
        "gradient flows through units whose f′(z) is zero; δ must be multiplied by f′(z):\n- "
        + "\n- ".join(leaks),
        case=case,
        gradients=grads,
    )
