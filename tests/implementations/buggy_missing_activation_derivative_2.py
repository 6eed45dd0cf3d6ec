"""Buggy: per-example backprop that never multiplies the back-propagated error by f'(z).

Derived from correct_per_example.py with exactly one injected mistake.
"""

from __future__ import annotations

import math

import numpy as np

STYLE = "explicit Python loop over examples, np.outer accumulation"
TARGET_CHECK = "activation_gating"
MISTAKE = "missing_activation_derivative"

Params = dict[str, np.ndarray]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.vectorize(
        lambda t: 1 / (1 + math.exp(-t)) if t >= 0 else math.exp(t) / (1 + math.exp(t))
    )(z)


def _f(name: str, z: np.ndarray) -> np.ndarray:
    if name == "relu":
        return np.where(z > 0, z, 0.0)
    if name == "sigmoid":
        return _sigmoid(z)
    if name == "tanh":
        return np.tanh(z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=0))
        return e / e.sum(axis=0)
    return z.copy()


def _fprime(name: str, z: np.ndarray) -> np.ndarray:
    if name == "relu":
        return np.where(z > 0, 1.0, 0.0)
    if name == "sigmoid":
        return _sigmoid(z) * (1 - _sigmoid(z))
    if name == "tanh":
        return 1 - np.tanh(z) ** 2
    return np.ones(z.shape)


def forward(params: Params, X: np.ndarray, activations: list[str]) -> tuple[np.ndarray, dict]:
    A, zs, acts = X, [], [X]
    for l in range(1, len(activations) + 1):
        Z = params[f"W{l}"] @ A + params[f"b{l}"]
        A = _f(activations[l - 1], Z)
        zs.append(Z)
        acts.append(A)
    return A, {"zs": zs, "acts": acts}


def backward(
    params: Params, cache: dict, Y: np.ndarray, activations: list[str], loss: str
) -> Params:
    zs, acts = cache["zs"], cache["acts"]
    L, M = len(activations), Y.shape[1]
    grads = {}
    for l in range(1, L + 1):
        grads[f"dW{l}"] = np.zeros(params[f"W{l}"].shape)
        grads[f"db{l}"] = np.zeros(params[f"b{l}"].shape)
    for m in range(M):
        y, yhat = Y[:, m], acts[-1][:, m]
        if loss == "mse":
            d = 2 * (yhat - y) * _fprime(activations[-1], zs[-1][:, m])
        else:
            d = yhat - y
        for l in range(L, 0, -1):
            grads[f"dW{l}"] += np.outer(d, acts[l - 1][:, m])
            grads[f"db{l}"] += d[:, None]
            if l > 1:
                d = params[f"W{l}"].T @ d  # BUG: forgot * f'(z) of the layer below
    return {k: v / M for k, v in grads.items()}
