"""Buggy: backward updates each W in place (W -= learning_rate * dW, a module
level learning rate) as soon as its gradient is known, then sends δ down
through the updated W."""

from __future__ import annotations

import numpy as np

STYLE = 'list of per-layer (linear_cache, Z) tuples, updates inside the backward loop'
MISTAKES = ('update_before_propagation', 'params_mutated')


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


LEARNING_RATE = 0.5


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
        grads["dW" + str(l)] = np.dot(dZ, A_prev.T)
        grads["db" + str(l)] = np.sum(dZ, axis=1, keepdims=True)
        grads["dA" + str(l - 1)] = np.dot(W.T, dZ) * m  # dl.ai's dA: m times the mean's
        W -= LEARNING_RATE * grads["dW" + str(l)]
        if l > 1:
            dZ = np.dot(W.T, dZ) * _f_prime(activations[l - 2], caches[l - 2][1])
    return grads
