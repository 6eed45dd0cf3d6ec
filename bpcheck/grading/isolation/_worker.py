"""A student whose code runs in an isolated worker process: :class:`WorkerStudent`.

It stages the submission (:mod:`._staging`), takes a uid (:mod:`._uids`),
starts the worker through its level's view (:mod:`._views`), and then sends
the worker batches of calls (:mod:`._protocol`, inputs in :mod:`._shared`),
watching the clock, the worker's output, its disk and its process while it
waits. What went wrong is recorded as ``termination``; every reply after
that says so at once.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bpcheck._sandbox.calls import Call, Reply, StudentError
from bpcheck._student import ApiReport
from bpcheck.adapters import Adapter
from bpcheck.adapters._notebook import NotebookError
from bpcheck.grading.isolation._launch import launch
from bpcheck.grading.isolation._limits import Limits
from bpcheck.grading.isolation._machine import machine
from bpcheck.grading.isolation._processes import matching
from bpcheck.grading.isolation._protocol import (
    FUNCTION_OF_CALL,
    Channel,
    ChannelClosed,
    ChannelTimeout,
    batch_tree,
    call_tree,
    expect_type,
    hello_report,
    replies_of,
)
from bpcheck.grading.isolation._resources import Resources
from bpcheck.grading.isolation._shared import WATCHED
from bpcheck.grading.isolation._staging import TooLarge, find_module, printable
from bpcheck.grading.isolation._wire import WireError

#: Seconds a worker may take to start Python and import NumPy, before any student code.
BOOT_TIMEOUT = 60.0
#: Free bytes under which the worker's writable space counts as full.
DISK_SLACK = 128 << 10
#: The isolation of a submission whose worker never started (nothing of it ran).
NOT_STARTED = "not started"


class _Stop(Exception):
    """A wait on the worker was cut short; ``termination`` has been set."""


@dataclass
class _Batch:
    """A batch of calls sent to the worker, with its requests as sent and the
    deadline of its replies; or one that was not sent, with its replies already
    (errors saying why)."""

    calls: list[Call]
    trees: list[dict[str, Any]] = field(default_factory=list)
    deadline: float = 0.0
    replies: list[Reply] | None = None


class WorkerStudent:
    """A student whose code runs in an isolated worker process (implements ``Student``).

    ``adapter`` (chosen by the grader from the module's source; default: the
    functional contract) says which translation of ``bpcheck._sandbox.adapters``
    the worker adapts the module with, and with which settings. A notebook's
    code cells are parsed here (JSON only, with nbformat) and run in the
    worker. ``api`` comes from the worker's import and adaptation of the
    module, as ``InProcessStudent`` reports it: the adapter's own problems
    (no adapter recognised the module) win over the worker's. ``call`` and
    ``call_many`` never raise for anything the student did; ``termination``
    says why the worker stopped, if it did (see the package docstring).
    ``notes`` lists what of a directory submission was left out. Use as a
    context manager, or call :meth:`close`.

    With ``ahead``, the worker is started ahead of its turn (while another
    submission is graded): it boots and waits, and only :meth:`begin`, which
    the caller must call before anything else, lets it import the student's
    module. The submission's time limit counts from :meth:`begin`.

    ``overlap`` says whether the grader may go on working while the worker
    answers: where a core is free for each. Without it :meth:`send_ahead`
    sends nothing, and the next :meth:`call_many` sends its batch as usual:
    where every core is busy already (a pool of as many graders as cores),
    a grader and its worker running at once only contend.
    """

    def __init__(
        self,
        submission: Path,
        limits: Limits = Limits(),
        adapter: Adapter | None = None,
        *,
        level: str | None = None,
        ahead: bool = False,
        overlap: bool = True,
    ) -> None:
        submission = Path(submission)
        self.limits = limits
        self._adapter = adapter or Adapter("functional", "functional")
        self.termination: str | None = None
        #: One line saying what ended the worker, for reports; "" while healthy.
        self.termination_detail = ""
        self.notes: list[str] = []
        self._started = time.monotonic()
        self._resources = Resources()
        self._finalizer = weakref.finalize(self, self._resources.release)
        self._machine = machine()
        self._level = self._machine.resolve(level)
        self._inner_pid: int | None = None
        self._scratch: str | None = None
        self._ahead: _Batch | None = None
        self._overlap = overlap
        self._begun = False
        module, problem = find_module(submission)
        #: The name and the path reports show (printable: see :func:`printable`).
        self.name = printable(submission.name if submission.is_dir() else submission.stem)
        self.spec = printable(module if module is not None else submission)
        self.isolation = NOT_STARTED
        if problem is not None or module is None:
            self.api = ApiReport(import_error=StudentError("import", problem or "no module"))
            return
        self._display = printable(module.name)
        try:
            self._start(submission, module)
        except (TooLarge, NotebookError) as unusable:
            self.close()
            self.api = ApiReport(import_error=StudentError("import", str(unusable)))
        except BaseException:  # the grader's own failure (disk full, ...): leave nothing behind
            self.close()
            raise
        if not ahead:
            self.begin()

    def begin(self) -> None:
        """Let the worker import the student's module, and read its hello (once):
        the submission's time starts now."""
        if self._begun:
            return
        self._begun = True
        self._started = time.monotonic()
        if self._resources.process is not None:
            self._handshake()

    # ---------------------------------------------------------------- context manager

    def __enter__(self) -> WorkerStudent:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Kill the worker's whole process tree and delete its files; idempotent."""
        self._finalizer()

    # ---------------------------------------------------------------- diagnostics

    @property
    def output_tail(self) -> str:
        """The last few KB of the worker's stdout and stderr (after close); never parsed."""
        return self._resources.output_tail

    def surviving_processes(self) -> list[int]:
        """Pids of the worker's processes still alive (after close(): should be empty)."""
        return matching(self._resources.belongs)

    # ---------------------------------------------------------------- start

    def _start(self, submission: Path, module: Path) -> None:
        launched = launch(
            submission,
            module,
            self.limits,
            self._adapter,
            self._level,
            self._machine,
            self._resources,
            self.notes,
            spec=self.spec,
            display=self._display,
        )
        self.isolation, self._scratch = launched.isolation, launched.scratch
        self._channel = Channel(launched.sock, self._tick)
        self.api = ApiReport(import_error=StudentError("import", "the worker has not begun"))

    def _handshake(self) -> None:
        try:
            deadline = self._deadline(BOOT_TIMEOUT)
            self._channel.send({"type": "go"}, deadline, trusted=True)  # read once it has booted
            expect_type(self._channel.receive(deadline), "booted")
        except (ChannelTimeout, ChannelClosed, WireError, _Stop) as problem:
            self.termination = "worker_error"
            self.termination_detail = (
                f"the worker failed to start ({type(problem).__name__}); its stderr ends: "
                + self._stderr_tail(600)
            )
            self._resources.kill()
            self.api = ApiReport(
                import_error=StudentError(
                    "import", f"the worker failed to start: {self.termination_detail}"
                )
            )
            return
        what = f"importing {self._display}"
        try:
            report, fatal = hello_report(
                self._channel.receive(self._deadline(self.limits.call_timeout))
            )
        except ChannelTimeout:
            self._stop("timeout", f"{what} did not finish within {self._limit_text(1)}")
        except ChannelClosed:
            self._stop_dead()
        except WireError as problem:
            self._stop(
                "protocol_error", f"the worker sent a malformed reply to the import ({problem})"
            )
        except _Stop:
            pass
        else:
            if report.import_error is None and self._adapter.problems:
                report = dataclasses.replace(report, problems=self._adapter.problems)
            self.api = report
            if fatal == "memory_limit":
                self._stop(
                    "memory_limit", f"{what} ran out of memory (limit {self.limits.memory_mb} MB)"
                )
            elif report.import_error is not None:
                self._resources.kill()  # the worker has nothing more to do
            else:
                self._check_disk()
            return
        self.api = ApiReport(
            import_error=StudentError(
                "import", f"{what} stopped the worker: {self.termination_detail}"
            )
        )

    # ---------------------------------------------------------------- calls

    def call(self, request: Call) -> Reply:
        """Send ``request`` to the worker; never raises for anything the student did."""
        return self.call_many([request])[0]

    def call_many(self, requests: Sequence[Call]) -> list[Reply]:
        """Answer ``requests`` in one round trip: one message out, one back (or,
        for the requests just sent ahead, only the message back).

        The batch may take the sum of its calls' time limits (capped by what is
        left of the submission's). What each call changed of its inputs is read
        back from the shared memory here, not taken from the worker.
        """
        calls = list(requests)
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return self._receive(self._send(calls))
        replies = self._receive(ahead)
        if len(calls) != len(ahead.calls) or any(a is not b for a, b in zip(calls, ahead.calls)):
            raise ValueError("call_many() must first ask for the requests sent ahead, as sent")
        return replies

    def send_ahead(self, requests: Sequence[Call]) -> None:
        """Send ``requests`` now, in one message, and return at once: the worker
        answers them while the grader goes on, and the next :meth:`call_many`,
        which must ask for exactly these requests, reads the replies (without
        ``overlap``, sends nothing: the next :meth:`call_many` does)."""
        if not self._overlap:
            return
        if self._ahead is not None:
            raise ValueError("send_ahead(): the requests sent ahead before have not been read")
        self._ahead = self._send(list(requests))

    def _send(self, calls: list[Call]) -> _Batch:
        """Send ``calls`` as one message (their inputs in the shared memory)."""
        if not calls:
            return _Batch(calls, replies=[])
        if self.termination is not None or self._resources.process is None or not self.api.usable:
            why = self.termination_detail or "the submission could not be loaded"
            return _Batch(
                calls,
                replies=[self._failed(call, f"not run: the worker was stopped earlier ({why})") for call in calls],
            )
        shared = self._resources.shared
        assert shared is not None
        deadline = self._deadline(self.limits.call_timeout * len(calls))
        try:
            shared.begin()
            trees = [call_tree(call, shared.reference) for call in calls]
            shared.seal()
            self._channel.send(batch_tree(trees), deadline, trusted=True)
        except (ChannelTimeout, ChannelClosed, _Stop) as problem:
            return _Batch(calls, replies=self._stopped(problem, calls))
        return _Batch(calls, trees, deadline)

    def _receive(self, batch: _Batch) -> list[Reply]:
        """The replies of ``batch``, strictly checked, each call's mutations as the
        grader sees them in the shared memory."""
        if batch.replies is not None:
            return batch.replies
        calls, shared = batch.calls, self._resources.shared
        assert shared is not None
        try:
            replies, fatal = replies_of(self._channel.receive(batch.deadline), calls)
        except (ChannelTimeout, ChannelClosed, WireError, _Stop) as problem:
            return self._stopped(problem, calls)
        changed = shared.changed()
        for call, tree, reply in zip(calls, batch.trees, replies):
            if changed and reply.error is None and type(call) in WATCHED:
                observed = shared.mutated(call, tree["fields"])
                reply.mutated = tuple(dict.fromkeys((*observed, *reply.mutated)))
        if fatal == "memory_limit":
            function = FUNCTION_OF_CALL[type(calls[len(replies) - 1])] if replies else "forward"
            self._stop(
                "memory_limit",
                f"{function}() ran out of memory (limit {self.limits.memory_mb} MB)",
            )
        else:
            try:
                self._check_output()
                self._check_disk()
            except _Stop:
                pass
        return replies + [
            self._failed(call, f"not run: {self.termination_detail}") for call in calls[len(replies) :]
        ]

    def _stopped(self, problem: Exception, calls: list[Call]) -> list[Reply]:
        """Stop the worker for what ``problem`` says happened to the batch of
        ``calls`` (a _Stop has said it already); the calls' replies then."""
        if isinstance(problem, ChannelTimeout):
            what = _describe_calls(calls)
            self._stop("timeout", f"{what} did not finish within {self._limit_text(len(calls))}")
        elif isinstance(problem, ChannelClosed):
            self._stop_dead()
        elif isinstance(problem, WireError):
            self._stop("protocol_error", f"the worker sent a malformed reply ({problem})")
        return [self._failed(call, self.termination_detail) for call in calls]

    @staticmethod
    def _failed(call: Call, why: str) -> Reply:
        function = FUNCTION_OF_CALL.get(type(call), "forward")
        return Reply(error=StudentError(function, f"{function}(): {why}"))

    # ---------------------------------------------------------------- watching the worker

    def _deadline(self, seconds: float) -> float:
        return min(time.monotonic() + seconds, self._started + self.limits.submission_timeout)

    def _limit_text(self, calls: int) -> str:
        now = time.monotonic()
        if now >= self._started + self.limits.submission_timeout - 0.01:
            return f"the submission's total time limit of {self.limits.submission_timeout:g} s"
        if calls == 1:
            return f"the time limit of {self.limits.call_timeout:g} s per call"
        return (
            f"the time limit of {calls * self.limits.call_timeout:g} s for its {calls} calls "
            f"({self.limits.call_timeout:g} s per call)"
        )

    def _tick(self) -> None:
        process = self._resources.process
        if process is not None and process.poll() is not None:
            # Let the socket drain first: Channel only ticks when nothing is readable.
            self._stop_dead()
            raise _Stop()
        self._check_output()

    def _output_size(self) -> int:
        return sum(os.fstat(fd).st_size for fd in self._resources.outputs)

    def _output_limit_reached(self) -> bool:
        """Whether the worker printed past its limit; if so, it is stopped for that."""
        if self._output_size() <= self.limits.output_bytes:
            return False
        self._stop("output_limit", f"the worker printed more than {self.limits.output_bytes} bytes")
        return True

    def _check_output(self) -> None:
        if self._output_limit_reached():
            raise _Stop()

    def _check_disk(self) -> None:
        """Stop the worker for ``disk_limit`` if its writable space is full, as the
        grader sees that space itself (statvfs through the worker's /proc root)."""
        if self._scratch is None:
            return
        try:
            if self._inner_pid is None:
                process = self._resources.process
                assert process is not None
                with open(f"/proc/{process.pid}/task/{process.pid}/children") as children:
                    self._inner_pid = int(children.read().split()[0])
            found = os.statvfs(f"/proc/{self._inner_pid}/root{self._scratch}")
        except (OSError, ValueError, IndexError):
            return  # the worker is gone or not yet forked: its death is told elsewhere
        if found.f_bavail * found.f_frsize < DISK_SLACK:
            self._stop(
                "disk_limit",
                f"the worker filled its writable space ({self.limits.disk_mb} MB, "
                f"limits.disk_mb)",
            )
            raise _Stop()

    def _set_termination(self, status: str, detail: str) -> None:
        if self.termination is None:
            self.termination, self.termination_detail = status, detail

    def _stop(self, status: str, detail: str) -> None:
        """Record why the worker stops, then kill it and everything it started."""
        self._set_termination(status, detail)
        self._resources.kill()
        for fd in self._resources.outputs:  # keep the capped files capped
            try:
                if os.fstat(fd).st_size > self.limits.output_bytes:
                    os.ftruncate(fd, self.limits.output_bytes)
            except OSError:
                pass

    def _stop_dead(self) -> None:
        """The worker's channel closed or its process ended: say how it died."""
        process = self._resources.process
        assert process is not None
        try:
            code = process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self._stop("crashed", "the worker closed its channel")
            return
        if self._output_limit_reached():
            return
        number = (
            -code if code < 0 else code - 128 if code > 128 and self._level != "plain" else None
        )
        if number == signal.SIGXCPU:
            self._stop(
                "cpu_limit", f"the worker used up its {self.limits.cpu_seconds} s of CPU time"
            )
        elif number == signal.SIGXFSZ:
            self._stop(
                "file_size_limit", f"the worker wrote a file past {self.limits.file_size_mb} MB"
            )
        elif number is not None:
            try:
                name = signal.Signals(number).name
            except ValueError:
                name = f"signal {number}"
            self._stop("crashed", f"the worker process was killed by {name}")
        else:
            self._stop("crashed", f"the worker process exited with code {code}")

    def _stderr_tail(self, size: int) -> str:
        if len(self._resources.outputs) < 2:
            return ""
        fd = self._resources.outputs[1]
        try:
            end = os.fstat(fd).st_size
            return os.pread(fd, size, max(0, end - size)).decode(errors="replace").strip()
        except OSError:
            return ""


def _describe_calls(calls: list[Call]) -> str:
    functions = dict.fromkeys(FUNCTION_OF_CALL.get(type(call), "forward") for call in calls)
    if len(calls) == 1:
        return f"{next(iter(functions))}()"
    return f"a batch of {len(calls)} calls ({', '.join(f'{name}()' for name in functions)})"
