"""Buggy (activation_derivative_of_output): f′ is taken at a = f(z), and ReLU′(0) is 1.

ReLU′ of a ≥ 0 is then 1 everywhere, so the ReLU layers show the gradients of a
missing f′, while the sigmoid and tanh layers show f′ of the output: the run
must name the one mistake that explains both.

Derived from tests/implementations/correct_table.py."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

STYLE = "activation table name -> (f, f′ of z) with ReLU′(0) = 1, examples as columns"
MISTAKES: tuple[str, ...] = ("activation_derivative_of_output",)

Fn = Callable[[np.ndarray], np.ndarray]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - np.max(z, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


ACTIVATIONS: dict[str, tuple[Fn, Fn]] = {
    "linear": (lambda z: z, np.ones_like),
    "relu": (lambda z: np.maximum(0.0, z), lambda z: (z >= 0).astype(float)),
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1.0 - _sigmoid(z))),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "softmax": (_softmax, np.ones_like),  # only used with cce, via the clean delta
}


def forward(params: dict, X: np.ndarray, activations: list[str]) -> tuple[np.ndarray, list]:
    A, cache = X, []
    for l, name in enumerate(activations, start=1):
        Z = params[f"W{l}"] @ A + params[f"b{l}"]
        cache.append((A, Z))
        A = ACTIVATIONS[name][0](Z)
    return A, cache + [A]


def backward(params: dict, cache: list, Y: np.ndarray, activations: list[str], loss: str) -> dict:
    AL, layers, M = cache[-1], cache[:-1], Y.shape[1]
    delta = (AL - Y) / M
    if loss == "mse":
        delta = 2.0 * delta * ACTIVATIONS[activations[-1]][1](layers[-1][1])
    grads = {}
    for l in range(len(layers), 0, -1):
        A_prev = layers[l - 1][0]
        grads[f"dW{l}"] = delta @ A_prev.T
        grads[f"db{l}"] = np.sum(delta, axis=1, keepdims=True)
        if l > 1:
            fprime = ACTIVATIONS[activations[l - 2]][1]
            delta = (params[f"W{l}"].T @ delta) * fprime(A_prev)  # BUG: f′(a), not f′(z)
    return grads


def update(params: dict, grads: dict, learning_rate: float) -> dict:
    return {key: value - learning_rate * grads["d" + key] for key, value in params.items()}
