"""Buggy: `return grads` is indented inside the layer loop, so only the output layer's
dW/db keys are returned.

Derived from correct_tuple_cache.py with exactly one injected mistake.
"""

from __future__ import annotations

import numpy as np

STYLE = "cache is a tuple (Zs, As); generic dL/dyhat * f'(z) output delta for mse"
TARGET_CHECK = "gradient_shapes"
MISTAKE = "missing_gradients"

Params = dict[str, np.ndarray]
Cache = tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]


def sigma(z: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(z / 2) + 1)


def f(name: str, z: np.ndarray) -> np.ndarray:
    if name == "softmax":
        e = np.exp(z - np.amax(z, axis=0))
        return e / np.sum(e, axis=0)
    if name == "sigmoid":
        return sigma(z)
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.clip(z, 0, None)
    return z


def f_prime(name: str, z: np.ndarray) -> np.ndarray:
    if name == "sigmoid":
        return sigma(z) * (1 - sigma(z))
    if name == "tanh":
        return 1 - np.tanh(z) ** 2
    if name == "relu":
        return (z > 0).astype(float)
    return np.ones_like(z)


def dloss_dyhat(AL: np.ndarray, Y: np.ndarray, loss: str) -> np.ndarray:
    assert loss == "mse"
    return 2 * (AL - Y) / Y.shape[1]


def forward(params: Params, X: np.ndarray, activations: list[str]) -> tuple[np.ndarray, Cache]:
    Zs: list[np.ndarray] = []
    As: list[np.ndarray] = [X]
    for l, name in enumerate(activations, 1):
        Zs.append(params["W" + str(l)] @ As[-1] + params["b" + str(l)])
        As.append(f(name, Zs[-1]))
    return As[-1], (tuple(Zs), tuple(As))


def backward(
    params: Params, cache: Cache, Y: np.ndarray, activations: list[str], loss: str
) -> Params:
    Zs, As = cache
    L = len(Zs)
    if (loss, activations[-1]) in (("bce", "sigmoid"), ("cce", "softmax")):
        delta = (As[L] - Y) / Y.shape[1]
    else:
        delta = dloss_dyhat(As[L], Y, loss) * f_prime(activations[-1], Zs[L - 1])
    grads = {}
    for l in range(L, 0, -1):
        grads["dW" + str(l)] = np.dot(delta, As[l - 1].T)
        grads["db" + str(l)] = np.sum(delta, axis=1).reshape(-1, 1)
        if l > 1:
            delta = np.dot(params["W" + str(l)].T, delta) * f_prime(activations[l - 2], Zs[l - 2])
        return grads  # BUG: indented into the loop, returns after the output layer
