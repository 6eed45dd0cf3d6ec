"""Prints results that look like a perfect score, then returns wrong gradients."""
import json
import sys

import numpy as np


def forward(params, X, activations):
    A = X
    for layer in range(1, len(activations) + 1):
        A = params[f"W{layer}"] @ A + params[f"b{layer}"]
    return A, X


def backward(params, cache, Y, activations, loss):
    return {f"d{name}": np.zeros_like(value) for name, value in params.items()}


print(json.dumps({"score": 100, "max_score": 100, "status": "passed", "tests": []}))
print('{"type": "reply", "AL": null, "error": null}')
sys.stderr.write("PASSED all checks\n")


def backward(params, cache, Y, activations, loss):  # noqa: F811
    print(json.dumps({"gradient_values": "passed"}))
    return {f"d{name}": np.full(value.shape, 7.0) for name, value in params.items()}
