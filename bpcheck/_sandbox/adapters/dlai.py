"""deeplearning.ai Course 1: the L-layer API of Week 4, or Week 3's two-layer one.

Parameters, X (n0, m) and Y (1, m) are already in the lesson's layout and
passed through untouched; what differs is the calls, and that ``grads`` also
holds the course's ``dA`` keys (left out: they are not parameter gradients).
``update_parameters`` gets a copy of the dict, since older versions of the
course rebind its keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

from ..calls import Array
from ..execute import StudentFunctions
from ._common import GRADIENT_KEY, Adapted, callable_of, missing, takes

DEEP = {
    "L_model_forward": "L_model_forward(X, parameters)",
    "L_model_backward": "L_model_backward(AL, Y, caches)",
}
TWO_LAYER = {
    "forward_propagation": "forward_propagation(X, parameters)",
    "backward_propagation": "backward_propagation(parameters, cache, X, Y)",
}


def _parameter_gradients(grads: Any) -> Any:
    if not isinstance(grads, Mapping):
        return grads
    return {key: value for key, value in grads.items() if GRADIENT_KEY.match(str(key))}


def adapt(module: ModuleType, settings: dict[str, Any]) -> Adapted:
    two_layer = settings.get("variant") == "two_layer"
    needed = TWO_LAYER if two_layer else DEEP
    problems = missing(module, needed, "dlai")
    forward_name, backward_name = needed
    student_forward = callable_of(module, forward_name)
    student_backward = callable_of(module, backward_name)
    compute_cost = callable_of(module, "compute_cost")
    if compute_cost is not None and not takes(compute_cost, 2):  # older Week 3: (A2, Y, parameters)
        compute_cost = None
    update_parameters = callable_of(module, "update_parameters")

    def forward(params: dict[str, Array], X: Array, activations: list[str]) -> Any:
        assert student_forward is not None
        result = student_forward(X, params)
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            return result
        AL, caches = result
        return AL, (AL, caches, X)

    def backward(params: dict[str, Array], cache: Any, Y: Array, activations: list[str], loss: str) -> Any:
        assert student_backward is not None
        AL, caches, X = cache
        if two_layer:
            return _parameter_gradients(student_backward(params, caches, X, Y))
        return _parameter_gradients(student_backward(AL, Y, caches))

    def compute_loss(AL: Array, Y: Array, loss: str) -> Any:
        assert compute_cost is not None
        return compute_cost(AL, Y)

    def update(params: dict[str, Array], grads: dict[str, Array], learning_rate: float) -> Any:
        assert update_parameters is not None
        return update_parameters(dict(params), grads, learning_rate)

    functions = StudentFunctions(
        forward if student_forward else None,
        backward if student_backward else None,
        compute_loss if compute_cost else None,
        update if update_parameters else None,
    )
    return Adapted(functions, problems)
