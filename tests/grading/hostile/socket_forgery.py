"""Writes a forged, oversized reply straight into the worker's socket during forward()."""
import os
import struct

import numpy as np


def forward(params, X, activations):
    A = X
    for layer in range(1, len(activations) + 1):
        A = params[f"W{layer}"] @ A + params[f"b{layer}"]
    return A, X


def backward(params, cache, Y, activations, loss):
    return {f"d{name}": np.zeros_like(value) for name, value in params.items()}


def forward(params, X, activations):  # noqa: F811
    for fd in range(3, 64):
        try:
            os.fstat(fd)
            os.write(fd, b"BPW1" + struct.pack(">II", 2, 1) + b"{}" + struct.pack(">Q", 1 << 60))
        except OSError:
            pass
    raise SystemExit
