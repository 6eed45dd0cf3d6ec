"""Tries to reach what a worker must not: bpcheck, its reference, hypothesis, the tests,
the grader's files, other processes, the network. AL holds 1 for each attempt that worked.

The reference's source path is read from target.txt next to the module, when there is one."""
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
_here = os.path.dirname(os.path.abspath(__file__))
_target = "/work/main/reference/__init__.py"  # the grader's reference, as named in target.txt
if os.path.exists(os.path.join(_here, "target.txt")):
    with open(os.path.join(_here, "target.txt")) as handle:
        _target = handle.read().strip()
_attempt(lambda: open(_target).read())
_attempt(lambda: open("/etc/shadow").read())
_attempt(lambda: open("/root/.bashrc").read())
_attempt(lambda: socket.create_connection(("1.1.1.1", 53), timeout=1))
_attempt(lambda: os.kill(1, 0))


def forward(params, X, activations):  # noqa: F811
    return np.array([ATTEMPTS]), X
