"""Tries the system calls the seccomp filter denies. AL[0] holds 1 for each that worked,
in the order of CALLS, and AL[0][-1] the worker's Seccomp mode from /proc/self/status."""
import ctypes
import os
import socket

import numpy as np

CALLS = ["ptrace", "mount", "unshare user", "socket inet", "socket unix", "keyctl", "bpf", "clone newns"]
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _ok(result):
    return float(result >= 0)


def _socket(family):
    try:
        socket.socket(family, socket.SOCK_STREAM).close()
        return 1.0
    except OSError:
        return 0.0


_clone = _libc.syscall(56, 0x00020000 | 17, 0, 0, 0, 0)  # clone(CLONE_NEWNS | SIGCHLD)
if _clone == 0:  # the child of a clone that worked: leave at once
    os._exit(0)
WORKED = [
    _ok(_libc.syscall(101, 0, 0, 0, 0)),  # ptrace(PTRACE_TRACEME)
    _ok(_libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)),
    _ok(_libc.unshare(0x10000000)),  # CLONE_NEWUSER
    _socket(socket.AF_INET),
    _socket(socket.AF_UNIX),
    _ok(_libc.syscall(250, 0, -4, 0)),  # keyctl(KEYCTL_GET_KEYRING_ID, user keyring)
    _ok(_libc.syscall(321, 0, 0, 0)),  # bpf
    _ok(_clone),
]
with open("/proc/self/status") as _status:
    MODE = float(next(line.split()[1] for line in _status if line.startswith("Seccomp:")))


def forward(params, X, activations):
    return np.array([WORKED + [MODE]]), X


def backward(params, cache, Y, activations, loss):
    return {f"d{name}": np.zeros_like(value) for name, value in params.items()}
