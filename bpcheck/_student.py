"""A student, as the harness sees one: a name, an API report, and ``call``.

:class:`Student` is the small interface every check goes through. This module
provides the in-process implementation used on a student's laptop; the
grader provides one backed by an isolated worker process.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import pluggy

from bpcheck._sandbox.calls import Call, Reply, StudentError
from bpcheck._sandbox.execute import StudentFunctions, execute, student_error
from bpcheck._sandbox.adapters import translate
from bpcheck._sandbox.loading import import_notebook, import_student, is_notebook, student_name
from bpcheck.adapters._adapter import Adapter
from bpcheck.adapters._notebook import NotebookError, notebook_cells

#: The contract's functions and how many positional arguments each takes.
REQUIRED_ARITY = {"forward": 3, "backward": 5}
OPTIONAL_ARITY = {"compute_loss": 3, "update": 3}


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
    """Anything that can answer calls on behalf of one student's code."""

    name: str
    spec: str
    api: ApiReport

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


def _failed_cells(failures: list[tuple[int, BaseException]]) -> tuple[str, ...]:
    return tuple(
        f"cell {number} raised, and the notebook was loaded without it: "
        + student_error("import", exc).summary.removeprefix("import() raised ")
        for number, exc in failures
    )


class InProcessStudent:
    """A student module (or notebook) imported into this process (the
    ``pytest --student`` route), translated by ``adapter`` (default: the
    functional contract)."""

    def __init__(
        self, spec: str, manager: pluggy.PluginManager, adapter: Adapter | None = None
    ) -> None:
        self.spec = spec
        self.name = student_name(spec)
        self._functions = StudentFunctions(None, None)
        adapter = adapter or Adapter("functional", "functional")
        warnings: tuple[str, ...] = ()
        try:
            if is_notebook(spec):
                module, failures = import_notebook(spec, notebook_cells(Path(spec)))
                warnings = _failed_cells(failures)
            else:
                module = import_student(spec)
        except NotebookError as error:
            self.api = ApiReport(import_error=StudentError("import", str(error)))
            return
        except (Exception, SystemExit) as exc:
            self.api = ApiReport(import_error=student_error("import", exc, f"importing {spec}"))
            return
        adapted = translate(adapter.translation, module, dict(adapter.settings))
        self._functions = adapted.functions
        found = inspect_functions(self._functions)
        problems = adapter.problems + adapted.problems
        self.api = replace(found, problems=problems or found.problems, warnings=warnings)

    def call(self, request: Call) -> Reply:
        return execute(self._functions, request)

    def call_many(self, requests: Sequence[Call]) -> list[Reply]:
        return [self.call(request) for request in requests]
