"""CS231n: assignment 2's ``FullyConnectedNet`` (or ``TwoLayerNet``) and layer functions.

The course is batch-first: X is (N, D), W is (in, out), b is (out,), y holds
class indices, and a net's ``loss(X)`` returns scores, ``loss(X, y)`` the pair
(loss, grads) with grads keyed like params. The net is built with the sizes
of each case, ``reg=0`` and ``dtype=float64`` (CS231n's float32 is its
default, not the student's choice), and its freshly drawn ``params`` are then
overwritten with views of the case's arrays. ŷ is the softmax of the scores.
A net also answers ``regularised``: built with ``reg=λ`` (and given it to
``loss`` where that takes ``reg``), its (loss, grads) as they are.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

import numpy as np

from ..calls import Array
from ..execute import StudentFunctions
from ._common import (
    Adapted,
    callable_of,
    class_indices,
    course_bias,
    depth_of,
    lesson_gradient,
    lookup,
    missing,
    output_of,
    widths_of,
)

LAYERS = {
    "affine_forward": "affine_forward(x, w, b)",
    "affine_backward": "affine_backward(dout, cache)",
    "relu_forward": "relu_forward(x)",
    "relu_backward": "relu_backward(dout, cache)",
    "softmax_loss": "softmax_loss(x, y)",
}
#: Constructor keywords, by what they mean, in the spellings of the course's versions.
_SIZE_KEYWORDS = {
    "input": ("input_dim", "input_size"),
    "hidden": ("hidden_dim", "hidden_size"),
    "output": ("num_classes", "output_size"),
}


def _course_params(params: Mapping[str, Array]) -> dict[str, Array]:
    """Views of the lesson's params in the course's layout: W (in, out), b (out,)."""
    course = {}
    for layer in range(1, depth_of(params) + 1):
        course[f"W{layer}"] = params[f"W{layer}"].T
        course[f"b{layer}"] = course_bias(params[f"b{layer}"], "flat")
    return course


def _lesson_grads(grads: Any) -> Any:
    if not isinstance(grads, Mapping):
        return grads
    return {
        f"d{key}": lesson_gradient(value, str(key)[0], in_out=True, bias="flat")
        for key, value in grads.items()
        if str(key)[:1] in ("W", "b") and str(key)[1:].isdigit()
    }


def _keywords(function: Callable[..., Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The ``wanted`` keywords that ``function`` accepts."""
    try:
        accepted = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return dict(wanted)
    return {name: value for name, value in wanted.items() if name in accepted}


def _build(cls: Callable[..., Any], widths: list[int], reg: float) -> Any:
    """The student's net for ``widths``, with L2 strength ``reg``, in float64."""
    sizes = {"input": widths[0], "output": widths[-1]}
    wanted: dict[str, Any] = {"reg": reg, "dtype": np.float64, "hidden_dims": widths[1:-1]}
    if len(widths) == 3:
        sizes["hidden"] = widths[1]
    for meaning, value in sizes.items():
        for spelling in _SIZE_KEYWORDS[meaning]:
            wanted[spelling] = value
    return cls(**_keywords(cls, wanted))


def _net_functions(cls: Callable[..., Any]) -> tuple[Callable[..., Any], ...]:
    def net(params: dict[str, Array], X: Array, reg: float = 0.0) -> Any:
        model = _build(cls, widths_of(params, X), reg)
        model.params = _course_params(params)
        return model

    def scores(model: Any, X: Array, y: Array | None, reg: float = 0.0) -> Any:
        extra = _keywords(model.loss, {"reg": reg})
        return model.loss(X.T, **extra) if y is None else model.loss(X.T, y, **extra)

    def loss_and_grads(model: Any, X: Array, Y: Array, reg: float) -> tuple[Any, Any]:
        result = scores(model, X, class_indices(Y), reg)
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            raise TypeError(
                f"{type(model).__name__}.loss(X, y) must return (loss, grads); "
                f"it returned a {type(result).__name__}"
            )
        return result[0], _lesson_grads(result[1])

    def forward(params: dict[str, Array], X: Array, activations: list[str]) -> Any:
        model = net(params, X)
        return output_of(_transposed(scores(model, X, None)), activations[-1]), (model, X)

    def backward(params: dict[str, Array], cache: Any, Y: Array, activations: list[str], loss: str) -> Any:
        model, X = cache
        return loss_and_grads(model, X, Y, 0.0)[1]

    def regularised(
        params: dict[str, Array], X: Array, Y: Array, activations: list[str], loss: str, reg: float
    ) -> Any:
        return loss_and_grads(net(params, X, reg), X, Y, reg)

    return forward, backward, regularised


def _transposed(value: Any) -> Any:
    return value.T if isinstance(value, np.ndarray) else value


def _layer_functions(module: ModuleType) -> tuple[Callable[..., Any], Callable[..., Any]]:
    f = {name: lookup(module, name) for name in LAYERS}

    def forward(params: dict[str, Array], X: Array, activations: list[str]) -> Any:
        course, out, caches = _course_params(params), X.T, []
        depth = depth_of(params)
        for layer in range(1, depth + 1):
            out, affine = f["affine_forward"](out, course[f"W{layer}"], course[f"b{layer}"])  # type: ignore[misc]
            relu = None
            if layer < depth:
                out, relu = f["relu_forward"](out)  # type: ignore[misc]
            caches.append((affine, relu))
        return output_of(_transposed(out), activations[-1]), (out, caches)

    def backward(params: dict[str, Array], cache: Any, Y: Array, activations: list[str], loss: str) -> Any:
        scores, caches = cache
        _, dout = f["softmax_loss"](scores, class_indices(Y))  # type: ignore[misc]
        grads = {}
        for layer in range(len(caches), 0, -1):
            affine, relu = caches[layer - 1]
            if relu is not None:
                dout = f["relu_backward"](dout, relu)  # type: ignore[misc]
            dout, dw, db = f["affine_backward"](dout, affine)  # type: ignore[misc]
            grads[f"W{layer}"], grads[f"b{layer}"] = dw, db
        return _lesson_grads(grads)

    return forward, backward


def adapt(module: ModuleType, settings: dict[str, Any]) -> Adapted:
    model = str(settings.get("model", ""))
    regularised = None
    if model:
        problems = missing(module, {model: f"class {model}", f"{model}.loss": f"{model}.loss(X, y)"}, "cs231n")
        forward, backward, regularised = _net_functions(getattr(module, model, None))  # type: ignore[arg-type]
    else:
        problems = missing(module, LAYERS, "cs231n")
        forward, backward = _layer_functions(module)
    softmax_loss = callable_of(module, "softmax_loss")

    def compute_loss(AL: Array, Y: Array, loss: str) -> Any:
        assert softmax_loss is not None
        with np.errstate(divide="ignore"):
            return softmax_loss(np.log(AL).T, class_indices(Y))[0]

    functions = StudentFunctions(
        None if problems else forward,
        None if problems else backward,
        compute_loss if softmax_loss is not None and not problems else None,
        regularised=None if problems else regularised,
    )
    return Adapted(functions, problems)
