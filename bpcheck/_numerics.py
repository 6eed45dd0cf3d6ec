"""Numerics the checks share: relative error, best-fit scale, finite differences
(element-wise and along random directions) and their round-off model."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bpcheck._sandbox.calls import DirectionProbe, Probe

Array = NDArray[Any]

#: Below this combined norm two gradients are compared absolutely, so that
#: round-off on a (nearly) zero gradient is not mistaken for a relative error.
NORM_FLOOR = 1e-3


#: NumPy's dtype kinds of real numbers: booleans, signed and unsigned integers, floats.
REAL_KINDS = "biuf"


def real_arrays(arrays: Mapping[str, Array], keys: Iterable[str]) -> dict[str, Array]:
    """The arrays of ``arrays`` under ``keys`` (the ones the contract reads: the
    rest are the student's, of any size) that hold real numbers, ready to
    compare with real gradients: floats as they are (their precision decides
    tolerances and stencils), booleans and integers as float64 (NumPy cannot
    subtract booleans). Complex arrays are left out: casting one to real
    silently drops its imaginary part, so no error against real values is
    defined for it (gradient_shapes refuses every dtype that is not a float)."""
    real = {}
    for key in keys:
        value = arrays.get(key)
        if value is not None and value.dtype.kind in REAL_KINDS:
            real[key] = value if value.dtype.kind == "f" else value.astype(np.float64)
    return real


def relative_error(got: Array, expected: Array, floor: float = NORM_FLOOR) -> float:
    """‖got − expected‖ / max(‖got‖ + ‖expected‖, floor), in float64 (complex128
    for complex values, whose imaginary parts count: none is dropped).

    0 for identical tensors, about 0.7 for unrelated ones of the same size, and at
    most 1, for opposite signs (or one of them 0).
    """
    got64, expected64 = _flat64(got), _flat64(expected)
    scale = max(_norm(got64) + _norm(expected64), floor)
    return _norm(got64 - expected64) / scale


def _flat64(values: Array) -> Array:
    values = np.asarray(values)
    wide = np.complex128 if values.dtype.kind == "c" else np.float64
    return values.astype(wide, copy=False).ravel()


def _norm(vector: Array) -> float:
    """The 2-norm of a flat float64 or complex128 vector (what np.linalg.norm
    gives, with less overhead)."""
    if vector.dtype.kind == "c":
        return math.sqrt(float(np.vdot(vector, vector).real))
    return math.sqrt(float(vector @ vector))


def best_fit_scale(got: Array, expected: Array) -> float | None:
    """The s minimising ‖got − s·expected‖, or None when ``expected`` is zero."""
    expected64 = np.asarray(expected, np.float64).ravel()
    denominator = float(expected64 @ expected64)
    if denominator == 0.0:
        return None
    return float(np.asarray(got, np.float64).ravel() @ expected64) / denominator


class ScaledErrors:
    """``relative_error(got, c * predicted)`` judged against a tolerance for many
    scalars c, cheaply: ‖got − c·p‖² = g·g − 2c·g·p + c²·p·p from three dot
    products made once. A c that this form shows, past every rounding of it,
    to lie well above the tolerance is rejected at once; any other is judged
    by :func:`relative_error` itself, so the answers are exactly its answers.
    (The form loses precision to cancellation near a match, which is why it
    only rejects; it is not used for complex or non-finite values.)"""

    def __init__(self, got: Array, predicted: Array) -> None:
        self._got, self._predicted = got, predicted
        g, p = _flat64(got), _flat64(predicted)
        self._dots: tuple[float, float, float] | None = None
        if g.dtype.kind == "f" and p.dtype.kind == "f":
            with np.errstate(all="ignore"):  # an overflow gives inf: relative_error decides
                dots = (float(g @ g), float(g @ p), float(p @ p))
            if all(math.isfinite(dot) for dot in dots):
                self._dots = dots
                self._norms = math.sqrt(dots[0]), math.sqrt(dots[2])
        # A dot product of n terms is off by at most about n·ε times the sum of
        # the terms' sizes: ≤ n·ε·‖g‖·‖p‖ for g·p (Cauchy–Schwarz); 4 more for the sum.
        self._rounding = (g.size + 4) * 2.3e-16

    def within(self, scale: float, tolerance: float, floor: float = NORM_FLOOR) -> bool:
        """Whether ``relative_error(got, scale * predicted, floor) <= tolerance``."""
        if self._dots is not None and math.isfinite(scale):
            gg, gp, pp = self._dots
            norm_g, norm_p = self._norms
            squared = gg - 2.0 * scale * gp + scale * scale * pp
            error = self._rounding * (gg + 2.0 * abs(scale) * norm_g * norm_p + scale * scale * pp)
            bound = tolerance * max(norm_g + abs(scale) * norm_p, floor) * (1 + 1e-6)
            if squared - error > bound * bound:
                return False
        return relative_error(self._got, scale * self._predicted, floor) <= tolerance


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
    ``size`` elements (1 for a directional derivative), from the round-off
    ``loss_noise`` of each loss."""
    return loss_noise * sum(abs(weight) for weight in stencil.weights) * np.sqrt(size) / epsilon


# ------------------------------------------------------- directional differences
#
# Backprop's gradient g is checked along a few random unit directions v: the
# directional derivative ∂L/∂v = g·v costs one dot product with the student's
# gradient, and its finite difference [L(θ + εv) − L(θ − εv)] / 2ε two forward
# passes, whatever the number of parameters. A wrong entry of g shows in g·v
# unless v is nearly orthogonal to the error, which for a random Gaussian v has
# probability about the tolerance divided by the size of the error; every case
# draws fresh directions (see docs/finite-differences.md).

#: The name of the direction that spans every parameter tensor at once.
ALL_PARAMETERS = "all parameters"


def random_directions(params: dict[str, Array], seed: int) -> dict[str, dict[str, Array]]:
    """Unit directions: one per parameter tensor (keyed by its name, moving only
    that tensor) and one across every tensor (keyed :data:`ALL_PARAMETERS`),
    each Gaussian and normalised to length 1, drawn from ``seed``: the
    per-tensor directions first, in ``params`` order, then the one across all."""
    shapes = {name: np.shape(value) for name, value in params.items()}
    sizes = [math.prod(shape) for shape in shapes.values()]
    total = sum(sizes)
    normal = np.random.default_rng(seed).normal(size=2 * total)  # as one draw per tensor would give
    own, together = normal[:total], normal[total:]
    together = together / _norm(together)
    directions: dict[str, dict[str, Array]] = {}
    across: dict[str, Array] = {}
    start = 0
    for (name, shape), size in zip(shapes.items(), sizes, strict=True):
        part = own[start : start + size]
        directions[name] = {name: (part / _norm(part)).reshape(shape)}
        across[name] = together[start : start + size].reshape(shape)
        start += size
    directions[ALL_PARAMETERS] = across
    return directions


def directional_probes(
    directions: dict[str, dict[str, Array]], stencil: Stencil, epsilon: float
) -> tuple[DirectionProbe, ...]:
    """One probe per stencil offset per direction, in ``directions`` order."""
    return tuple(
        DirectionProbe(direction, offset * epsilon)
        for direction in directions.values()
        for offset in stencil.offsets
    )


def directional_estimates(
    directions: dict[str, dict[str, Array]], probe_losses: Array, stencil: Stencil, epsilon: float
) -> dict[str, float]:
    """The derivative along each direction from the losses of :func:`directional_probes`."""
    per_direction = np.asarray(probe_losses, np.float64).reshape(-1, len(stencil.offsets))
    estimates = per_direction @ np.array(stencil.weights) / epsilon
    return {name: float(value) for name, value in zip(directions, estimates, strict=True)}


def along(gradients: dict[str, Array], direction: dict[str, Array]) -> float:
    """g·v: the derivative along ``direction`` that ``gradients`` (keyed ``dW1``) claim."""
    return float(
        sum(np.sum(np.asarray(gradients[f"d{name}"], np.float64) * part) for name, part in direction.items())
    )
