"""Buggy (missing_activation_derivative), float32 throughout: the recurrence has no f′(z).

Derived from tests/implementations/correct_float32.py."""

from __future__ import annotations

import numpy as np

STYLE = "float32 internally, returns float32 AL and gradients"
MISTAKES: tuple[str, ...] = ('missing_activation_derivative',)

F32 = np.float32
Params = dict[str, np.ndarray]


def _f(name: str, z: np.ndarray) -> np.ndarray:
    if name == "relu":
        return np.maximum(z, F32(0))
    if name == "sigmoid":
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, F32(1) / (F32(1) + e), e / (F32(1) + e)).astype(F32)
    if name == "tanh":
        return np.tanh(z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)
    return z


def _fprime(name: str, z: np.ndarray) -> np.ndarray:
    if name == "relu":
        return (z > 0).astype(F32)
    if name == "sigmoid":
        s = _f("sigmoid", z)
        return s * (F32(1) - s)
    if name == "tanh":
        return F32(1) - np.tanh(z) ** 2
    return np.ones_like(z)


def forward(params: Params, X: np.ndarray, activations: list[str]) -> tuple[np.ndarray, dict]:
    A = np.asarray(X, dtype=F32)
    As, Zs = [A], []
    for l, name in enumerate(activations, start=1):
        W = np.asarray(params[f"W{l}"], dtype=F32)
        b = np.asarray(params[f"b{l}"], dtype=F32)
        Z = W @ A + b
        A = _f(name, Z)
        Zs.append(Z)
        As.append(A)
    return A, {"As": As, "Zs": Zs}


def backward(
    params: Params, cache: dict, Y: np.ndarray, activations: list[str], loss: str
) -> Params:
    As, Zs = cache["As"], cache["Zs"]
    Y32 = np.asarray(Y, dtype=F32)
    inv_m = F32(1.0 / Y32.shape[1])
    if loss == "mse":
        delta = F32(2) * (As[-1] - Y32) * inv_m * _fprime(activations[-1], Zs[-1])
    else:
        delta = (As[-1] - Y32) * inv_m
    grads = {}
    for l in range(len(activations), 0, -1):
        grads[f"dW{l}"] = delta @ As[l - 1].T
        grads[f"db{l}"] = delta.sum(axis=1, keepdims=True)
        if l > 1:
            W = np.asarray(params[f"W{l}"], dtype=F32)
            delta = W.T @ delta  # BUG: no f'(z)
    return grads
