"""Buggy: a module-level running sum of gradients that is never reset, so the second
call on the same network returns twice the gradient.

Derived from correct_loop_lists.py with exactly one injected mistake.
"""

from __future__ import annotations

import numpy as np

STYLE = "loop over layers, cache = dict of Z/A lists"
TARGET_CHECK = "repeatable"
MISTAKE = "gradient_accumulates_across_calls"

Params = dict[str, np.ndarray]

_running: Params = {}  # BUG: module-level accumulator, never reset between calls


def _sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _activate(name: str, z: np.ndarray) -> np.ndarray:
    if name == "linear":
        return z
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "sigmoid":
        return _sigmoid(z)
    if name == "tanh":
        return np.tanh(z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)
    raise ValueError(f"unknown activation {name!r}")


def _derivative(name: str, z: np.ndarray) -> np.ndarray:
    if name == "linear":
        return np.ones_like(z)
    if name == "relu":
        return (z > 0).astype(z.dtype)
    if name == "sigmoid":
        s = _sigmoid(z)
        return s * (1.0 - s)
    if name == "tanh":
        return 1.0 - np.tanh(z) ** 2
    raise ValueError(f"no elementwise derivative for {name!r}")


def forward(params: Params, X: np.ndarray, activations: list[str]) -> tuple[np.ndarray, dict]:
    Zs, As = [], [X]
    for l, name in enumerate(activations, start=1):
        Z = params[f"W{l}"] @ As[-1] + params[f"b{l}"]
        Zs.append(Z)
        As.append(_activate(name, Z))
    return As[-1], {"Z": Zs, "A": As}


def backward(
    params: Params, cache: dict, Y: np.ndarray, activations: list[str], loss: str
) -> Params:
    Zs, As = cache["Z"], cache["A"]
    L, M = len(activations), Y.shape[1]
    if loss == "mse":
        dZ = 2.0 * (As[-1] - Y) / M * _derivative(activations[-1], Zs[-1])
    else:  # sigmoid + bce or softmax + cce: the clean simplification
        dZ = (As[-1] - Y) / M
    grads = {}
    for l in range(L, 0, -1):
        grads[f"dW{l}"] = dZ @ As[l - 1].T
        grads[f"db{l}"] = dZ.sum(axis=1, keepdims=True)
        if l > 1:
            dZ = (params[f"W{l}"].T @ dZ) * _derivative(activations[l - 2], Zs[l - 2])
    for k, g in grads.items():
        same = k in _running and _running[k].shape == g.shape
        _running[k] = _running[k] + g if same else g
    return {k: _running[k] for k in grads}


def compute_loss(AL: np.ndarray, Y: np.ndarray, loss: str) -> float:
    M = Y.shape[1]
    if loss == "mse":
        return float(np.sum((AL - Y) ** 2) / M)
    log_p = np.log(np.maximum(AL, 1e-300))  # the max only guards log(0)
    if loss == "bce":
        return float(-np.sum(Y * log_p + (1.0 - Y) * np.log(np.maximum(1.0 - AL, 1e-300))) / M)
    if loss == "cce":
        return float(-np.sum(Y * log_p) / M)
    raise ValueError(f"unknown loss {loss!r}")


def update(params: Params, grads: Params, learning_rate: float) -> Params:
    return {k: v - learning_rate * grads["d" + k] for k, v in params.items()}
