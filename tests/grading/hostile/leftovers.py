"""Leaves behind a forked child, a child that called setsid(), a subprocess and a non-daemon thread."""
import os
import subprocess
import threading
import time

import numpy as np


def forward(params, X, activations):
    A = X
    for layer in range(1, len(activations) + 1):
        A = params[f"W{layer}"] @ A + params[f"b{layer}"]
    return A, X


def backward(params, cache, Y, activations, loss):
    return {f"d{name}": np.zeros_like(value) for name, value in params.items()}


def _linger():
    time.sleep(3600)


threading.Thread(target=_linger, daemon=False).start()
if os.fork() == 0:
    time.sleep(3600)
    os._exit(0)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(3600)
    os._exit(0)
subprocess.Popen(["sleep", "3600"], start_new_session=True)
