"""What every translation shares: the result type, looking up the student's
functions, and converting arrays between the lesson's layout and a course's."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from ..calls import Array
from ..execute import StudentFunctions

GRADIENT_KEY = re.compile(r"^d([Wb])(\d+)$")


@dataclass(frozen=True)
class Adapted:
    """A module translated: the contract's functions, and what it lacks, one line each."""

    functions: StudentFunctions
    problems: tuple[str, ...] = ()


def callable_of(owner: Any, name: str) -> Callable[..., Any] | None:
    value = getattr(owner, name, None)
    return value if callable(value) else None


def takes(function: Callable[..., Any], count: int) -> bool:
    """Whether ``function`` can be called with ``count`` positional arguments (True when unknown)."""
    try:
        inspect.signature(function).bind(*range(count))
    except TypeError:
        return False
    except ValueError:
        return True
    return True


def lookup(module: ModuleType, name: str) -> Callable[..., Any] | None:
    """The module's callable ``name``, or a class's method as ``"Class.method"``."""
    owner, _, method = name.partition(".")
    found = callable_of(module, owner)
    return callable_of(found, method) if method and found is not None else found


def missing(module: ModuleType, needed: Mapping[str, str], adapter: str) -> tuple[str, ...]:
    """One problem per name of ``needed`` (name -> how the course calls it) the module lacks."""
    return tuple(
        f"no {call} (the {adapter} adapter needs it)"
        for name, call in needed.items()
        if lookup(module, name) is None
    )


def depth_of(params: Mapping[str, Any]) -> int:
    return sum(1 for name in params if name.startswith("W"))


def widths_of(params: Mapping[str, Any], X: Array) -> list[int]:
    """n0, n1, …, nL of the lesson-layout ``params`` fed with ``X`` (n0, M)."""
    return [int(X.shape[0])] + [int(params[f"W{layer}"].shape[0]) for layer in range(1, depth_of(params) + 1)]


# ------------------------------------------------------------------ layouts
# The lesson's layout: X (n0, M), W (out, in), b (out, 1), Y (nL, M) one-hot
# or real. Conversions to a course's layout return *views* where they can,
# so that a student's in-place change of what it was given still shows.


def course_weight(W: Array, in_out: bool) -> Array:
    return W.T if in_out else W


def course_bias(b: Array, form: str) -> Array:
    """b (out, 1) as a "column", "row" (1, out) or "flat" (out,) array."""
    if form == "flat":
        return b[:, 0]
    if form == "row":
        return b.T
    return b


def lesson_gradient(value: Any, kind: str, in_out: bool, bias: str) -> Any:
    """A course's gradient in the lesson's layout; anything but an array is
    passed on as it is, for the contract checks to report."""
    if not isinstance(value, np.ndarray):
        return value
    if kind == "W":
        return value.T if in_out else value
    if bias == "row":
        return value.T
    if bias == "flat" and value.ndim == 1:
        return value.reshape(-1, 1)
    return value


def class_indices(Y: Array) -> Array:
    """One-hot columns (C, M) as class indices (M,); a single 0/1 row as (M,) ints."""
    if Y.shape[0] == 1:
        return Y[0].astype(np.int64)
    return np.argmax(Y, axis=0).astype(np.int64)


def output_of(logits: Any, activation: str) -> Any:
    """ŷ from the output layer's pre-activations (features × batch), computed stably."""
    if not isinstance(logits, np.ndarray) or not np.issubdtype(logits.dtype, np.number):
        return logits
    z = logits.astype(np.float64) if not np.issubdtype(logits.dtype, np.floating) else logits
    if activation == "softmax":
        e = np.exp(z - z.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)
    if activation == "sigmoid":
        return np.exp(-np.logaddexp(0.0, -z))
    if activation == "tanh":
        return np.tanh(z)
    if activation == "relu":
        return np.maximum(z, 0.0)
    return z


def mean_gradients(per_example: Sequence[Mapping[str, Array]], factor: float) -> dict[str, Array]:
    """``factor`` × the mean over examples of each gradient."""
    keys = per_example[0].keys()
    return {key: factor * np.mean([np.asarray(example[key]) for example in per_example], axis=0) for key in keys}
