"""Finite differences of (the reference loss ∘ the student's own forward pass).

Judging a case takes a few directional differences: one random unit direction
per parameter tensor and one across every tensor, two forward passes each
(four for float32's fourth-order stencil), whatever the number of parameters.
Element-wise differences, two forward passes per parameter, are taken only
after a failure, for the failing tensors, to fill the report's table.

Either way the round-off of the loss is modelled once per case, at the
unperturbed parameters, and sets the norm below which an estimate is compared
absolutely (see :func:`bpcheck._numerics.loss_round_off`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import bpcheck_reference as reference
import numpy as np

from bpcheck._contract import Array, Case
from bpcheck._memo import per_case
from bpcheck._numerics import (
    ALL_PARAMETERS,
    NOISE_SAFETY,
    NORM_FLOOR,
    along,
    directional_estimates,
    directional_probes,
    finite_difference_noise,
    finite_difference_probes,
    finite_differences,
    loss_round_off,
    random_directions,
    relative_error,
)
from bpcheck._sandbox.calls import ProbeCall
from bpcheck.checks._context import CheckContext
from bpcheck.checks._precision import Precision
from bpcheck.strategies import DEFAULT_KINK_MARGIN

#: Element-wise differences are taken for failing tensors of at most this many entries.
ELEMENT_LIMIT = 4096


@per_case
def case_seed(case: Case) -> int:
    """A seed that depends on the case's parameters only: the same case always
    gets the same directions."""
    digest = 0
    for name, value in case.params.items():
        digest = zlib.crc32(name.encode() + np.ascontiguousarray(value, np.float64).tobytes(), digest)
    return digest


def loss_noise(case: Case, AL: Array, precision: Precision) -> float:
    """The modelled round-off of the reference loss of ``AL`` (inf where the loss is)."""
    loss, AL = case.architecture.loss, _real_part(AL)
    with np.errstate(all="ignore"):
        value = reference.compute_loss(AL, case.Y, loss)
        gradient = reference.loss_gradient(AL, case.Y, loss)
        noise = loss_round_off(value, AL, gradient, precision.unit_roundoff)
    return noise if np.isfinite(noise) else float("inf")


@per_case
def directions(case: Case) -> dict[str, dict[str, Array]]:
    """The random directions of ``case`` (see :func:`random_directions`)."""
    return random_directions(case.params, case_seed(case))


@per_case
def _directional_calls(case: Case) -> dict[str, ProbeCall]:
    return {}


def directional_call(case: Case, precision: Precision) -> ProbeCall:
    """The student's forward at the probes of :func:`directional_differences`
    (the same request object each time it is asked for)."""
    calls = _directional_calls(case)
    if precision.name not in calls:
        probes = directional_probes(directions(case), precision.stencil, precision.epsilon)
        calls[precision.name] = ProbeCall(case.params, case.X, case.architecture.activations, probes)
    return calls[precision.name]



@dataclass(frozen=True)
class DirectionalDifferences:
    """Along each direction (a parameter's name, or :data:`ALL_PARAMETERS`):
    the finite-difference ``estimates``, the derivative the student's gradients
    ``claimed``, and the ``floors`` below which the two are compared absolutely."""

    estimates: dict[str, float]
    claimed: dict[str, float]
    floors: dict[str, float]
    precision: Precision

    def error(self, name: str) -> float | None:
        """|claimed − estimate| / max(|claimed| + |estimate|, floor); None where the
        estimate cannot judge anything (an infinite loss)."""
        estimate, claimed, floor = self.estimates[name], self.claimed[name], self.floors[name]
        if not (np.isfinite(estimate) and np.isfinite(floor)):
            return None
        if not np.isfinite(claimed):
            return float("inf")
        scale = max(abs(claimed) + abs(estimate), floor)
        return abs(claimed - estimate) / scale

    def wrong(self) -> list[str]:
        """The directions along which the gradients disagree beyond the tolerance."""
        return [
            name
            for name in self.estimates
            if (error := self.error(name)) is not None and not error <= self.precision.finite
        ]

    def describe(self) -> str:
        return (
            f"{self.precision.stencil.name}s of your own forward along one random direction "
            f"per parameter and one across all (ε = {self.precision.epsilon:g})"
        )


def _probe_losses(outputs: Array, case: Case) -> Array:
    """The reference loss of each of the student's forward outputs at the probes."""
    loss = case.architecture.loss
    return np.array([reference.compute_loss(AL, case.Y, loss) for AL in _real_part(outputs)])


def _real_part(AL: Array) -> Array:
    """The student's forward output as the reference loss takes it: its real part,
    for a forward that returns complex numbers (the forward check fails it for
    that; these differences judge the gradients)."""
    return AL.real if AL.dtype.kind == "c" else AL


def directional_differences(
    context: CheckContext, case: Case, precision: Precision, grads: dict[str, Array], AL: Array
) -> DirectionalDifferences:
    """Finite differences of the reference loss through the student's forward,
    along the directions of :func:`directional_call`, against ``grads``;
    ``AL`` is the student's unperturbed output, for the round-off model."""
    call = directional_call(case, precision)
    reply = context.call(call, case)
    assert reply.probes is not None
    along_each = directions(case)
    with np.errstate(all="ignore"):
        losses = _probe_losses(reply.probes, case)
        estimates = directional_estimates(along_each, losses, precision.stencil, precision.epsilon)
    noise = NOISE_SAFETY * finite_difference_noise(
        loss_noise(case, AL, precision), 1, precision.stencil, precision.epsilon
    )
    floors = {
        name: max(noise / precision.finite, NORM_FLOOR / np.sqrt(_size(direction)))
        for name, direction in along_each.items()
    }
    claimed = {name: along(grads, direction) for name, direction in along_each.items()}
    return DirectionalDifferences(estimates, claimed, floors, precision)


def _size(direction: dict[str, Array]) -> int:
    return sum(int(np.size(part)) for part in direction.values())


@dataclass(frozen=True)
class ElementDifferences:
    """Element-wise finite-difference gradients of some tensors, with the norm
    below which each is compared absolutely because round-off would swamp a
    relative error."""

    gradients: dict[str, Array]
    floors: dict[str, float]
    precision: Precision

    def is_finite(self, key: str) -> bool:
        """Whether the estimate for ``key`` can judge anything: finite, with a finite floor."""
        return bool(np.all(np.isfinite(self.gradients[key]))) and bool(np.isfinite(self.floors[key]))

    def judgeable(self) -> dict[str, Array]:
        """The estimates that :meth:`is_finite`."""
        return {key: value for key, value in self.gradients.items() if self.is_finite(key)}

    def relative_error(self, key: str, got: Array) -> float:
        return relative_error(got, self.gradients[key], max(self.floors[key], NORM_FLOOR))


def element_differences(
    context: CheckContext, case: Case, precision: Precision, names: list[str]
) -> ElementDifferences:
    """Element-wise finite differences for the parameters ``names`` (``W2``) of
    ``case``: two forward passes per entry (four in float32)."""
    params = {name: case.params[name] for name in names}
    probes = finite_difference_probes(params, precision.stencil, precision.epsilon)
    reply = context.call(ProbeCall(case.params, case.X, case.architecture.activations, probes), case)
    assert reply.probes is not None
    with np.errstate(all="ignore"):
        losses = _probe_losses(reply.probes, case)
        estimates = finite_differences(params, losses, precision.stencil, precision.epsilon)
        base = reference.forward(case.params, case.X, case.architecture.activations)[0]
    noise = loss_noise(case, base, precision)
    floors = {
        key: NOISE_SAFETY
        * finite_difference_noise(noise, value.size, precision.stencil, precision.epsilon)
        / precision.finite
        for key, value in estimates.items()
    }
    return ElementDifferences(estimates, floors, precision)


def kink(case: Case, margin: float = DEFAULT_KINK_MARGIN / 2) -> str | None:
    """Where ``case`` puts a ReLU pre-activation within ``margin`` of its kink at 0
    ("layer 2, unit 3: z = 0"), or None: a finite difference across a kink is
    not a derivative at all."""
    with np.errstate(all="ignore"):
        _, cache = reference.forward(case.params, case.X, case.architecture.activations)
    for layer, activation in enumerate(case.architecture.activations, start=1):
        if activation != "relu":
            continue
        Z = cache[f"Z{layer}"]
        units, _ = np.nonzero(np.abs(Z) < margin)
        if units.size:
            unit = int(units[0])
            return f"layer {layer}, unit {unit + 1}: z = {float(Z[unit][np.argmin(np.abs(Z[unit]))]):.3g}"
    return None


__all__ = [
    "ALL_PARAMETERS",
    "ELEMENT_LIMIT",
    "DirectionalDifferences",
    "ElementDifferences",
    "case_seed",
    "directional_call",
    "directional_differences",
    "element_differences",
    "kink",
]
