"""Buggy: the error is sent back through W, not Wᵀ (it raises a shape error on
non-square layers, and is wrong on square ones).

Derived from correct_modules.py."""

from __future__ import annotations

import numpy as np

STYLE = "module objects (Linear, Activation) with forward/backward, grads as attributes"
MISTAKES = ("untransposed_weight_in_recurrence",)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))


class Linear:
    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        self.W, self.b = W, b

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return self.W @ x + self.b

    def backward(self, grad: np.ndarray) -> np.ndarray:
        self.dW = grad @ self.x.T
        self.db = grad.sum(axis=1, keepdims=True)
        return self.W @ grad  # BUG (not catalogued): W, not W.T


class Activation:
    def __init__(self, name: str) -> None:
        self.name = name

    def forward(self, z: np.ndarray) -> np.ndarray:
        self.z = z
        if self.name == "relu":
            return np.maximum(z, 0.0)
        if self.name == "sigmoid":
            return _sigmoid(z)
        if self.name == "tanh":
            return np.tanh(z)
        if self.name == "softmax":
            e = np.exp(z - z.max(axis=0, keepdims=True))
            return e / e.sum(axis=0, keepdims=True)
        return z

    def backward(self, grad: np.ndarray) -> np.ndarray:
        if self.name == "relu":
            return grad * (self.z > 0)
        if self.name == "sigmoid":
            s = _sigmoid(self.z)
            return grad * s * (1 - s)
        if self.name == "tanh":
            return grad * (1 - np.tanh(self.z) ** 2)
        return grad


def forward(params: dict, X: np.ndarray, activations: list[str]) -> tuple[np.ndarray, list]:
    modules = []
    out = X
    for l, name in enumerate(activations, start=1):
        modules += [Linear(params[f"W{l}"], params[f"b{l}"]), Activation(name)]
        out = modules[-1].forward(modules[-2].forward(out))
    return out, modules


def backward(params: dict, modules: list, Y: np.ndarray, activations: list[str], loss: str) -> dict:
    AL = modules[-1].forward(modules[-1].z)
    M = Y.shape[1]
    if loss == "mse":
        grad = modules[-1].backward(2 * (AL - Y) / M)
    else:
        grad = (AL - Y) / M
    for module in reversed(modules[:-1]):
        grad = module.backward(grad)
    linears = [module for module in modules if isinstance(module, Linear)]
    grads = {}
    for l, linear in enumerate(linears, start=1):
        grads[f"dW{l}"], grads[f"db{l}"] = linear.dW, linear.db
    return grads


def update(params: dict, grads: dict, learning_rate: float) -> dict:
    return {key: value - learning_rate * grads["d" + key] for key, value in params.items()}
