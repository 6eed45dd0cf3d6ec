"""Buggy, with no backprop at all: backward differentiates the module's own forward
pass numerically by the complex step, one complex forward pass per parameter.
The gradients are accurate; the cost is that of finite differences."""

from __future__ import annotations

import numpy as np

STYLE = "module objects for forward; complex-step differentiation for backward"
MISTAKES = ("numerical_differentiation",)


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
        return self.W.T @ grad


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


def _loss(AL: np.ndarray, Y: np.ndarray, loss: str) -> np.ndarray:
    M = Y.shape[1]
    if loss == "mse":
        return ((AL - Y) ** 2).sum() / M
    if loss == "bce":
        return -(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)).sum() / M
    return -(Y * np.log(AL)).sum() / M


def _complex_forward(params: dict, X: np.ndarray, activations: list[str]) -> np.ndarray:
    A = X.astype(complex)
    for l, name in enumerate(activations, start=1):
        Z = params[f"W{l}"] @ A + params[f"b{l}"]
        if name == "relu":
            A = Z * (Z.real > 0)
        elif name == "sigmoid":
            A = 1 / (1 + np.exp(-Z))
        elif name == "tanh":
            A = np.tanh(Z)
        elif name == "softmax":
            E = np.exp(Z - Z.real.max(axis=0, keepdims=True))
            A = E / E.sum(axis=0, keepdims=True)
        else:
            A = Z
    return A


def backward(params: dict, modules: list, Y: np.ndarray, activations: list[str], loss: str) -> dict:
    X = modules[0].x
    step = 1e-30
    grads = {}
    probe = {key: item.astype(complex) for key, item in params.items()}
    for name, value in params.items():
        gradient = np.zeros(value.shape)
        for index in np.ndindex(value.shape):
            probe[name][index] += 1j * step
            gradient[index] = _loss(_complex_forward(probe, X, activations), Y, loss).imag / step
            probe[name][index] -= 1j * step
        grads["d" + name] = gradient
    return grads


def update(params: dict, grads: dict, learning_rate: float) -> dict:
    return {key: value - learning_rate * grads["d" + key] for key, value in params.items()}
