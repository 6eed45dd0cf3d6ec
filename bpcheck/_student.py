"""A student, as the harness sees one: a name, an API report, and ``call``.

:class:`Student` is the small interface every check goes through. This module
provides the in-process implementation used on a student's laptop; the
grader provides one backed by an isolated worker process.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pluggy

from bpcheck._sandbox.calls import Call, Reply, StudentError
from bpcheck._sandbox.execute import StudentFunctions, execute, student_error
from bpcheck._sandbox.loading import import_student, student_name

#: The contract's functions and how many positional arguments each takes.
REQUIRED_ARITY = {"forward": 3, "backward": 5}
OPTIONAL_ARITY = {"compute_loss": 3, "update": 3}


@dataclass(frozen=True)
class ApiReport:
    """What loading and adapting the module found.

    ``problems`` says, one line each, what is missing or has the wrong arity;
    ``import_error`` holds the student's traceback when the import failed;
    ``optional`` names the optional functions present and usable.
    """

    problems: tuple[str, ...] = ()
    import_error: StudentError | None = None
    optional: frozenset[str] = field(default_factory=frozenset)

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


class InProcessStudent:
    """A student module imported into this process (the ``pytest --student`` route)."""

    def __init__(self, spec: str, manager: pluggy.PluginManager) -> None:
        self.spec = spec
        self.name = student_name(spec)
        self._functions = StudentFunctions(None, None)
        try:
            module = import_student(spec)
        except (Exception, SystemExit) as exc:
            self.api = ApiReport(import_error=student_error("import", exc, f"importing {spec}"))
            return
        self._functions = manager.hook.bpcheck_adapt_module(module=module)
        self.api = inspect_functions(self._functions)

    def call(self, request: Call) -> Reply:
        return execute(self._functions, request)

    def call_many(self, requests: Sequence[Call]) -> list[Reply]:
        return [self.call(request) for request in requests]
