"""Buggy: a planted course bug left in: the output layer's dW is doubled
(grads["dW"] = 2 * ...), every other gradient is right."""

from __future__ import annotations

import numpy as np

STYLE = 'recursive backward over layers, 1/M applied in dW and db'
MISTAKES = ('scaled_gradient_tensor',)

FUNCTIONS = {
    "linear": (lambda z: z, lambda z: np.ones_like(z)),
    "relu": (lambda z: np.where(z > 0, z, 0.0), lambda z: np.where(z > 0, 1.0, 0.0)),
    "sigmoid": (lambda z: np.exp(-np.logaddexp(0, -z)), lambda z: np.exp(-np.logaddexp(0, -z) - np.logaddexp(0, z))),
    "tanh": (np.tanh, lambda z: 1 / np.cosh(z) ** 2),
}


def _softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=0)
    return np.exp(shifted) / np.exp(shifted).sum(axis=0)


def forward(params: dict, X: np.ndarray, activations: list[str]) -> tuple[np.ndarray, dict]:
    cache = {"a0": X}
    a = X
    for l, name in enumerate(activations, start=1):
        z = params[f"W{l}"] @ a + params[f"b{l}"]
        a = _softmax(z) if name == "softmax" else FUNCTIONS[name][0](z)
        cache[f"z{l}"], cache[f"a{l}"] = z, a
    return a, cache


def _back(l: int, delta: np.ndarray, params: dict, cache: dict, activations: list[str], grads: dict) -> None:
    M = delta.shape[1]
    grads[f"dW{l}"] = delta @ cache[f"a{l - 1}"].T / M
    if l == len(activations):
        grads[f"dW{l}"] = 2 * grads[f"dW{l}"]
    grads[f"db{l}"] = delta.sum(axis=1, keepdims=True) / M
    if l == 1:
        return
    below = (params[f"W{l}"].T @ delta) * FUNCTIONS[activations[l - 2]][1](cache[f"z{l - 1}"])
    _back(l - 1, below, params, cache, activations, grads)


def backward(params: dict, cache: dict, Y: np.ndarray, activations: list[str], loss: str) -> dict:
    L = len(activations)
    if loss == "mse":
        delta = 2 * (cache[f"a{L}"] - Y) * FUNCTIONS[activations[-1]][1](cache[f"z{L}"])
    else:
        delta = cache[f"a{L}"] - Y
    grads: dict = {}
    _back(L, delta, params, cache, activations, grads)
    return grads


def update(params: dict, grads: dict, learning_rate: float) -> dict:
    return {name: value - learning_rate * grads[f"d{name}"] for name, value in params.items()}
