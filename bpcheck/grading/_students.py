"""The student a submission is graded as: an isolated worker, or trusted code in-process.

:func:`open_student` opens it for a unit of work (:mod:`bpcheck.grading._grade`):
a :class:`~bpcheck.grading.isolation.WorkerStudent` by default (started
ahead of its turn, or now), or for trusted code (benchmarks, staff
solutions) a :class:`TrustedStudent` imported into the grader's process.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import pluggy

from bpcheck._errors import ConfigError
from bpcheck._manager import get_plugin_manager
from bpcheck._student import InProcessStudent, Student
from bpcheck.adapters import Adapter
from bpcheck.grading.isolation import Limits, WorkerStudent, find_module, printable

#: How student code is run: "worker" (isolated; the default, and the only
#: choice for untrusted code) or "in-process" (trusted code only: benchmarks).
ISOLATIONS = ("worker", "in-process")
#: Where a trusted in-process student's code ran, as reports say it.
IN_PROCESS = "none: in-process (trusted code only)"


@functools.cache
def plugin_manager() -> pluggy.PluginManager:
    """One plugin manager per grader process."""
    return get_plugin_manager()


class GradedStudent(Student, Protocol):
    """A :class:`Student` that can stop answering: ``termination`` says why
    (None while it answers), ``termination_detail`` in one line."""

    isolation: str
    termination: str | None
    termination_detail: str
    notes: list[str]


class TrustedStudent(InProcessStudent):
    """An in-process student, for trusted code only (benchmarks, staff solutions),
    translated by ``adapter`` as a worker would be."""

    isolation = IN_PROCESS
    notes: list[str] = []

    def __init__(
        self,
        submission: Path,
        manager: pluggy.PluginManager,
        timeout: float,
        adapter: Adapter | None = None,
    ) -> None:
        super().__init__(student_spec(submission), manager, adapter, timeout=timeout)
        self.name, self.spec = printable(self.name), printable(self.spec)


def student_spec(submission: Path) -> str:
    """The path of the submission's module (its directory's, see ``find_module``),
    or the submission itself when it has none (loading it then says why)."""
    module, _ = find_module(submission)
    return str(module if module is not None else submission)


def check_isolation(isolation: str) -> None:
    """Raise :class:`ConfigError` unless ``isolation`` is one of :data:`ISOLATIONS`."""
    if isolation not in ISOLATIONS:
        raise ConfigError("isolation", "the grading job", " or ".join(ISOLATIONS), isolation)


@contextmanager
def open_student(
    submission: Path,
    limits: Limits,
    isolation: str,
    adapter: Adapter | None = None,
    started: WorkerStudent | None = None,
    overlap: bool = False,
) -> Iterator[GradedStudent]:
    """The submission's student, run as ``isolation`` says and translated by
    ``adapter`` (default: the functional contract), closed on exit: ``started``
    when its worker was started ahead (:func:`start_ahead`); else a new
    worker, sent calls ahead with ``overlap`` (see :class:`WorkerStudent`)."""
    check_isolation(isolation)
    if isolation == "in-process":
        yield TrustedStudent(submission, plugin_manager(), limits.call_timeout, adapter)
        return
    with started or WorkerStudent(submission, limits, adapter, overlap=overlap) as student:
        student.begin()
        yield student
