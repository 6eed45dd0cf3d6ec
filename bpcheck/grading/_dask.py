"""Grading on a dask.distributed cluster: ``bpcheck grade --scheduler tcp://HOST:PORT``.

The cluster is only another :class:`concurrent.futures.Executor`:
``Client(address).get_executor()``, handed to
:func:`~bpcheck.grading._grade.grade_all` like the local pool. Each
submission is one task; the task runs
:func:`~bpcheck.grading._grade.grade_submission`, and so the isolated worker,
on the Dask worker's machine, which therefore needs bpcheck (the same
version) and bubblewrap, and must see the submissions at the same paths as
the grader (a shared filesystem); the output directory need not be shared,
since the grader writes every result itself, as tasks return.

A Dask worker lost mid-task makes the scheduler run the task again on
another worker (``distributed.scheduler.allowed-failures`` times, then the
submission is a ``grader_error``, retried on the next run); its result is
written once, by the grader. Check results reach the progress bar as Dask
events (``Worker.log_event``, heard through ``Client.subscribe_topic``).

``distributed`` is the optional extra ``bpcheck[dask]``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bpcheck import __version__
from bpcheck._errors import ConfigError
from bpcheck.grading._grade import Tick

#: Seconds to wait for the scheduler to answer before giving up.
CONNECT_TIMEOUT = 10


def worker_version() -> str:
    """bpcheck's version on the machine this runs on (run on every Dask worker)."""
    return __version__


@dataclass(frozen=True)
class EventTick:
    """A :data:`~bpcheck.grading._grade.Tick` that logs each check result as a Dask
    event of ``topic``, from the worker running the task (nowhere elsewhere)."""

    topic: str

    def __call__(self, submission: str, check: str) -> None:
        from distributed import get_worker

        try:
            worker = get_worker()
        except ValueError:  # not running in a Dask worker
            return
        worker.log_event(self.topic, [submission, check])


@contextmanager
def dask_executor(address: str, source: str, on_check: Tick) -> Iterator[tuple[Executor, Tick]]:
    """The executor of the cluster whose scheduler is at ``address`` (given in
    ``source``), and the :data:`Tick` whose every call reaches ``on_check``
    here. Raises :class:`ConfigError` when ``distributed`` is not installed,
    the scheduler does not answer, or a worker lacks this version of bpcheck."""
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError(
            "scheduler", source, 'dask.distributed installed (pip install ".[dask]")', address
        ) from None
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as error:
        raise ConfigError(
            "scheduler", source, "the address of a running Dask scheduler", f"{address} ({error})"
        ) from None
    try:
        _check_workers(client, address, source)
        topic = f"bpcheck-progress-{uuid.uuid4().hex}"
        client.subscribe_topic(topic, lambda event: _hear(event, on_check))
        yield client.get_executor(pure=False), EventTick(topic)
    finally:
        client.close()


def _hear(event: tuple[float, Any], on_check: Tick) -> None:
    """One Dask event of the progress topic: (timestamp, [submission, check])."""
    _, message = event
    if isinstance(message, (list, tuple)) and len(message) == 2:
        on_check(str(message[0]), str(message[1]))


def _check_workers(client: Any, address: str, source: str) -> None:
    """Every worker of the cluster must run this version of bpcheck."""
    try:
        versions = client.run(worker_version)
    except Exception as error:  # a worker cannot even unpickle bpcheck's function
        raise ConfigError(
            "scheduler",
            source,
            f"Dask workers with bpcheck {__version__} installed",
            f"{address}, whose workers cannot run bpcheck ({type(error).__name__}: {error})",
        ) from None
    if not versions:
        raise ConfigError("scheduler", source, "a Dask scheduler with workers", f"{address}, which has none")
    other = {worker: version for worker, version in versions.items() if version != __version__}
    if other:
        raise ConfigError(
            "scheduler",
            source,
            f"Dask workers with bpcheck {__version__} (the grader's)",
            ", ".join(f"{worker} has {version}" for worker, version in sorted(other.items())),
        )
