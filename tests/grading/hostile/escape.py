"""Tries to reach what a worker must not: bpcheck, its reference, hypothesis, the tests,
the grader's files, other processes, the network. AL holds 1 for each attempt that worked."""
import os
import socket

import numpy as np


def forward(params, X, activations):
    A = X
    for layer in range(1, len(activations) + 1):
        A = params[f"W{layer}"] @ A + params[f"b{layer}"]
    return A, X


def backward(params, cache, Y, activations, loss):
    return {f"d{name}": np.zeros_like(value) for name, value in params.items()}


ATTEMPTS = []


def _attempt(action):
    try:
        action()
    except BaseException:
        ATTEMPTS.append(0.0)
    else:
        ATTEMPTS.append(1.0)


_attempt(lambda: __import__("bpcheck"))
_attempt(lambda: __import__("bpcheck_reference"))
_attempt(lambda: __import__("hypothesis"))
_attempt(lambda: __import__("tests"))
_attempt(lambda: __import__("pytest"))
_attempt(lambda: open(os.environ.get("ESCAPE_TARGET", "/work/main/reference/__init__.py")).read())
_attempt(lambda: open("/etc/shadow").read())
_attempt(lambda: open("/root/.bashrc").read())
_attempt(lambda: socket.create_connection(("1.1.1.1", 53), timeout=1))
_attempt(lambda: os.kill(1, 0))


def forward(params, X, activations):  # noqa: F811
    return np.array([ATTEMPTS]), X
