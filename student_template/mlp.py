"""Your multilayer perceptron, for bpcheck.

Fill in the four functions below, using NumPy only. Check your work with

    pytest --student=mlp.py

Conventions (from the lesson):
- W⁽ˡ⁾ has shape (n_ℓ, n_ℓ₋₁) and b⁽ˡ⁾ has shape (n_ℓ, 1).
- X has shape (n₀, M): one column per example.
- Every loss is a batch mean: averaged over the M examples, summed over output units.
    mse: L = (1/M) Σ (ŷ − y)²      no ½, so ∂L/∂ŷ = 2(ŷ − y)/M
    bce: L = −(1/M) Σ [y log ŷ + (1 − y) log(1 − ŷ)]   with a sigmoid output
    cce: L = −(1/M) Σ y log ŷ                          with a softmax output
  The 1/M appears once: in δ⁽ᴸ⁾ (for sigmoid+bce or softmax+cce, δ⁽ᴸ⁾ = (ŷ − y)/M),
  or in dW = (1/M) δ Aᵀ and db = (1/M) Σ δ over the batch, never in both.
- Never change the arrays you are given; return new ones.
"""

import numpy as np


def forward(params, X, activations):
    """Run the network forward.

    params: {"W1": (n1, n0), "b1": (n1, 1), ..., "WL": (nL, nL-1), "bL": (nL, 1)}
    X: (n0, M), one column per example.
    activations: a list of L names, one per layer: "linear", "relu", "sigmoid",
        "tanh" (any layer) or "softmax" (output layer only).

    Returns (AL, cache): AL has shape (nL, M); cache is whatever backward needs
    (for example every Z⁽ˡ⁾ and A⁽ˡ⁾).
    """
    raise NotImplementedError("forward: compute Z = W A + b and A = f(Z), layer by layer")


def backward(params, cache, Y, activations, loss):
    """Backpropagate the loss through the network.

    Y: targets, (nL, M).
    loss: "mse" (any output but softmax), "bce" (sigmoid output) or
        "cce" (softmax output, each column of Y sums to 1).

    Returns {"dW1": ..., "db1": ..., ..., "dWL": ..., "dbL": ...}, each with
    exactly the shape of its parameter. Remember the f′(z) term in every hidden
    layer, δ aᵀ (not a δᵀ), and the 1/M exactly once.
    """
    raise NotImplementedError("backward: start from δ⁽ᴸ⁾ and apply the recurrence")


def compute_loss(AL, Y, loss):
    """Optional. The loss as a float: mse, bce or cce, each a batch mean as above
    (mse without ½)."""
    raise NotImplementedError("compute_loss")


def update(params, grads, learning_rate):
    """Optional (checked, and worth points only if your course's rubric says so).
    One gradient-descent step: return new params with
    W ← W − η dW and b ← b − η db."""
    raise NotImplementedError("update")
