"""Buggy (complex_forward): the input is made complex (X.T + 0j), left over from
a complex-step gradient check, so every layer's output and AL are complex
(with imaginary parts 0) and so are the gradients.

Derived from correct_rows.py."""

from __future__ import annotations

import numpy as np

STYLE = "examples as rows (M, n), derivatives written in terms of a = f(z)"
MISTAKES: tuple[str, ...] = ('complex_forward',)


def f(name: str, Z: np.ndarray) -> np.ndarray:
    if name == "relu":
        return Z * (Z > 0)
    if name == "sigmoid":
        return 0.5 * (1 + np.tanh(Z / 2))
    if name == "tanh":
        return np.tanh(Z)
    if name == "softmax":
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)
    return Z


def f_prime_from_output(name: str, A: np.ndarray) -> np.ndarray:
    if name == "relu":
        return (A > 0).astype(float)
    if name == "sigmoid":
        return A * (1 - A)
    if name == "tanh":
        return 1 - A**2
    return np.ones_like(A)


def forward(params: dict, X: np.ndarray, activations: list[str]) -> tuple[np.ndarray, list]:
    As = [X.T + 0j]  # BUG: left from a complex-step gradient check, θ + ih
    for l, name in enumerate(activations, start=1):
        Z = As[-1] @ params[f"W{l}"].T + params[f"b{l}"].T
        As.append(f(name, Z))
    return As[-1].T, As


def backward(params: dict, As: list, Y: np.ndarray, activations: list[str], loss: str) -> dict:
    L, M = len(activations), Y.shape[1]
    D = (As[-1] - Y.T) / M
    if loss == "mse":
        D = 2 * D * f_prime_from_output(activations[-1], As[-1])
    grads = {}
    for l in range(L, 0, -1):
        grads[f"dW{l}"] = D.T @ As[l - 1]
        grads[f"db{l}"] = D.sum(axis=0).reshape(-1, 1)
        if l > 1:
            D = (D @ params[f"W{l}"]) * f_prime_from_output(activations[l - 2], As[l - 1])
    return grads


def update(params: dict, grads: dict, learning_rate: float) -> dict:
    new = {}
    for key in params:
        new[key] = params[key] - learning_rate * grads["d" + key]
    return new
