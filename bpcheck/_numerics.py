"""Numerics the checks share: relative error, best-fit scale, central differences."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bpcheck._sandbox.calls import Probe

Array = NDArray[Any]

#: Below this combined norm two gradients are compared absolutely, so that
#: round-off on a (nearly) zero gradient is not mistaken for a relative error.
NORM_FLOOR = 1e-3


def relative_error(got: Array, expected: Array) -> float:
    """‖got − expected‖ / max(‖got‖ + ‖expected‖, NORM_FLOOR), in float64.

    0 for identical tensors, about 1 for unrelated ones, 2 for opposite signs.
    """
    got64, expected64 = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    scale = max(float(np.linalg.norm(got64) + np.linalg.norm(expected64)), NORM_FLOOR)
    return float(np.linalg.norm(got64 - expected64)) / scale


def best_fit_scale(got: Array, expected: Array) -> float | None:
    """The s minimising ‖got − s·expected‖, or None when ``expected`` is zero."""
    expected64 = np.asarray(expected, np.float64).ravel()
    denominator = float(expected64 @ expected64)
    if denominator == 0.0:
        return None
    return float(np.asarray(got, np.float64).ravel() @ expected64) / denominator


def central_difference_probes(params: dict[str, Array], epsilon: float) -> tuple[Probe, ...]:
    """Two probes per parameter element, +ε then −ε, in ``params`` order."""
    return tuple(
        Probe(name, index, sign * epsilon)
        for name, value in params.items()
        for index in range(int(np.size(value)))
        for sign in (1.0, -1.0)
    )


def central_differences(
    params: dict[str, Array],
    probe_losses: Array,
    epsilon: float,
) -> dict[str, Array]:
    """∂L/∂θᵢ ≈ [L(θᵢ + ε) − L(θᵢ − ε)] / 2ε, from the losses of
    :func:`central_difference_probes`, keyed like gradients (``dW1``)."""
    differences = (probe_losses[0::2] - probe_losses[1::2]) / (2 * epsilon)
    gradients, start = {}, 0
    for name, value in params.items():
        size = int(np.size(value))
        gradients[f"d{name}"] = differences[start : start + size].reshape(np.shape(value))
        start += size
    return gradients


def probe_losses(
    outputs: Array, Y: Array, loss: str, loss_function: Callable[[Array, Array, str], float]
) -> Array:
    """The loss of each stacked output of a probe call."""
    return np.array([loss_function(output, Y, loss) for output in outputs])
