"""Entry point of an isolated grading worker (see ``bpcheck.grading._isolation``).

The grader copies this package, together with ``bpcheck/grading/_wire.py`` as
``wire.py``, into the worker's temporary directory under a private package
name, and starts::

    python -s -S -B -c "import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')];
        sys.path.insert(0, LIB); from PKG.worker_main import main; main()" CONFIG

``CONFIG`` is JSON: the resource limits, the file descriptor of the worker's
end of a private socket, the student module's path and the contract's
arities. The worker sets its limits before anything else, imports NumPy and
then the student's module, and answers requests on the socket until the
grader closes it or kills it. Replies are data only (JSON and ``.npy``); the
grader judges them. Nothing here is trusted by the grader: student code runs
in this process and may replace any of it.

Exit codes: 0 when the grader closed the socket, 3 after a MemoryError,
4 when the worker could not send a reply.
"""

from __future__ import annotations

import inspect
import json
import os
import resource
import socket
import sys
from collections.abc import Mapping
from typing import Any

MEMORY_EXIT = 3
BROKEN_EXIT = 4

#: Caps on what a reply may hold; the grader rejects anything larger as malformed.
MAX_KEY = 200
MAX_ENTRIES = 1024
MAX_TEXT = 20_000

#: The student function a request is charged to when the worker itself must report.
FUNCTION_OF_CALL = {
    "ForwardCall": "forward",
    "GradientCall": "backward",
    "ProbeCall": "forward",
    "LossCall": "compute_loss",
    "UpdateCall": "update",
}


def _set_limits(rlimits: dict[str, list[int]]) -> None:
    for name, (soft, hard) in rlimits.items():
        resource.setrlimit(getattr(resource, name), (soft, hard))


def main() -> None:
    config = json.loads(sys.argv[1])
    _set_limits(config["rlimits"])
    sock = socket.socket(fileno=config["fd"])
    sock.setblocking(True)

    from . import wire  # type: ignore[attr-defined]  # wire.py exists only in the worker's copy
    from .calls import (
        DirectionProbe,
        ForwardCall,
        GradientCall,
        LossCall,
        Probe,
        ProbeCall,
        Reply,
        StudentError,
        UpdateCall,
    )
    from .execute import execute, functional_functions, student_error
    from .loading import import_student

    call_types = {
        cls.__name__: cls for cls in (ForwardCall, GradientCall, LossCall, ProbeCall, UpdateCall)
    }
    # Bound now: student code may replace module attributes later.
    sendall, encode = sock.sendall, wire.encode
    read_message, reader = wire.read_message, wire.blocking_reader(sock)
    exit_now = os._exit

    def send(tree: dict[str, Any]) -> None:
        try:
            sendall(b"".join(encode(tree)))
        except BaseException:
            exit_now(BROKEN_EXIT)

    def error_tree(error: Any) -> dict[str, str]:
        return {
            "function": str(error.function)[:MAX_KEY],
            "summary": str(error.summary)[:MAX_TEXT],
            "traceback": str(error.traceback)[-MAX_TEXT:],
            "exception": str(error.exception)[:MAX_KEY],
        }

    send({"type": "booted"})

    # ---- import and adapt the student's module
    hello: dict[str, Any] = {"type": "hello", "import_error": None, "problems": [], "optional": []}
    functions = None
    try:
        module = import_student(config["module"])
        functions = functional_functions(module)
        hello["problems"], hello["optional"] = _inspect(functions, config["contract"])
    except BaseException as exc:  # SystemExit and KeyboardInterrupt included: all the student's
        try:
            hello["import_error"] = error_tree(
                student_error("import", exc, f"importing {config['display']}")
            )
        except BaseException:
            hello["import_error"] = {
                "function": "import",
                "summary": f"importing {config['display']} raised {type(exc).__name__}",
                "traceback": "",
                "exception": type(exc).__name__,
            }
        if isinstance(exc, MemoryError):
            hello["fatal"] = "memory_limit"
    hello["problems"] = [str(problem)[:MAX_TEXT] for problem in hello["problems"]][:MAX_ENTRIES]
    send(hello)
    if hello["import_error"] is not None:
        exit_now(MEMORY_EXIT if hello.get("fatal") else 0)

    if functions is None:  # unreachable: an import error exits above
        exit_now(BROKEN_EXIT)
    # ---- answer requests until the grader closes the channel
    while True:
        try:
            request = read_message(reader)
        except EOFError:
            exit_now(0)
        except BaseException:
            exit_now(BROKEN_EXIT)
        function = FUNCTION_OF_CALL.get(request.get("kind"), "forward")
        try:
            call = _call_from(request, call_types, {"Probe": Probe, "DirectionProbe": DirectionProbe})
            try:
                reply = execute(functions, call)
            except BaseException as exc:  # KeyboardInterrupt, or execute itself was tampered with
                reply = Reply(error=student_error(function, exc))
            tree = _reply_tree(reply, error_tree)
            if reply.error is not None and str(reply.error.exception).endswith("MemoryError"):
                tree["fatal"] = "memory_limit"
            size = _array_bytes(reply)
            if size > wire.MAX_MESSAGE_BYTES - (1 << 20):
                raise _Unsendable(
                    f"{function}() returned {size / 1e6:.0f} MB of arrays; "
                    f"a reply may carry at most {wire.MAX_MESSAGE_BYTES / 1e6:.0f} MB"
                )
            chunks = encode(tree)
        except _Unsendable as problem:
            tree = {"type": "reply", "error": error_tree(StudentError(function, str(problem)))}
            chunks = encode(tree)
        except wire.WireError as problem:
            summary = (
                f"{function}() returned something the grader cannot accept: {problem}; "
                "return numpy arrays of real numbers"
            )
            tree = {"type": "reply", "error": error_tree(StudentError(function, summary))}
            chunks = encode(tree)
        except MemoryError:
            tree = {
                "type": "reply",
                "fatal": "memory_limit",
                "error": error_tree(
                    StudentError(function, f"{function}() ran out of memory", "", "MemoryError")
                ),
            }
            chunks = encode(tree)
        except BaseException as exc:  # the student broke the worker's own machinery
            tree = {
                "type": "reply",
                "error": {
                    "function": function,
                    "summary": f"the worker could not answer: {type(exc).__name__} in its own code "
                    "(did the module replace parts of numpy, builtins or the harness?)",
                    "traceback": "",
                    "exception": "",
                },
            }
            try:
                chunks = encode(tree)
            except BaseException:
                exit_now(BROKEN_EXIT)
        try:
            sendall(b"".join(chunks))
        except BaseException:
            exit_now(BROKEN_EXIT)
        if tree.get("fatal"):
            exit_now(MEMORY_EXIT)


class _Unsendable(Exception):
    pass


def _array_bytes(reply: Any) -> int:
    """Bytes of array data in ``reply`` (before encoding it, which would copy them)."""
    arrays = [reply.AL, reply.probes, *(reply.params or {}).values()]
    arrays += [value for grads in reply.gradients for value in grads.values()]
    return sum(int(getattr(array, "nbytes", 0)) for array in arrays if array is not None)


def _call_from(
    request: dict[str, Any], call_types: Mapping[str, type], probe_types: Mapping[str, type]
) -> Any:
    fields = dict(request["fields"])
    if "activations" in fields:
        fields["activations"] = tuple(fields["activations"])
    if "probes" in fields:
        probes = []
        for item in fields["probes"]:
            item = dict(item)
            probes.append(probe_types[item.pop("kind")](**item))
        fields["probes"] = tuple(probes)
    return call_types[request["kind"]](**fields)


def _reply_tree(reply: Any, error_tree: Any) -> dict[str, Any]:
    def names(mapping: Any, what: str) -> dict[str, Any]:
        if len(mapping) > MAX_ENTRIES or any(len(str(key)) > MAX_KEY for key in mapping):
            raise _Unsendable(f"{what} has too many or too long keys")
        return {str(key): value for key, value in mapping.items()}

    return {
        "type": "reply",
        "AL": reply.AL,
        "gradients": [names(grads, "the gradient dict") for grads in reply.gradients][:MAX_ENTRIES],
        "returned_types": {
            str(key)[:MAX_KEY]: str(value)[:MAX_KEY]
            for key, value in list(reply.returned_types.items())[:MAX_ENTRIES]
        },
        "loss": None if reply.loss is None else float(reply.loss),
        "params": None if reply.params is None else names(reply.params, "the parameter dict"),
        "probes": reply.probes,
        "mutated": [str(part)[:MAX_KEY] for part in reply.mutated][:MAX_ENTRIES],
        "cache_dtypes": [str(name)[:MAX_KEY] for name in reply.cache_dtypes][:MAX_ENTRIES],
        "error": None if reply.error is None else error_tree(reply.error),
    }


def _inspect(
    functions: Any, contract: dict[str, dict[str, list[Any]]]
) -> tuple[list[str], list[str]]:
    """The contract's names and arities checked as ``bpcheck._student.inspect_functions`` does."""
    problems = []
    for name, (arity, arguments) in contract["required"].items():
        function = getattr(functions, name)
        if function is None:
            problems.append(f"missing function {name}({arguments})")
        elif (problem := _arity_problem(name, function, arity, arguments)) is not None:
            problems.append(problem)
    optional = [
        name
        for name, (arity, arguments) in contract["optional"].items()
        if getattr(functions, name) is not None
        and _arity_problem(name, getattr(functions, name), arity, arguments) is None
    ]
    return problems, optional


def _arity_problem(name: str, function: Any, arity: int, arguments: str) -> str | None:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # no signature to inspect (a builtin): let the call decide
        return None
    try:
        signature.bind(*range(arity))
    except TypeError:
        return (
            f"{name}{signature} cannot be called with {arity} positional "
            f"arguments; the contract is {name}({arguments})"
        )
    return None
