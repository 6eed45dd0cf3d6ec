"""How dW and db are formed from δ: the lesson's way, and the known wrong ways.

Each view is named, so that an explanation found on one case can be replayed
on another. ``mistake`` is "" for the lesson's formula. A view with ``free``
scales may come with one of a few batch- or width-dependent factors, which
belong to that mistake (e.g. the mean over units of a per-example δ) and are
not separate mistakes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bpcheck._contract import Array


@dataclass(frozen=True)
class View:
    name: str
    mistake: str
    form: Callable[[Array, Array], Array]
    free: bool = False


def _transposed_reshaped(delta: Array, A: Array) -> Array:
    return (A @ delta.T).reshape(delta.shape[0], A.shape[0])


WEIGHT_VIEWS = (
    View("δ aᵀ", "", lambda delta, A: delta @ A.T),
    View("a δᵀ", "transposed_weight_gradient", lambda delta, A: A @ delta.T),
    View("a δᵀ reshaped to W's shape", "transposed_weight_gradient", _transposed_reshaped),
)

BIAS_VIEWS = (
    View("δ summed over the batch", "", lambda delta, A: delta.sum(axis=1, keepdims=True)),
    View(
        "δ with the batch axis kept",
        "bias_not_summed_over_batch",
        lambda delta, A: delta,
        free=True,
    ),
    View(
        "δ of the first example only",
        "bias_not_summed_over_batch",
        lambda delta, A: delta[:, :1],
        free=True,
    ),
    View(
        "δ of the last example only",
        "bias_not_summed_over_batch",
        lambda delta, A: delta[:, -1:],
        free=True,
    ),
    View(
        "δ summed over the units (axis 0) instead of the batch",
        "bias_not_summed_over_batch",
        lambda delta, A: delta.sum(axis=0, keepdims=True),
        free=True,
    ),
    View(
        "δ summed over the units (axis 0), flattened",
        "bias_not_summed_over_batch",
        lambda delta, A: delta.sum(axis=0),
        free=True,
    ),
)

VIEWS = {view.name: view for view in WEIGHT_VIEWS + BIAS_VIEWS}


def views_of(key: str) -> tuple[View, ...]:
    return WEIGHT_VIEWS if key.startswith("dW") else BIAS_VIEWS


def free_scales(batch: int, units: int) -> dict[str, float]:
    """The factors a free view may carry: per-example δ (× M), means (÷ M, ÷ n)."""
    return {
        "": 1.0,
        "× M": float(batch),
        "÷ M": 1.0 / batch,
        "÷ n": 1.0 / units,
        "× M ÷ n": batch / units,
    }
