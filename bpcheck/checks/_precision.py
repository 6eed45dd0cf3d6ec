"""How strictly a student's numbers are judged: by the precision they really computed in.

The dtypes of what came back (AL, the gradients, the arrays in forward's
cache) say what the student computed in, and so does, empirically, how far
their forward pass departs from the reference's on the same case: a forward
cast to float32 and back to float64 carries float32's error in float64 arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import bpcheck_reference as reference
import numpy as np

from bpcheck._contract import Array, Case
from bpcheck._memo import per_case
from bpcheck._numerics import CENTRAL, FOURTH_ORDER, NORM_FLOOR, Stencil, relative_error
from bpcheck.checks._base import reference_gradients


@dataclass(frozen=True)
class Precision:
    """How strictly a student's numbers are judged, by the precision they computed in.

    ``exact`` bounds the relative error against the reference, ``finite`` the
    relative error against finite differences taken with ``stencil`` and step
    ``epsilon``. The float64 figures are the lesson's (central differences,
    1e-6 for ε = 1e-5); float32 "only reaches about 1e-3", and its round-off
    needs a larger step, which the fourth-order stencil keeps accurate.
    """

    name: str
    exact: float
    finite: float
    epsilon: float
    stencil: Stencil
    unit_roundoff: float
    norm_floor: float


FLOAT64 = Precision(
    "float64", 1e-7, 1e-6, 1e-5, CENTRAL, float(np.finfo(np.float64).eps), NORM_FLOOR
)
# Float32 derivatives of saturated units (1 − tanh² near 1) lose most of their
# digits, so gradients under 1e-2 in norm are compared absolutely.
FLOAT32 = Precision(
    "float32", 1e-3, 1e-3, 1e-2, FOURTH_ORDER, float(np.finfo(np.float32).eps), 1e-2
)

#: A float64 forward pass stays this close to the reference's (round-off of a
#: few operations per layer).
FLOAT64_DEPARTURE = 1e-10
#: A forward pass computed in float32 departs from the reference by at most
#: this many times what the reference's own forward pass in float32 does.
FLOAT32_ROUNDING = 100.0


def is_narrow(dtype: np.dtype | str) -> bool:
    """A floating dtype narrower than float64 (float32, float16)."""
    kind = np.dtype(dtype)
    return kind.kind == "f" and kind.itemsize < 8


def precision_of(*arrays: Array) -> Precision:
    """FLOAT32 when any array is in a float type narrower than float64."""
    return FLOAT32 if any(is_narrow(array.dtype) for array in arrays) else FLOAT64


@dataclass(frozen=True)
class Judgement:
    """The precision to judge at, and why (None: float64, nothing to say)."""

    precision: Precision
    reason: str | None


def reference_AL(case: Case) -> Array:
    """The reference's output for ``case`` (from its gradients' forward pass,
    which every case's gradient checks need anyway)."""
    return reference_gradients(case)[0]


@per_case
def float32_departure(case: Case) -> float:
    """How far the reference's AL moves when its forward pass runs in float32
    arithmetic: the scale of the error any float32 forward pass makes on ``case``."""
    activations = case.architecture.activations
    exact = reference_AL(case)
    A = case.X.astype(np.float32)
    with np.errstate(all="ignore"):
        for layer, name in enumerate(activations, start=1):
            Z = case.params[f"W{layer}"].astype(np.float32) @ A
            if f"b{layer}" in case.params:  # a network without biases has none
                Z = Z + case.params[f"b{layer}"].astype(np.float32)
            A = reference.ACTIVATIONS[name][0](Z).astype(np.float32)
        return relative_error(A, exact, floor=1e-300)


def judgement(arrays: tuple[Array, ...], cache_dtypes: tuple[str, ...], AL: Array | None, case: Case | None) -> Judgement:
    """What the student computed in: FLOAT32 when any returned array or any
    array of forward's cache is narrower than float64, or when their ``AL``
    for ``case`` departs from the reference's by more than float64 round-off
    and no more than float32 round-off would explain."""
    narrow = sorted({array.dtype.name for array in arrays if is_narrow(array.dtype)})
    narrow += [name for name in cache_dtypes if is_narrow(name) and name not in narrow]
    if narrow:
        return Judgement(
            FLOAT32,
            f"Your code computes in {' and '.join(narrow)}, so results were judged at the "
            f"float32 tolerance {FLOAT32.exact:g} (float64 code is held to {FLOAT64.exact:g}).",
        )
    if AL is None or case is None or not np.all(np.isfinite(AL)):
        return Judgement(FLOAT64, None)
    expected = reference_AL(case)
    if AL.shape != expected.shape:
        return Judgement(FLOAT64, None)
    with np.errstate(all="ignore"):
        departure = relative_error(AL, expected, floor=1e-300)
    if departure <= FLOAT64_DEPARTURE:  # float64 code: no float32 forward pass to run
        return Judgement(FLOAT64, None)
    bound = min(FLOAT32.exact, FLOAT32_ROUNDING * max(float32_departure(case), FLOAT32.unit_roundoff))
    if departure <= bound:
        return Judgement(
            FLOAT32,
            f"Your forward pass departs from the reference's by {departure:.1e} (relative): "
            "more than float64 round-off, as much as float32's, so part of your computation "
            f"runs in float32 and results were judged at the float32 tolerance {FLOAT32.exact:g}.",
        )
    return Judgement(FLOAT64, None)
