"""The bias-free functional contract of functional_no_biases.py computed in
float32 throughout, one example at a time in backward (outer products summed
over the batch), returning float32 gradients."""

import numpy as np

ADAPTER = "functional"
MISTAKE = None
SCOPE = {"biases": False}

F = {
    "linear": (lambda z: z, lambda z: np.ones_like(z)),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
}


def softmax(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def forward(params, X, activations):
    A = X.astype(np.float32)
    cache = {"A0": A}
    for l, name in enumerate(activations, start=1):
        Z = params[f"W{l}"].astype(np.float32) @ A
        A = softmax(Z) if name == "softmax" else F[name][0](np.clip(Z, -500, 500) if name == "sigmoid" else Z)
        cache[f"Z{l}"], cache[f"A{l}"] = Z, A
    return A, cache


def backward(params, cache, Y, activations, loss):
    L, M = len(activations), Y.shape[1]
    Y = Y.astype(np.float32)
    grads = {f"dW{l}": np.zeros(params[f"W{l}"].shape, np.float32) for l in range(1, L + 1)}
    for m in range(M):
        a = {k: v[:, m : m + 1] for k, v in cache.items()}
        AL = a[f"A{L}"]
        if loss == "mse":
            delta = 2 * (AL - Y[:, m : m + 1]) / M * F[activations[-1]][1](a[f"Z{L}"])
        else:
            delta = (AL - Y[:, m : m + 1]) / M
        for l in range(L, 0, -1):
            grads[f"dW{l}"] += delta @ a[f"A{l - 1}"].T
            if l > 1:
                W = params[f"W{l}"].astype(np.float32)
                delta = (W.T @ delta) * F[activations[l - 2]][1](a[f"Z{l - 1}"])
    return grads
