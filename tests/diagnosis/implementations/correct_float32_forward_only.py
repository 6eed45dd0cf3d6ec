"""Correct: each layer of the forward pass computes in float32 (W, A and b cast
to float32) and stores its results back as float64, and backward uses the
float64 parameters: every array the harness sees is float64, but AL and the
gradients carry float32's error. Only how far AL departs from the reference
tells that float32 was used."""

from __future__ import annotations

import numpy as np

STYLE = "float32 forward, float64 backward (mixed precision)"
MISTAKES: tuple[str, ...] = ()


def _f(name, Z):
    if name == "relu":
        return np.maximum(Z, 0)
    if name == "sigmoid":
        return np.exp(-np.logaddexp(0, -Z))
    if name == "tanh":
        return np.tanh(Z)
    if name == "softmax":
        e = np.exp(Z - Z.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)
    return Z


def forward(params, X, activations):
    A = X
    cache = {"A0": A}
    for l, name in enumerate(activations, start=1):
        W = params[f"W{l}"].astype(np.float32)
        b = params[f"b{l}"].astype(np.float32)
        Z = W @ A.astype(np.float32) + b
        A = _f(name, Z).astype(np.float64)
        cache[f"Z{l}"], cache[f"A{l}"] = Z.astype(np.float64), A
    return A, cache


def backward(params, cache, Y, activations, loss):
    L, M = len(activations), Y.shape[1]
    AL = cache[f"A{L}"]
    if loss == "mse":
        Z = cache[f"Z{L}"]
        prime = {"linear": 1.0, "relu": (Z > 0), "sigmoid": AL * (1 - AL), "tanh": 1 - AL**2}
        delta = 2 * (AL - Y) / M * prime[activations[-1]]
    else:
        delta = (AL - Y) / M
    grads = {}
    for l in range(L, 0, -1):
        grads[f"dW{l}"] = delta @ cache[f"A{l - 1}"].T
        grads[f"db{l}"] = delta.sum(axis=1, keepdims=True)
        if l > 1:
            Z, A = cache[f"Z{l - 1}"], cache[f"A{l - 1}"]
            name = activations[l - 2]
            prime = {"linear": 1.0, "relu": (Z > 0), "sigmoid": A * (1 - A), "tanh": 1 - A**2}[name]
            delta = params[f"W{l}"].T @ delta * prime
    return grads
