"""Right gradients, but backward consumes its cache with caches.pop(), so a second
backward on the same forward raises (the repeatable check fails). That is not one of the
lesson's mistakes: no mistake may be named.

Derived from correct_coursera.py."""

from __future__ import annotations

import numpy as np

STYLE = "Coursera-style linear/activation helpers, cache list of ((A_prev, W, b), Z)"
MISTAKES: tuple[str, ...] = ()


def activation_forward(Z: np.ndarray, name: str) -> np.ndarray:
    if name == "sigmoid":
        return 1 / (1 + np.exp(-Z))
    if name == "tanh":
        return np.tanh(Z)
    if name == "relu":
        return np.maximum(0, Z)
    if name == "softmax":
        expZ = np.exp(Z - np.max(Z, axis=0, keepdims=True))
        return expZ / np.sum(expZ, axis=0, keepdims=True)
    return Z


def activation_backward(dA: np.ndarray, Z: np.ndarray, name: str) -> np.ndarray:
    if name == "sigmoid":
        s = 1 / (1 + np.exp(-Z))
        return dA * s * (1 - s)
    if name == "tanh":
        return dA * (1 - np.tanh(Z) ** 2)
    if name == "relu":
        dZ = np.array(dA, copy=True)
        dZ[Z <= 0] = 0
        return dZ
    return dA


def linear_backward(dZ: np.ndarray, linear_cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    A_prev, W, b = linear_cache
    m = A_prev.shape[1]
    dW = np.dot(dZ, A_prev.T) / m
    db = np.sum(dZ, axis=1, keepdims=True) / m
    dA_prev = np.dot(W.T, dZ)
    return dA_prev, dW, db


def forward(params: dict, X: np.ndarray, activations: list[str]) -> tuple[np.ndarray, list]:
    caches, A = [], X
    for l, name in enumerate(activations, start=1):
        W, b = params["W" + str(l)], params["b" + str(l)]
        Z = np.dot(W, A) + b
        caches.append(((A, W, b), Z))
        A = activation_forward(Z, name)
    return A, caches


def backward(params: dict, caches: list, Y: np.ndarray, activations: list[str], loss: str) -> dict:
    L = len(caches)
    AL = activation_forward(caches[-1][1], activations[-1])
    if loss == "mse":
        dZ = activation_backward(2 * (AL - Y), caches[-1][1], activations[-1])
    else:
        dZ = AL - Y
    grads = {}
    for l in reversed(range(L)):
        linear_cache, Z = caches.pop()  # consumes the cache
        dA_prev, grads["dW" + str(l + 1)], grads["db" + str(l + 1)] = linear_backward(dZ, linear_cache)
        if l > 0:
            dZ = activation_backward(dA_prev, caches[l - 1][1], activations[l - 1])
    return grads


def update(params: dict, grads: dict, learning_rate: float) -> dict:
    return {key: params[key] - learning_rate * grads["d" + key] for key in params}
