"""Buggy: db averaged over axis 0 (the units) instead of axis 1 (the batch): shape (1, M).

Derived from correct_einsum.py with exactly one injected mistake.
"""

from __future__ import annotations

import numpy as np

STYLE = "einsum, per-example outer products averaged over the batch"
TARGET_CHECK = "gradient_shapes"
MISTAKE = "bias_not_summed_over_batch"

Params = dict[str, np.ndarray]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


def _act(name: str, z: np.ndarray) -> np.ndarray:
    if name == "softmax":
        z = z - np.max(z, axis=0, keepdims=True)
        return np.exp(z) / np.einsum("im->m", np.exp(z))
    return {
        "linear": lambda t: t,
        "relu": lambda t: t * (t > 0),
        "sigmoid": _sigmoid,
        "tanh": np.tanh,
    }[name](z)


def _dact(name: str, z: np.ndarray) -> np.ndarray:
    if name == "sigmoid":
        return _sigmoid(z) * _sigmoid(-z)
    if name == "tanh":
        return 1.0 - np.tanh(z) ** 2
    if name == "relu":
        return np.heaviside(z, 0.0)
    return np.ones_like(z)


def forward(params: Params, X: np.ndarray, activations: list[str]) -> tuple[np.ndarray, dict]:
    A, As, Zs = X, [X], []
    for l, name in enumerate(activations, start=1):
        Z = np.einsum("ij,jm->im", params[f"W{l}"], A) + params[f"b{l}"]
        A = _act(name, Z)
        Zs.append(Z)
        As.append(A)
    return A, {"A": As, "Z": Zs}


def backward(
    params: Params, cache: dict, Y: np.ndarray, activations: list[str], loss: str
) -> Params:
    As, Zs = cache["A"], cache["Z"]
    # per-example deltas (no 1/M yet): column m is dl_m/dz for example m
    if loss == "mse":
        delta = 2.0 * (As[-1] - Y) * _dact(activations[-1], Zs[-1])
    else:
        delta = As[-1] - Y
    grads = {}
    for l in range(len(activations), 0, -1):
        outer = np.einsum("im,jm->mij", delta, As[l - 1])  # (M, n_l, n_{l-1})
        grads[f"dW{l}"] = outer.mean(axis=0)
        grads[f"db{l}"] = delta.mean(axis=0, keepdims=True)  # BUG: wrong axis, shape (1, M)
        if l > 1:
            delta = np.einsum("ji,jm->im", params[f"W{l}"], delta) * _dact(
                activations[l - 2], Zs[l - 2]
            )
    return grads


def compute_loss(AL: np.ndarray, Y: np.ndarray, loss: str) -> float:
    if loss == "mse":
        per_example = np.einsum("im->m", (AL - Y) ** 2)
    elif loss == "bce":
        log_p, log_q = np.log(np.clip(AL, 1e-300, None)), np.log(np.clip(1 - AL, 1e-300, None))
        per_example = -np.einsum("im->m", Y * log_p + (1 - Y) * log_q)
    else:
        per_example = -np.einsum("im->m", Y * np.log(np.clip(AL, 1e-300, None)))
    return float(per_example.mean())


def update(params: Params, grads: Params, learning_rate: float) -> Params:
    return {k: np.subtract(v, learning_rate * grads["d" + k]) for k, v in params.items()}
