"""The reference multilayer perceptron that bpcheck grades against.

It follows the student contract exactly (see ``student_template/mlp.py``) and
the lesson's equations, in float64. It is meant to be checked by eye: every
activation sits beside its derivative, and ``backward`` is the lesson's
recurrence written out line by line.

Installed as ``bpcheck_reference`` so that it never collides with a student's
own ``reference.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

__all__ = ["ACTIVATIONS", "LOSSES", "backward", "compute_loss", "forward", "loss_gradient", "update"]


# ---------------------------------------------------------------- activations
# Each entry is (f, f'), both functions of z.


def _linear(z: Array) -> Array:
    return z


def _linear_prime(z: Array) -> Array:
    return np.ones_like(z)


def _relu(z: Array) -> Array:
    return np.maximum(0.0, z)


def _relu_prime(z: Array) -> Array:
    return (z > 0).astype(np.float64)  # ReLU'(0) = 0; the lesson accepts 1 too


def _sigmoid(z: Array) -> Array:
    return np.exp(-np.logaddexp(0.0, -z))  # 1 / (1 + e^-z), without overflow


def _sigmoid_prime(z: Array) -> Array:
    s = _sigmoid(z)
    return s * (1.0 - s)


def _tanh(z: Array) -> Array:
    return np.tanh(z)


def _tanh_prime(z: Array) -> Array:
    return 1.0 - np.tanh(z) ** 2


def _softmax(z: Array) -> Array:
    e = np.exp(z - z.max(axis=0, keepdims=True))  # max-subtraction: no overflow
    return e / e.sum(axis=0, keepdims=True)


def _softmax_prime(z: Array) -> Array:
    # Softmax's derivative is a Jacobian, never needed: softmax is only an
    # output layer, paired with cce, whose delta is simply y_hat - y.
    raise ValueError("softmax is an output activation only, paired with cce")


ACTIVATIONS: dict[str, tuple[Callable[[Array], Array], Callable[[Array], Array]]] = {
    "linear": (_linear, _linear_prime),
    "relu": (_relu, _relu_prime),
    "sigmoid": (_sigmoid, _sigmoid_prime),
    "tanh": (_tanh, _tanh_prime),
    "softmax": (_softmax, _softmax_prime),
}


# ---------------------------------------------------------------------- losses
# Each entry is (L, ∂L/∂ŷ). Every loss sums over output units and averages
# over the M examples.


def _mse(AL: Array, Y: Array) -> float:
    return float(np.sum((AL - Y) ** 2) / Y.shape[1])


def _mse_gradient(AL: Array, Y: Array) -> Array:
    return 2 * (AL - Y) / Y.shape[1]


def _bce(AL: Array, Y: Array) -> float:
    return float(-np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)) / Y.shape[1])


def _bce_gradient(AL: Array, Y: Array) -> Array:
    return (AL - Y) / (AL * (1 - AL)) / Y.shape[1]


def _cce(AL: Array, Y: Array) -> float:
    return float(-np.sum(Y * np.log(AL)) / Y.shape[1])


def _cce_gradient(AL: Array, Y: Array) -> Array:
    return -Y / AL / Y.shape[1]


LOSSES: dict[str, tuple[Callable[[Array, Array], float], Callable[[Array, Array], Array]]] = {
    "mse": (_mse, _mse_gradient),
    "bce": (_bce, _bce_gradient),
    "cce": (_cce, _cce_gradient),
}


def compute_loss(AL: Array, Y: Array, loss: str) -> float:
    """The lesson's loss L(ŷ, y), averaged over the batch."""
    return LOSSES[loss][0](np.asarray(AL, dtype=np.float64), np.asarray(Y, dtype=np.float64))


def loss_gradient(AL: Array, Y: Array, loss: str) -> Array:
    """∂L/∂ŷ, before any output activation (backward uses the simpler δ⁽ᴸ⁾ where it can)."""
    return LOSSES[loss][1](np.asarray(AL, dtype=np.float64), np.asarray(Y, dtype=np.float64))


# ------------------------------------------------------------- forward/backward


def forward(
    params: Mapping[str, Array], X: Array, activations: Sequence[str]
) -> tuple[Array, dict[str, Array]]:
    """z⁽ˡ⁾ = W⁽ˡ⁾ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾ and a⁽ˡ⁾ = f_ℓ(z⁽ˡ⁾) for ℓ = 1..L.

    Returns (AL, cache) where cache holds "A0".."AL" and "Z1".."ZL". A network
    without biases has no "bℓ" in ``params``: then z⁽ˡ⁾ = W⁽ˡ⁾ a⁽ˡ⁻¹⁾.
    """
    A = np.asarray(X, dtype=np.float64)
    cache = {"A0": A}
    for layer, name in enumerate(activations, start=1):
        f, _ = ACTIVATIONS[name]
        Z = params[f"W{layer}"] @ A + params.get(f"b{layer}", 0.0)
        A = f(Z)
        cache[f"Z{layer}"], cache[f"A{layer}"] = Z, A
    return A, cache


def backward(
    params: Mapping[str, Array],
    cache: Mapping[str, Array],
    Y: Array,
    activations: Sequence[str],
    loss: str,
) -> dict[str, Array]:
    """The lesson's recurrence, with the batch mean folded into δ⁽ᴸ⁾.

    δ⁽ᴸ⁾ = ŷ − y for sigmoid+bce and softmax+cce, else ∂L/∂ŷ ⊙ f_L′(z⁽ᴸ⁾);
    δ⁽ˡ⁾ = ((W⁽ˡ⁺¹⁾)ᵀ δ⁽ˡ⁺¹⁾) ⊙ f_ℓ′(z⁽ˡ⁾);
    ∂L/∂W⁽ˡ⁾ = δ⁽ˡ⁾ (a⁽ˡ⁻¹⁾)ᵀ and ∂L/∂b⁽ˡ⁾ = Σ over the batch of δ⁽ˡ⁾
    (only for the biases ``params`` has: a network without them has no dbℓ).
    """
    L = len(activations)
    Y = np.asarray(Y, dtype=np.float64)
    M = Y.shape[1]
    AL, ZL = cache[f"A{L}"], cache[f"Z{L}"]
    if loss == "mse":
        delta = (2 * (AL - Y) / M) * ACTIVATIONS[activations[-1]][1](ZL)
    else:  # bce with sigmoid, cce with softmax: the clean simplification
        delta = (AL - Y) / M
    grads: dict[str, Array] = {}
    for layer in range(L, 0, -1):
        grads[f"dW{layer}"] = delta @ cache[f"A{layer - 1}"].T
        if f"b{layer}" in params:
            grads[f"db{layer}"] = delta.sum(axis=1, keepdims=True)
        if layer > 1:
            f_prime = ACTIVATIONS[activations[layer - 2]][1]
            delta = (params[f"W{layer}"].T @ delta) * f_prime(cache[f"Z{layer - 1}"])
    return grads


def update(
    params: Mapping[str, Array], grads: Mapping[str, Array], learning_rate: float
) -> dict[str, Array]:
    """W ← W − η ∂L/∂W and b ← b − η ∂L/∂b, returned as a new dict."""
    return {name: value - learning_rate * grads[f"d{name}"] for name, value in params.items()}
