"""The seccomp filter every worker loads before student code runs.

The filter is compiled by libseccomp (``libseccomp.so.2``, through ctypes:
its official Python bindings are built for the system's interpreter only)
from the syscall names below, exported as a BPF program, and handed to the
worker, which loads it on itself (``seccomp(SECCOMP_SET_MODE_FILTER,
TSYNC)``, after ``PR_SET_NO_NEW_PRIVS``) right after setting its rlimits.
Loading it in the worker rather than through ``bwrap --seccomp`` lets every
level use it, and lets the worker first enter its own user namespace.

Every call listed fails with EPERM; syscalls of another ABI (32-bit
``int 0x80``, x32) kill the worker, libseccomp's default for a foreign
architecture. Student code has no use for any of these: they reach the
kernel keyrings, other processes' memory, mounts and namespaces, SysV and
POSIX message IPC, sockets (the worker's own channel is inherited, never
created), kernel modules and clocks.
"""

from __future__ import annotations

import ctypes
import functools
import os

#: Denied syscalls, by group. Names unknown to this kernel's ABI are skipped.
DENIED: dict[str, tuple[str, ...]] = {
    "keyrings": ("add_key", "request_key", "keyctl"),
    "other processes": (
        "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
        "perf_event_open",
    ),
    "mounts and namespaces": (
        "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen",
        "fsconfig", "fsmount", "fspick", "mount_setattr", "unshare", "setns",
        "open_by_handle_at", "name_to_handle_at",
    ),
    "IPC and sockets": (
        "socket", "shmget", "semget", "msgget", "mq_open", "mq_unlink", "mq_timedsend",
        "mq_timedreceive", "mq_notify",
    ),
    "the kernel": (
        "bpf", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
        "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
        "reboot", "swapon", "swapoff", "syslog", "acct", "quotactl", "quotactl_fd",
        "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname",
        "setdomainname", "iopl", "ioperm", "vhangup", "fanotify_init", "lookup_dcookie",
    ),
}  # fmt: skip
#: clone() with any of these flags (a new namespace) fails with EPERM; clone3, whose
#: flags sit in memory a filter cannot read, fails with ENOSYS so that the C library
#: falls back to clone().
CLONE_NAMESPACES = 0x7E020080  # CLONE_NEW{NS,CGROUP,UTS,IPC,USER,PID,NET} | CLONE_NEWTIME

_ALLOW = 0x7FFF0000
_ERRNO = 0x00050000
_CMP_MASKED_EQ = 7


class _Comparison(ctypes.Structure):
    _fields_ = [  # struct scmp_arg_cmp
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


@functools.cache
def _library() -> ctypes.CDLL | None:
    try:
        library = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    except OSError:
        return None
    library.seccomp_init.restype = ctypes.c_void_p
    library.seccomp_init.argtypes = [ctypes.c_uint32]
    library.seccomp_release.argtypes = [ctypes.c_void_p]
    library.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    library.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
    library.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(_Comparison),
    ]  # fmt: skip
    library.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    return library


def unavailable() -> str | None:
    """Why no filter can be built here, or None when one can."""
    return None if _library() is not None else "libseccomp2 is not installed (apt-get install libseccomp2)"


@functools.cache
def filter_program() -> bytes:
    """The filter as a BPF program (``struct sock_filter`` array); raises
    RuntimeError when libseccomp is missing or refuses a rule."""
    library = _library()
    if library is None:
        raise RuntimeError(unavailable())
    context = library.seccomp_init(_ALLOW)
    if not context:
        raise RuntimeError("seccomp_init failed")
    try:

        def deny(name: str, errno: int, *conditions: _Comparison) -> None:
            number = library.seccomp_syscall_resolve_name(name.encode())
            if number < 0:  # not a syscall of this architecture
                return
            array = (_Comparison * len(conditions))(*conditions)
            result = library.seccomp_rule_add_array(
                context, _ERRNO | errno, number, len(conditions), array
            )
            if result != 0:
                raise RuntimeError(f"libseccomp refused the rule for {name}: {os.strerror(-result)}")

        for names in DENIED.values():
            for name in names:
                deny(name, 1)  # EPERM
        # One rule per flag: (flags & bit) == bit for any of them.
        for bit in range(32):
            if CLONE_NAMESPACES & (1 << bit):
                deny("clone", 1, _Comparison(0, _CMP_MASKED_EQ, 1 << bit, 1 << bit))
        deny("clone3", 38)  # ENOSYS
        descriptor = os.memfd_create("bpcheck-seccomp")
        try:
            result = library.seccomp_export_bpf(context, descriptor)
            if result != 0:
                raise RuntimeError(f"seccomp_export_bpf failed: {os.strerror(-result)}")
            size = os.lseek(descriptor, 0, os.SEEK_END)
            return os.pread(descriptor, size, 0)
        finally:
            os.close(descriptor)
    finally:
        library.seccomp_release(context)
