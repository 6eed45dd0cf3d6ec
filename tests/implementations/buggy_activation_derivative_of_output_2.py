"""Buggy: Dense.local_grad plugs the layer output a into the f'(z) formulas
(e.g. sigmoid'(a) = s(a)(1 - s(a))); affects sigmoid/tanh layers, incl. an mse output layer.

Derived from correct_class.py with exactly one injected mistake.
"""

from __future__ import annotations

import numpy as np

STYLE = "small Dense/Network classes, module functions are thin wrappers"
TARGET_CHECK = "gradient_values"
MISTAKE = "activation_derivative_of_output"

Params = dict[str, np.ndarray]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


class Dense:
    def __init__(self, W: np.ndarray, b: np.ndarray, activation: str) -> None:
        self.W, self.b, self.activation = W, b, activation
        self.x: np.ndarray | None = None
        self.z: np.ndarray | None = None
        self.a: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x, self.z = x, self.W @ x + self.b
        z = self.z
        if self.activation == "relu":
            return np.maximum(z, 0)
        if self.activation == "sigmoid":
            return _sigmoid(z)
        if self.activation == "tanh":
            return np.tanh(z)
        if self.activation == "softmax":
            e = np.exp(z - z.max(axis=0, keepdims=True))
            return e / e.sum(axis=0, keepdims=True)
        return z

    def local_grad(self) -> np.ndarray:
        """f'(z), elementwise."""
        a = self.a  # BUG: the derivative formulas need z, not the activation a
        if self.activation == "relu":
            return (a > 0) * 1.0
        if self.activation == "sigmoid":
            s = _sigmoid(a)
            return s * (1 - s)
        if self.activation == "tanh":
            return 1 - np.tanh(a) ** 2
        return np.ones_like(a)

    def backward(self, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """delta = dL/dz for this layer (1/M already included) -> (dW, db)."""
        return delta @ self.x.T, delta.sum(axis=1, keepdims=True)


class Network:
    def __init__(self, params: Params, activations: list[str]) -> None:
        self.layers = [
            Dense(params[f"W{i}"], params[f"b{i}"], a) for i, a in enumerate(activations, 1)
        ]

    def forward(self, X: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            X = layer.a = layer.forward(X)
        self.out = X
        return X

    def backward(self, Y: np.ndarray, loss: str) -> Params:
        M = Y.shape[1]
        last = self.layers[-1]
        if loss == "mse":
            delta = 2 * (self.out - Y) / M * last.local_grad()
        else:
            delta = (self.out - Y) / M
        grads = {}
        for i in range(len(self.layers), 0, -1):
            layer = self.layers[i - 1]
            grads[f"dW{i}"], grads[f"db{i}"] = layer.backward(delta)
            if i > 1:
                delta = (layer.W.T @ delta) * self.layers[i - 2].local_grad()
        return grads


def forward(params: Params, X: np.ndarray, activations: list[str]) -> tuple[np.ndarray, Network]:
    net = Network(params, activations)
    return net.forward(X), net


def backward(
    params: Params, cache: Network, Y: np.ndarray, activations: list[str], loss: str
) -> Params:
    return cache.backward(Y, loss)


def compute_loss(AL: np.ndarray, Y: np.ndarray, loss: str) -> float:
    M = Y.shape[1]
    if loss == "mse":
        return float(((AL - Y) ** 2).sum() / M)
    log_p, log_q = (
        np.log(np.maximum(AL, 1e-300)),
        np.log(np.maximum(1 - AL, 1e-300)),
    )  # guard log(0)
    if loss == "bce":
        return float(-(Y * log_p + (1 - Y) * log_q).sum() / M)
    return float(-(Y * log_p).sum() / M)


def update(params: Params, grads: Params, learning_rate: float) -> Params:
    return {k: params[k] - learning_rate * grads["d" + k] for k in params}
