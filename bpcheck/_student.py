"""A student, as the harness sees one: a name, an API report, and ``call``.

:class:`Student` is the small interface every check goes through. This module
provides the in-process implementation used on a student's laptop; the
grader provides one backed by an isolated worker process.
"""

from __future__ import annotations

import inspect
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import pluggy

from bpcheck._sandbox.calls import Call, Reply, StudentError
from bpcheck._sandbox.adapters import translate
from bpcheck._sandbox.execute import FUNCTION_OF_CALL, StudentFunctions, execute, student_error
from bpcheck._sandbox.loading import (
    failed_cells,
    import_notebook,
    import_student,
    is_notebook,
    student_name,
)
from bpcheck.adapters._adapter import Adapter
from bpcheck.adapters._notebook import NotebookError, notebook_cells

#: The contract's functions and how many positional arguments each takes.
REQUIRED_ARITY = {"forward": 3, "backward": 5}
OPTIONAL_ARITY = {"compute_loss": 3, "update": 3, "regularised": 6}


@dataclass(frozen=True)
class ApiReport:
    """What loading and adapting the module found.

    ``problems`` says, one line each, what is missing or has the wrong arity;
    ``import_error`` holds the student's traceback when the import failed;
    ``optional`` names the optional functions present and usable;
    ``warnings`` what went wrong without making the module unusable (a
    notebook cell that raised: its number and its error).
    """

    problems: tuple[str, ...] = ()
    import_error: StudentError | None = None
    optional: frozenset[str] = field(default_factory=frozenset)
    warnings: tuple[str, ...] = ()

    @property
    def usable(self) -> bool:
        return not self.problems and self.import_error is None


class Student(Protocol):
    """Anything that can answer calls on behalf of one student's code.

    It may also have ``send_ahead(requests)``: start on ``requests`` while the
    harness goes on (an isolated worker runs them in its own process), the
    next :meth:`call_many` being of exactly these requests and reading their
    replies. A family run uses it where it exists (see ``bpcheck._family_run``).
    """

    @property
    def name(self) -> str: ...

    @property
    def spec(self) -> str: ...

    @property
    def api(self) -> ApiReport: ...

    def call(self, request: Call) -> Reply:
        """Run ``request`` against the student's code; never raises for student mistakes."""

    def call_many(self, requests: Sequence[Call]) -> list[Reply]:
        """Answer ``requests`` in order, as :meth:`call` would each (an isolated
        worker answers them in one round trip); never raises for student mistakes."""


def _arity_problem(name: str, function: Callable[..., Any], arity: int) -> str | None:
    try:
        inspect.signature(function).bind(*range(arity))
    except TypeError:
        return (
            f"{name}{inspect.signature(function)} cannot be called with {arity} positional "
            f"arguments; the contract is {name}({_CONTRACT_ARGUMENTS[name]})"
        )
    except ValueError:  # no signature to inspect (a builtin): let the call decide
        return None
    return None


_CONTRACT_ARGUMENTS = {
    "forward": "params, X, activations",
    "backward": "params, cache, Y, activations, loss",
    "compute_loss": "AL, Y, loss",
    "update": "params, grads, learning_rate",
    "regularised": "params, X, Y, activations, loss, reg",
}


def inspect_functions(functions: StudentFunctions) -> ApiReport:
    """Check the adapted functions against the contract's names and arities."""
    problems: list[str] = []
    for name, arity in REQUIRED_ARITY.items():
        function = getattr(functions, name)
        if function is None:
            problems.append(f"missing function {name}({_CONTRACT_ARGUMENTS[name]})")
        elif (problem := _arity_problem(name, function, arity)) is not None:
            problems.append(problem)
    optional = frozenset(
        name
        for name, arity in OPTIONAL_ARITY.items()
        if getattr(functions, name) is not None
        and _arity_problem(name, getattr(functions, name), arity) is None
    )
    return ApiReport(problems=tuple(problems), optional=optional)


#: The per-call time limit of ``pytest --student`` and ``bpcheck check``, in seconds.
DEFAULT_TIMEOUT = 10.0


class CallTimeout(BaseException):
    """Raised in student code when a call outlives its time limit (a BaseException,
    so that the student's ``except Exception`` does not swallow it)."""


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`CallTimeout` in the block after ``seconds`` of wall clock, then
    every second again (code that swallows it once gets it again). It needs
    SIGALRM, so it works in the main thread only: elsewhere, and for None, the
    block runs without a limit."""
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise CallTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class InProcessStudent:
    """A student module (or notebook) imported into this process (the
    ``pytest --student`` route), translated by ``adapter`` (default: the
    functional contract).

    ``timeout`` is the time limit of each call, in seconds (None: no limit; the
    front ends pass ``--bpcheck-timeout``). After a call ran past it, the
    student's code is not called again: every later call answers at once that
    it was not run, and ``termination`` is "timeout".
    """

    termination: str | None = None

    def __init__(
        self,
        spec: str,
        manager: pluggy.PluginManager,
        adapter: Adapter | None = None,
        *,
        timeout: float | None = None,
    ) -> None:
        self.spec = spec
        self.name = student_name(spec)
        self.timeout = timeout
        self.termination_detail = ""
        self._functions = StudentFunctions(None, None)
        adapter = adapter or Adapter("functional", "functional")
        warnings: tuple[str, ...] = ()
        try:
            with time_limit(timeout):
                if is_notebook(spec):
                    module, failures = import_notebook(spec, notebook_cells(Path(spec)))
                    warnings = failed_cells(failures)
                else:
                    module = import_student(spec)
                # Translating reads the module's attributes, student code too
                # (properties, __getattr__): its errors are the import's, as in a worker.
                adapted = translate(adapter.translation, module, dict(adapter.settings))
        except NotebookError as invalid:
            self.api = ApiReport(import_error=StudentError("import", str(invalid)))
            return
        except CallTimeout:
            self.termination = "timeout"
            self.termination_detail = f"(the import) did not finish within {timeout:g} s"
            late = StudentError("import", f"importing {spec} {self.termination_detail}")
            self.api = ApiReport(import_error=late)
            return
        except (Exception, SystemExit) as exc:
            self.api = ApiReport(import_error=student_error("import", exc, f"importing {spec}"))
            return
        self._functions = adapted.functions
        found = inspect_functions(self._functions)
        problems = adapter.problems or adapted.problems or found.problems
        self.api = replace(found, problems=problems, warnings=warnings)

    def call(self, request: Call) -> Reply:
        function = FUNCTION_OF_CALL.get(type(request), "forward")
        if self.termination is not None:
            return Reply(
                error=StudentError(function, f"not run: an earlier call {self.termination_detail}")
            )
        try:
            with time_limit(self.timeout):
                return execute(self._functions, request)
        except CallTimeout:
            self.termination = "timeout"
            self.termination_detail = (
                f"did not finish within the time limit of {self.timeout:g} s per call "
                "(--bpcheck-timeout, or --timeout for bpcheck check)"
            )
            return Reply(
                error=StudentError(
                    function, f"{function}() {self.termination_detail}", exception="CallTimeout"
                )
            )

    def call_many(self, requests: Sequence[Call]) -> list[Reply]:
        return [self.call(request) for request in requests]
