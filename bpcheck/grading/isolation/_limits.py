"""The resource limits of one worker, and the rlimits they become."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Resource limits of one worker (``[limits]`` in the grading configuration)."""

    call_timeout: float = 30.0  # seconds of wall clock per call into the worker
    submission_timeout: float = 600.0  # seconds of wall clock for the whole submission
    memory_mb: int = 1024  # address space (RLIMIT_AS)
    cpu_seconds: int = 600  # RLIMIT_CPU
    file_size_mb: int = 16  # RLIMIT_FSIZE
    open_files: int = 64  # RLIMIT_NOFILE
    processes: int = 64  # RLIMIT_NPROC (processes and threads)
    output_bytes: int = 1_000_000  # cap on captured stdout + stderr
    disk_mb: int = 64  # the worker's writable space (a size-capped tmpfs), besides its own files


def rlimits(limits: Limits, processes: int) -> dict[str, list[int]]:
    """The rlimits a worker sets on itself before NumPy or student code is imported:
    ``processes`` is RLIMIT_NPROC (the limit, plus what the worker's uid already runs)."""
    return {
        "RLIMIT_AS": [limits.memory_mb << 20] * 2,
        # SIGXCPU at the soft limit, SIGKILL a second later.
        "RLIMIT_CPU": [limits.cpu_seconds, limits.cpu_seconds + 1],
        "RLIMIT_FSIZE": [limits.file_size_mb << 20] * 2,
        "RLIMIT_NOFILE": [limits.open_files] * 2,
        "RLIMIT_NPROC": [processes] * 2,
        "RLIMIT_CORE": [0, 0],
    }
