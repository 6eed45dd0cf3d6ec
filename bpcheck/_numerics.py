"""Numerics the checks share: relative error, best-fit scale, central differences."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bpcheck._sandbox.calls import Probe

Array = NDArray[Any]

#: Below this combined norm two gradients are compared absolutely, so that
#: round-off on a (nearly) zero gradient is not mistaken for a relative error.
NORM_FLOOR = 1e-3


def relative_error(got: Array, expected: Array, floor: float = NORM_FLOOR) -> float:
    """‖got − expected‖ / max(‖got‖ + ‖expected‖, floor), in float64.

    0 for identical tensors, about 1 for unrelated ones, 2 for opposite signs.
    """
    got64, expected64 = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    scale = max(float(np.linalg.norm(got64) + np.linalg.norm(expected64)), floor)
    return float(np.linalg.norm(got64 - expected64)) / scale


def best_fit_scale(got: Array, expected: Array) -> float | None:
    """The s minimising ‖got − s·expected‖, or None when ``expected`` is zero."""
    expected64 = np.asarray(expected, np.float64).ravel()
    denominator = float(expected64 @ expected64)
    if denominator == 0.0:
        return None
    return float(np.asarray(got, np.float64).ravel() @ expected64) / denominator


@dataclass(frozen=True)
class Stencil:
    """A finite-difference formula: ∂L/∂θ ≈ Σ wₖ L(θ + oₖ·ε) / ε."""

    name: str
    offsets: tuple[float, ...]
    weights: tuple[float, ...]


#: The lesson's central difference, [L(θ + ε) − L(θ − ε)] / 2ε.
CENTRAL = Stencil("central difference", (1.0, -1.0), (0.5, -0.5))
#: The fourth-order central difference, for float32 code whose round-off
#: needs a step too large for the plain central difference to be accurate.
FOURTH_ORDER = Stencil(
    "fourth-order central difference", (2.0, 1.0, -1.0, -2.0), (-1 / 12, 8 / 12, -8 / 12, 1 / 12)
)

#: How far above the modelled round-off of a finite difference an error must
#: rise to count: measured errors of correct code stay below 6× the model.
NOISE_SAFETY = 30.0


def finite_difference_probes(
    params: dict[str, Array], stencil: Stencil, epsilon: float
) -> tuple[Probe, ...]:
    """One probe per stencil offset per parameter element, in ``params`` order."""
    return tuple(
        Probe(name, index, offset * epsilon)
        for name, value in params.items()
        for index in range(int(np.size(value)))
        for offset in stencil.offsets
    )


def finite_differences(
    params: dict[str, Array], probe_losses: Array, stencil: Stencil, epsilon: float
) -> dict[str, Array]:
    """The gradient estimate from the losses of :func:`finite_difference_probes`,
    keyed like gradients (``dW1``)."""
    per_element = np.asarray(probe_losses, np.float64).reshape(-1, len(stencil.offsets))
    estimates = per_element @ np.array(stencil.weights) / epsilon
    gradients, start = {}, 0
    for name, value in params.items():
        size = int(np.size(value))
        gradients[f"d{name}"] = estimates[start : start + size].reshape(np.shape(value))
        start += size
    return gradients


def loss_round_off(loss: float, AL: Array, loss_gradient: Array, unit_roundoff: float) -> float:
    """How far round-off of AL (relative ``unit_roundoff``) can move the loss:
    u·(max(1, |L|) + Σ |∂L/∂ŷ · ŷ|). The second term is large where the loss is
    ill-conditioned, e.g. bce at ŷ near 1."""
    conditioning = float(np.sum(np.abs(loss_gradient * AL)))
    return unit_roundoff * (max(1.0, abs(loss)) + conditioning)


def finite_difference_noise(
    loss_noise: float, size: int, stencil: Stencil, epsilon: float
) -> float:
    """The modelled round-off in the norm of a finite-difference gradient of
    ``size`` elements, from the round-off ``loss_noise`` of each loss."""
    return loss_noise * sum(abs(weight) for weight in stencil.weights) * np.sqrt(size) / epsilon
