"""Buggy: the gradient accumulators are made with np.zeros(shape, dtype=complex),
so every dW and db is complex, with right real parts and zero imaginary ones."""

from __future__ import annotations

import numpy as np

STYLE = 'list of per-layer (linear_cache, Z) tuples, complex accumulators'
MISTAKES = ('complex_gradients',)


def _f(name, Z):
    if name == "relu":
        return np.maximum(0, Z)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-Z))
    if name == "tanh":
        return np.tanh(Z)
    if name == "softmax":
        e = np.exp(Z - Z.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)
    return Z


def _f_prime(name, Z):
    if name == "relu":
        return (Z > 0).astype(float)
    if name == "sigmoid":
        s = 1 / (1 + np.exp(-Z))
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(Z) ** 2
    return np.ones_like(Z)


def forward(params, X, activations):
    caches, A = [], X
    for l, name in enumerate(activations, start=1):
        Z = np.dot(params["W" + str(l)], A) + params["b" + str(l)]
        caches.append(((A, params["W" + str(l)], params["b" + str(l)]), Z))
        A = _f(name, Z)
    return A, (caches, A)


def backward(params, cache, Y, activations, loss):
    caches, AL = cache
    L, m = len(caches), Y.shape[1]
    grads = {}
    if loss == "mse":
        dZ = 2 * (AL - Y) / m * _f_prime(activations[-1], caches[-1][1])
    else:
        dZ = (AL - Y) / m
    for l in reversed(range(1, L + 1)):
        (A_prev, W, b), Z = caches[l - 1]
        grads["dZ" + str(l)] = dZ
        grads["dW" + str(l)] = np.zeros(W.shape, dtype=complex)
        grads["db" + str(l)] = np.zeros(b.shape, dtype=complex)
        grads["dW" + str(l)][:] = np.dot(dZ, A_prev.T)
        grads["db" + str(l)][:] = np.sum(dZ, axis=1, keepdims=True)
        grads["dA" + str(l - 1)] = np.dot(W.T, dZ) * m  # dl.ai's dA: m times the mean's
        if l > 1:
            dZ = np.dot(W.T, dZ) * _f_prime(activations[l - 2], caches[l - 2][1])
    return grads
