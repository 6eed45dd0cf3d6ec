"""Buggy: the forward pass counts every bias twice (Z = W A + 2b), and backward
is the exact derivative of that wrong network (db = 2 Σ δ).

Derived from correct_table.py. The forward check must fail; finite
differences of the student's own forward must still agree with the
student's backward, which is how bpcheck tells a forward bug from a backward one."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

STYLE = "activation table, consistent but wrong forward/backward pair"
TARGET_CHECK = "forward"
MISTAKE = "forward_mismatch"

Params = dict[str, np.ndarray]
Fn = Callable[[np.ndarray], np.ndarray]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for any |z|


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - np.max(z, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


ACTIVATIONS: dict[str, tuple[Fn, Fn | None]] = {
    "linear": (lambda z: z, lambda z: np.ones_like(z)),
    "relu": (lambda z: np.maximum(0.0, z), lambda z: np.where(z > 0, 1.0, 0.0)),
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1.0 - _sigmoid(z))),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "softmax": (_softmax, None),  # only used with cce, via the clean delta
}


def forward(params: Params, X: np.ndarray, activations: list[str]) -> tuple[np.ndarray, list[dict]]:
    A, cache = X, []
    for l, name in enumerate(activations, start=1):
        f, _ = ACTIVATIONS[name]
        Z = params[f"W{l}"] @ A + 2 * params[f"b{l}"]  # BUG: the bias counted twice
        cache.append({"A_prev": A, "Z": Z, "act": name})
        A = f(Z)
    return A, cache + [{"AL": A}]


def backward(
    params: Params, cache: list[dict], Y: np.ndarray, activations: list[str], loss: str
) -> Params:
    AL, layers = cache[-1]["AL"], cache[:-1]
    M = Y.shape[1]
    if loss in ("bce", "cce"):
        delta = (AL - Y) / M
    else:
        fprime = ACTIVATIONS[layers[-1]["act"]][1]
        delta = 2.0 * (AL - Y) / M * fprime(layers[-1]["Z"])
    grads: Params = {}
    for l in reversed(range(1, len(layers) + 1)):
        layer = layers[l - 1]
        grads[f"dW{l}"] = delta @ layer["A_prev"].T
        grads[f"db{l}"] = 2 * np.sum(delta, axis=1, keepdims=True)  # consistent with the bug
        if l > 1:
            fprime = ACTIVATIONS[layers[l - 2]["act"]][1]
            delta = (params[f"W{l}"].T @ delta) * fprime(layers[l - 2]["Z"])
    return grads


def compute_loss(AL: np.ndarray, Y: np.ndarray, loss: str) -> float:
    M = Y.shape[1]

    def log(x: np.ndarray) -> np.ndarray:
        return np.log(np.clip(x, 1e-300, None))

    losses = {
        "mse": lambda: np.sum((AL - Y) ** 2),
        "bce": lambda: -np.sum(Y * log(AL) + (1 - Y) * log(1 - AL)),
        "cce": lambda: -np.sum(Y * log(AL)),
    }
    return float(losses[loss]() / M)


def update(params: Params, grads: Params, learning_rate: float) -> Params:
    new = {}
    for name, value in params.items():
        new[name] = value - learning_rate * grads["d" + name]
    return new
