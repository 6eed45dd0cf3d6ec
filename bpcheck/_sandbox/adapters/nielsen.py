"""Nielsen's *Neural Networks and Deep Learning*: ``network.py`` and ``network2.py``.

A ``Network(sizes)`` is built for each case and its ``weights`` and
``biases`` lists overwritten with the case's arrays (the book's layout is the
lesson's). ``backprop(x, y)`` takes one example as a column and returns
(nabla_b, nabla_w), the gradient of that example's cost; the batch gradient is
their mean, times 2 for ``network.py``'s quadratic cost ½‖a − y‖² (the
lesson's mse is ‖ŷ − y‖² averaged). ``network2``'s cross-entropy cost is
the lesson's bce per example, so its mean needs no factor.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np

from ..calls import Array
from ..execute import StudentFunctions
from ._common import Adapted, callable_of, depth_of, mean_gradients, missing, widths_of

NEEDED = {
    "Network": "class Network(sizes)",
    "Network.feedforward": "Network.feedforward(a)",
    "Network.backprop": "Network.backprop(x, y)",
}
#: The lesson's loss over the book's cost of one example, for each cost.
LOSS_FACTOR = {"quadratic": 2.0, "cross_entropy": 1.0}
COST_CLASS = {"quadratic": "QuadraticCost", "cross_entropy": "CrossEntropyCost"}


def _lists(result: Any) -> tuple[Sequence[Any], Sequence[Any]]:
    if (
        isinstance(result, (tuple, list))
        and len(result) == 2
        and all(isinstance(part, (tuple, list)) for part in result)
    ):
        return result[0], result[1]
    raise TypeError(
        "backprop(x, y) must return (nabla_b, nabla_w), two lists of arrays; "
        f"it returned a {type(result).__name__}"
    )


def adapt(module: ModuleType, settings: dict[str, Any]) -> Adapted:
    cost = str(settings.get("cost", "quadratic"))
    problems = missing(module, NEEDED, "nielsen")
    network = callable_of(module, "Network")
    cost_class = getattr(module, COST_CLASS[cost], None)

    def net(params: dict[str, Array], X: Array) -> Any:
        assert network is not None
        model = network(widths_of(params, X))
        if cost_class is not None and hasattr(model, "cost"):
            model.cost = cost_class
        depth = depth_of(params)
        model.weights = [params[f"W{layer}"] for layer in range(1, depth + 1)]
        model.biases = [params[f"b{layer}"] for layer in range(1, depth + 1)]
        return model

    def forward(params: dict[str, Array], X: Array, activations: list[str]) -> Any:
        model = net(params, X)
        columns = [model.feedforward(X[:, j : j + 1]) for j in range(X.shape[1])]
        AL = np.hstack(columns) if all(isinstance(c, np.ndarray) for c in columns) else columns
        return AL, (model, X)

    def backward(params: dict[str, Array], cache: Any, Y: Array, activations: list[str], loss: str) -> Any:
        model, X = cache
        per_example = []
        for j in range(X.shape[1]):
            nabla_b, nabla_w = _lists(model.backprop(X[:, j : j + 1], Y[:, j : j + 1]))
            example = {f"dW{layer}": value for layer, value in enumerate(nabla_w, start=1)}
            per_example.append(example | {f"db{layer}": value for layer, value in enumerate(nabla_b, start=1)})
        return mean_gradients(per_example, LOSS_FACTOR[cost])

    def compute_loss(AL: Array, Y: Array, loss: str) -> Any:
        costs = [cost_class.fn(AL[:, j : j + 1], Y[:, j : j + 1]) for j in range(Y.shape[1])]  # type: ignore[union-attr]
        return LOSS_FACTOR[cost] * float(np.mean(costs))

    functions = StudentFunctions(
        None if problems else forward,
        None if problems else backward,
        compute_loss if cost_class is not None and callable_of(cost_class, "fn") else None,
    )
    return Adapted(functions, problems)
