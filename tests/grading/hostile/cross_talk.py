"""Tries every channel one submission could leave a secret in for the next: the user
keyring, SysV shared memory, a POSIX message queue, an abstract socket, /tmp, /var/tmp and
/dev/shm. It first looks for a secret a previous worker left, then leaves its own.

AL[0] holds 1 for each channel where a previous worker's secret was found (reading),
AL[1] 1 for each where this worker could leave one (writing), in the order of CHANNELS."""
import ctypes
import os
import socket

import numpy as np

CHANNELS = ["keyring", "sysv", "mqueue", "abstract socket", "/tmp", "/var/tmp", "/dev/shm"]
SECRET = b"bpcheck-cross-talk-secret"
NAME = "bpcheck-cross-talk"
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.shmat.restype = ctypes.c_void_p
_libc.mq_open.restype = ctypes.c_int
KEY = 0x6270636B  # "bpck"
SYS_ADD_KEY, SYS_KEYCTL = 248, 250
USER_KEYRING = -4


def _keyring(write):
    if write:
        return _libc.syscall(SYS_ADD_KEY, b"user", NAME.encode(), SECRET, len(SECRET), USER_KEYRING) > 0
    return _libc.syscall(SYS_KEYCTL, 10, USER_KEYRING, b"user", NAME.encode(), 0) > 0


def _sysv(write):
    ident = _libc.shmget(KEY, 4096, (0o1000 | 0o666) if write else 0)  # IPC_CREAT
    if ident < 0:
        return False
    address = _libc.shmat(ident, None, 0)
    if address in (None, ctypes.c_void_p(-1).value):
        return False
    if write:
        ctypes.memmove(address, SECRET, len(SECRET))
        return True
    return ctypes.string_at(address, len(SECRET)) == SECRET


def _mqueue(write):
    flags = (os.O_CREAT | os.O_WRONLY) if write else os.O_RDONLY
    return _libc.mq_open(f"/{NAME}".encode(), flags, 0o666, None) >= 0


_held = []


def _abstract(write):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if write:
        sock.bind(f"\0{NAME}")
        sock.listen(1)
        _held.append(sock)
    else:
        sock.connect(f"\0{NAME}")
    return True


def _file(folder):
    def attempt(write):
        path = os.path.join(folder, NAME)
        if write:
            with open(path, "wb") as handle:
                handle.write(SECRET)
            os.chmod(path, 0o666)
            return True
        with open(path, "rb") as handle:
            return handle.read() == SECRET

    return attempt


def _try(action, write):
    try:
        return float(bool(action(write)))
    except BaseException:
        return 0.0


_ACTIONS = [_keyring, _sysv, _mqueue, _abstract, _file("/tmp"), _file("/var/tmp"), _file("/dev/shm")]
FOUND = [_try(action, False) for action in _ACTIONS]
LEFT = [_try(action, True) for action in _ACTIONS]


def forward(params, X, activations):
    return np.array([FOUND, LEFT]), X


def backward(params, cache, Y, activations, loss):
    return {f"d{name}": np.zeros_like(value) for name, value in params.items()}
