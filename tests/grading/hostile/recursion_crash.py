"""Raises the recursion limit past the C stack, then recurses in C: the interpreter crashes."""
import json
import sys

import numpy as np

sys.setrecursionlimit(10**8)


def forward(params, X, activations):
    A = X
    for layer in range(1, len(activations) + 1):
        A = params[f"W{layer}"] @ A + params[f"b{layer}"]
    return A, X


def backward(params, cache, Y, activations, loss):
    nested = []
    for _ in range(500_000):
        nested = [nested]
    return {"dW1": json.dumps(nested)}
