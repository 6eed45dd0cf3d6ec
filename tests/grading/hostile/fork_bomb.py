"""forward() tries to fork 200 children that sleep; AL says how many forks succeeded."""
import os
import time

import numpy as np


def forward(params, X, activations):
    A = X
    for layer in range(1, len(activations) + 1):
        A = params[f"W{layer}"] @ A + params[f"b{layer}"]
    return A, X


def backward(params, cache, Y, activations, loss):
    return {f"d{name}": np.zeros_like(value) for name, value in params.items()}


def forward(params, X, activations):  # noqa: F811
    children = 0
    for _ in range(200):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            time.sleep(600)
            os._exit(0)
        children += 1
    return np.array([[float(children)]]), X
