"""Grading on this machine's cores: a pool of grader processes that die with
this one, and progress from them.

:func:`local_executor` gives :func:`~bpcheck.grading._grade.grade_all` its
executor for ``--jobs``; :func:`pool_ticks` the :data:`Tick` that carries
each check result from a pool process back here.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.managers import SyncManager

from bpcheck.grading._grade import Tick
from bpcheck.grading.isolation import Machine, adopt, machine


@contextmanager
def local_executor(jobs: int) -> Iterator[Executor | None]:
    """For :func:`grade_all` on this machine: None (grade in this process) for
    one job, else a pool of ``jobs`` grader processes. Each pool process dies
    with this one (a parent-death signal), and takes this machine's isolation
    probe from it instead of probing again.

    The pool processes are forked from this one, all of them before this
    returns, so that they start with bpcheck imported (spawned, each imports
    it again: about 0.5 s and a core each). A fork copies every lock as it is,
    held by a thread that does not exist in the child, so this forks only
    while this process has no other thread (``bpcheck grade`` starts its
    progress thread after), and spawns otherwise (a grader embedded in a
    threaded program, or a test under pytest-xdist). Grader processes never
    import student code, so a fork copies none."""
    if jobs == 1:
        yield None
        return
    with ProcessPoolExecutor(
        jobs,
        mp_context=multiprocessing.get_context(pool_start_method()),
        initializer=_pool_process,
        initargs=(os.getpid(), machine()),
    ) as executor:
        executor.submit(os.getpid).result()  # a forking pool starts every process at its first task
        yield executor


def pool_start_method() -> str:
    """How :func:`local_executor` starts pool processes from this process now."""
    return "fork" if threading.active_count() == 1 else "spawn"


_PR_SET_PDEATHSIG = 1


def _pool_process(parent: int, probed: Machine) -> None:
    """A pool process's start: it dies with its parent, and takes the parent's probe."""
    _die_with(parent)
    adopt(probed)


def _die_with(parent: int) -> None:
    """SIGKILL this process when its parent dies, however it dies (checked once
    more after asking, in case the parent died first)."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


@contextmanager
def pool_ticks(executor: Executor | None, on_check: Tick) -> Iterator[Tick]:
    """The :data:`Tick` to give :func:`grade_all` so that ``on_check`` hears every
    check result of the units of work ``executor`` runs on this machine:
    ``on_check`` itself for None (this process), else a queue's that a thread
    of this process drains (the queue of a ``multiprocessing`` manager, which
    pickles into pool processes; it dies with this process)."""
    if executor is None:
        yield on_check
        return
    manager = SyncManager(ctx=multiprocessing.get_context("spawn"))
    manager.start(initializer=_die_with, initargs=(os.getpid(),))
    with manager:
        checks = manager.Queue()

        def drain() -> None:
            while (item := checks.get()) is not None:
                on_check(*item)

        drainer = threading.Thread(target=drain, name="bpcheck-progress", daemon=True)
        drainer.start()
        try:
            yield QueueTick(checks)
        finally:
            checks.put(None)
            drainer.join(timeout=5)


@dataclass(frozen=True)
class QueueTick:
    """A :data:`Tick` that puts each (submission, check) on a queue."""

    queue: queue.Queue[tuple[str, str] | None]

    def __call__(self, submission: str, check: str) -> None:
        try:
            self.queue.put((submission, check))
        except Exception:  # progress only: the manager is gone (the grader is stopping)
            pass
