"""Buggy: forward uses the caller's params dict as its cache, adding keys A0, Z1, A1, ...
to it. The gradient values are right.

Derived from correct_relu_ge0.py with exactly one injected mistake.
"""

from __future__ import annotations

import numpy as np

STYLE = "flat string-keyed cache (A0, Z1, A1, ...), dA/dZ variables"
TARGET_CHECK = "no_mutation"
MISTAKE = "params_mutated"

Params = dict[str, np.ndarray]


def sigmoid(z: np.ndarray) -> np.ndarray:
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def apply(name: str, Z: np.ndarray) -> np.ndarray:
    if name == "relu":
        return np.maximum(Z, 0)
    if name == "sigmoid":
        return sigmoid(Z)
    if name == "tanh":
        return np.tanh(Z)
    if name == "softmax":
        shifted = Z - Z.max(axis=0)
        return np.exp(shifted) / np.exp(shifted).sum(axis=0)
    return Z  # linear


def grad_through(name: str, dA: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """dZ = dA * f'(Z)."""
    if name == "relu":
        return dA * (Z >= 0)  # subgradient 1 at z == 0
    if name == "sigmoid":
        s = sigmoid(Z)
        return dA * s * (1 - s)
    if name == "tanh":
        return dA * (1 - np.tanh(Z) ** 2)
    return dA  # linear


def forward(params: Params, X: np.ndarray, activations: list[str]) -> tuple[np.ndarray, dict]:
    cache = params  # BUG: the caller's params dict doubles as the cache (keys get added)
    cache["A0"] = X
    for l in range(1, len(activations) + 1):
        cache[f"Z{l}"] = params[f"W{l}"] @ cache[f"A{l - 1}"] + params[f"b{l}"]
        cache[f"A{l}"] = apply(activations[l - 1], cache[f"Z{l}"])
    return cache[f"A{len(activations)}"], cache


def backward(
    params: Params, cache: dict, Y: np.ndarray, activations: list[str], loss: str
) -> Params:
    L = len(activations)
    M = Y.shape[1]
    AL = cache[f"A{L}"]
    if loss == "mse":
        dZ = grad_through(activations[-1], 2 * (AL - Y), cache[f"Z{L}"])
    else:
        dZ = AL - Y
    grads = {}
    for l in range(L, 0, -1):
        grads[f"dW{l}"] = dZ @ cache[f"A{l - 1}"].T / M
        grads[f"db{l}"] = np.sum(dZ, axis=1, keepdims=True) / M
        if l > 1:
            dA = params[f"W{l}"].T @ dZ
            dZ = grad_through(activations[l - 2], dA, cache[f"Z{l - 1}"])
    return grads


def compute_loss(AL: np.ndarray, Y: np.ndarray, loss: str) -> float:
    M = Y.shape[1]
    if loss == "mse":
        return float(np.sum(np.square(AL - Y)) / M)
    tiny = np.finfo(AL.dtype).tiny
    if loss == "bce":
        return float(
            -np.sum(Y * np.log(np.maximum(AL, tiny)) + (1 - Y) * np.log(np.maximum(1 - AL, tiny)))
            / M
        )
    return float(-np.sum(Y * np.log(np.maximum(AL, tiny))) / M)


def update(params: Params, grads: Params, learning_rate: float) -> Params:
    return {name: params[name] - learning_rate * grads[f"d{name}"] for name in params}
