"""``activation_gating``: units with f′(z) = 0 pass no gradient back."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bpcheck._contract import Array, Case
from bpcheck._memo import per_case
from bpcheck._sandbox.calls import Call
from bpcheck.checks._base import check, family_cases, reference_forward
from bpcheck.checks._context import CheckContext, gradient_call
from bpcheck.checks._differences import case_seed
from bpcheck.checks._expect import expect

#: |z| beyond which a sigmoid or tanh unit counts as saturated.
SATURATED = 30.0
#: A gated unit's gradient may be at most this fraction of its layer's.
VANISHING = 1e-9
#: How far the terms of a gated unit's w·a may exceed their sum, in a network
#: without biases: beyond it, a float32 student's rounding could move z off
#: the gate (and a correct student would be failed).
CANCELLATION = 10.0


def _gated(activation: str, Z: Array) -> Array:
    """Units whose f′(z) is 0 (ReLU, z < 0) or vanishing (saturated) across the batch."""
    if activation == "relu":
        return np.all(Z < 0, axis=1)
    return np.all(np.abs(Z) > SATURATED, axis=1)


@per_case
def gated_case(case: Case) -> Case | None:
    """``case`` with one hidden unit, chosen by the case's seed, forced dead
    (ReLU) or saturated (sigmoid, tanh) across the whole batch: by its bias,
    or, in a network without biases, by the least-squares weights that put
    every pre-activation there, without cancellation beyond
    :data:`CANCELLATION` (trying the other units when the batch's inputs allow
    that for none of it; None when they allow it for no unit)."""
    architecture, choice = case.architecture, case_seed(case)
    hidden = architecture.depth - 1
    _, cache = reference_forward(case)
    chosen = 1 + choice % hidden
    chosen_unit = (chosen, choice // hidden % architecture.widths[chosen])
    others = [(layer, unit) for layer in range(1, hidden + 1) for unit in range(architecture.widths[layer])]
    for layer, unit in [chosen_unit, *(other for other in others if other != chosen_unit)]:
        params = {name: value.copy() for name, value in case.params.items()}
        inputs, activation = cache[f"A{layer - 1}"], architecture.activations[layer - 1]
        reach = float(np.max(np.abs(params[f"W{layer}"][unit] @ inputs))) + 1.0
        target = -reach if activation == "relu" else reach + SATURATED
        if architecture.biases:
            params[f"b{layer}"][unit, 0] = target
            return case.with_params(params)
        row, *_ = np.linalg.lstsq(inputs.T, np.full(inputs.shape[1], target), rcond=None)
        well_conditioned = np.all(np.abs(row) @ np.abs(inputs) <= CANCELLATION * abs(target))
        if well_conditioned and _gated(activation, (row @ inputs)[None, :])[0]:
            params[f"W{layer}"][unit] = row
            return case.with_params(params)
    return None


def _with_a_gated_unit(case: Case) -> Case | None:
    """The check's own case: a shared case at least two layers deep, with a
    unit gated (:func:`gated_case`); None where there is none to gate."""
    return gated_case(case) if case.architecture.depth >= 2 else None


def _requests(context: CheckContext, case: Case) -> Sequence[Call]:
    return [gradient_call(case)]


@check(
    "activation_gating",
    claim="A unit with f′(z) = 0 across the batch (dead ReLU, saturated sigmoid/tanh) gets a "
    "zero row in dW and a zero entry in db.",
    points=10,
    cases=family_cases,
    prepare=_with_a_gated_unit,
    requests=_requests,
    applies_to=lambda family: family.hidden in ("relu", "sigmoid", "tanh"),
    applies_within=lambda scope: scope.depths.stop > 2,
    outside_scope="the assignment's networks have no hidden layer to gate",
)
def activation_gating(context: CheckContext, case: Case) -> None:
    reply = context.gradients(case)
    grads = context.usable_gradients(reply, case)
    _, cache = reference_forward(case)
    leaks = []
    for layer, activation in enumerate(case.architecture.activations[:-1], start=1):
        # A unit's row of dW, and its entry of db where the network has biases.
        rows = [(key, grads[key]) for key in (f"dW{layer}", f"db{layer}") if key in grads]
        scale = max(*(float(np.abs(value).max()) for _, value in rows), 1.0)
        for unit in np.flatnonzero(_gated(activation, cache[f"Z{layer}"])):
            allowed = 0.0 if activation == "relu" else VANISHING * scale
            leak = max(float(np.abs(value[unit]).max()) for _, value in rows)
            if leak > allowed:
                z = cache[f"Z{layer}"][unit]
                leaks.append(
                    f"layer {layer} ({activation}) unit {unit}: z in [{z.min():.3g}, {z.max():.3g}] "
                    f"so f′(z) {'= 0' if activation == 'relu' else '≈ 0'}, yet "
                    + ", ".join(f"|{key}[{unit}]|" for key, _ in rows)
                    + f" reach{'es' if len(rows) == 1 else ''} {leak:.3g}"
                )
    expect(
        not leaks,
        "gradient flows through units whose f′(z) is zero; δ must be multiplied by f′(z):\n- "
        + "\n- ".join(leaks),
        case=case,
        gradients=grads,
    )
