"""Entry point of an isolated grading worker (see ``bpcheck.grading.isolation``).

The grader copies this package (its course translations, ``adapters/``,
included), together with ``bpcheck/grading/isolation/_wire.py`` as
``wire.py``, into the worker's temporary directory under a private package
name, and starts::

    python -s -S -B -c "import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')];
        sys.path.insert(0, LIB); from PKG.worker_main import main; main()" CONFIG

``CONFIG`` is JSON: the resource limits, the file descriptors of the
worker's end of a private socket and of the shared input memory, the seccomp
filter to load (hex, or null), where the submission is and where to copy it
(the worker's scratch space), the module's path in it, the contract's
arities, the translation of ``bpcheck._sandbox.adapters`` to adapt the
module with and its settings (plain JSON data the grader chose), and for a
notebook the path of a JSON file of its code cells ([cell number, Python
source] pairs, parsed by the grader; null for a ``.py`` module). The worker
sets its limits, loads the filter, copies the submission, reads the cells and
changes into the copy, imports NumPy, says it has booted, and waits for the
grader's go (a worker may be started ahead of its turn, while another
submission is graded); only then does it import the student's module
(running a notebook's cells in order), and adapt it. Its hello says what
the module lacks (``problems``), which optional functions it has, and which
cells raised (``warnings``). It then answers batches of requests on the
socket, one message of replies per batch, until the grader closes it or
kills it. Replies are data only (JSON and ``.npy``); the grader judges them.
Nothing here is trusted by the grader: student code runs in this process and
may replace any of it.

Exit codes: 0 when the grader closed the socket, 3 after a MemoryError,
4 when the worker could not send a reply, 5 when it could not set itself up.
"""

from __future__ import annotations

import ctypes
import inspect
import json
import mmap
import os
import resource
import shutil
import socket
import sys
from collections.abc import Mapping
from typing import Any

MEMORY_EXIT = 3
BROKEN_EXIT = 4
SETUP_EXIT = 5

#: Caps on what a reply may hold; the grader rejects anything larger as malformed.
MAX_KEY = 200
MAX_ENTRIES = 1024
MAX_TEXT = 20_000
#: Room kept free in a message, for its JSON framing.
MARGIN = 1 << 20

_PR_SET_NO_NEW_PRIVS = 38
_SECCOMP_SET_MODE_FILTER = 1
_SECCOMP_FILTER_FLAG_TSYNC = 1
_SYS_SECCOMP = {"x86_64": 317, "aarch64": 277}


def _set_limits(rlimits: dict[str, list[int]]) -> None:
    for name, (soft, hard) in rlimits.items():
        resource.setrlimit(getattr(resource, name), (soft, hard))


def _load_seccomp(program: bytes) -> None:
    """Load a BPF filter (compiled by the grader with libseccomp) on every thread."""

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    libc = ctypes.CDLL(None, use_errno=True)
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    number = _SYS_SECCOMP[os.uname().machine]
    if libc.syscall(number, _SECCOMP_SET_MODE_FILTER, _SECCOMP_FILTER_FLAG_TSYNC, ctypes.byref(fprog)):
        raise OSError(ctypes.get_errno(), "seccomp(SECCOMP_SET_MODE_FILTER)")


def _set_up(config: dict[str, Any]) -> tuple[str, list[tuple[int, str]] | None]:
    """Limits, filter, the copy of the submission: the student module's path,
    and a notebook's code cells (None for a ``.py`` module)."""
    _set_limits(config["rlimits"])
    os.umask(0o077)
    if config["seccomp"]:
        _load_seccomp(bytes.fromhex(config["seccomp"]))
    cells = None
    if config["cells"] is not None:
        with open(config["cells"], encoding="utf-8") as file:
            cells = [(int(number), str(source)) for number, source in json.load(file)]
    copy = os.path.join(config["scratch"], "student")
    shutil.copytree(config["submission"], copy, copy_function=shutil.copyfile)
    os.chdir(copy)
    return os.path.join(copy, config["module"]), cells


def main() -> None:
    config = json.loads(sys.argv[1])
    try:
        module_path, cells = _set_up(config)
    except BaseException as exc:
        sys.stderr.write(f"bpcheck worker: could not set itself up: {type(exc).__name__}: {exc}\n")
        os._exit(SETUP_EXIT)
    sock = socket.socket(fileno=config["fd"])
    sock.setblocking(True)

    import numpy as np  # after the limits and the filter, as everything below

    from . import wire  # type: ignore[attr-defined]  # wire.py exists only in the worker's copy
    from .adapters import translate
    from .calls import (
        DirectionProbe,
        ForwardCall,
        GradientCall,
        LossCall,
        Probe,
        ProbeCall,
        RegularisedCall,
        StudentError,
        UpdateCall,
    )
    from .execute import FUNCTION_OF_CALL, ContractViolation, execute, student_error
    from .loading import failed_cells, import_notebook, import_student

    call_types = {
        cls.__name__: cls
        for cls in (ForwardCall, GradientCall, LossCall, ProbeCall, UpdateCall, RegularisedCall)
    }
    # By class name, bound now: student code may replace module attributes later.
    function_of = {kind.__name__: name for kind, name in FUNCTION_OF_CALL.items()}
    probe_types = {"Probe": Probe, "DirectionProbe": DirectionProbe}
    # Bound now: student code may replace module attributes later.
    sendall, encode, allowed_dtype = sock.sendall, wire.encode, wire.allowed_dtype
    encode_checked, read_trusted = wire.encode_trusted, wire.read_trusted
    reader = wire.blocking_reader(sock)
    budget = wire.MAX_MESSAGE_BYTES - MARGIN
    json_budget = wire.MAX_JSON_BYTES - MARGIN
    exit_now, fstat, new_mapping = os._exit, os.fstat, mmap.mmap
    ndarray, dtype_of = np.ndarray, np.dtype
    shared_fd = config["shared_fd"]
    shared: list[Any] = [None]  # the mapping of the shared inputs (remapped as they grow)
    dtypes: dict[str, Any] = {}
    #: Whether a reply of the batch holds a value the wire must check (see ``raw``).
    unchecked = [False]

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

    def place(value: dict[str, Any]) -> Any:
        """An object of a request as decoded, or for a shared reference
        (``{"$shared": [offset, dtype, shape]}``) the array over the shared memory,
        mapped again when the grader has grown it past the current mapping."""
        reference = value.get("$shared")
        if reference is None:
            return value
        offset, name, shape = reference
        kind = dtypes.get(name)
        if kind is None:
            kind = dtypes[name] = dtype_of(name)
        try:
            return ndarray(tuple(shape), kind, buffer=shared[0], offset=offset)
        except TypeError:  # past the end of the mapping: the memory grew
            shared[0] = new_mapping(shared_fd, fstat(shared_fd).st_size)
            return ndarray(tuple(shape), kind, buffer=shared[0], offset=offset)

    def raw(value: Any) -> Any:
        """A returned gradient as the grader gets it. ``execute`` makes every one
        an array the wire carries; anything else (from a copy of ``execute`` the
        student tampered with) marks its batch's message to be checked in full
        as it is encoded, so that what the wire cannot carry becomes that call's
        error."""
        if not (isinstance(value, ndarray) and allowed_dtype(value.dtype)):
            unchecked[0] = True
        return value

    shared[0] = new_mapping(shared_fd, fstat(shared_fd).st_size)

    send({"type": "booted"})
    try:  # a worker may be started ahead of its turn: the student's code waits for it
        if read_trusted(reader, place).get("type") != "go":
            exit_now(BROKEN_EXIT)
    except EOFError:
        exit_now(0)
    except BaseException:
        exit_now(BROKEN_EXIT)

    # ---- import and adapt the student's module
    hello: dict[str, Any] = {
        "type": "hello", "import_error": None, "problems": [], "optional": [], "warnings": [],
    }  # fmt: skip
    functions = None
    try:
        if cells is None:
            module = import_student(module_path)
        else:
            module, failures = import_notebook(module_path, cells)
            hello["warnings"] = list(failed_cells(failures))
        adapted = translate(config["translation"], module, config["settings"])
        functions = adapted.functions
        found, hello["optional"] = _inspect(functions, config["contract"])
        # As bpcheck._student.InProcessStudent: what the translation lacks, else the arities.
        hello["problems"] = list(adapted.problems) or found
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
    for field in ("problems", "warnings"):
        hello[field] = [str(line)[:MAX_TEXT] for line in hello[field]][:MAX_ENTRIES]
    send(hello)
    if hello["import_error"] is not None or functions is None:
        exit_now(MEMORY_EXIT if hello.get("fatal") else 0)
    student_functions = functions

    def answer(request: dict[str, Any]) -> tuple[dict[str, Any], int, int]:
        """One call's reply tree, with its array bytes and an estimate of its JSON bytes."""
        function = function_of.get(str(request.get("kind")), "forward")
        try:
            call = _call_from(request, call_types, probe_types)
            try:
                reply = execute(student_functions, call, shared=True)
            except BaseException as exc:  # KeyboardInterrupt, or execute itself was tampered with
                return {"error": error_tree(student_error(function, exc))}, 0, 0
            if reply.error is not None:
                tree: dict[str, Any] = {"error": error_tree(reply.error)}
                if str(reply.error.exception).endswith("MemoryError"):
                    tree["fatal"] = "memory_limit"
                return tree, 0, len(str(tree))
            tree = _reply_tree(reply, raw)
            arrays, text = _sizes(tree)
            if arrays > budget or text > json_budget:
                raise _Unsendable(
                    f"{function}() returned {(arrays + text) / 1e6:.0f} MB of arrays and numbers; "
                    f"a reply may carry at most {wire.MAX_MESSAGE_BYTES / 1e6:.0f} MB"
                )
            return tree, arrays, text
        except _Unsendable as problem:
            return {"error": error_tree(StudentError(function, str(problem)))}, 0, 0
        except ContractViolation as violation:
            return {"error": error_tree(StudentError(violation.function, str(violation)))}, 0, 0
        except MemoryError:
            error = StudentError(function, f"{function}() ran out of memory", "", "MemoryError")
            return {"error": error_tree(error), "fatal": "memory_limit"}, 0, 0
        except BaseException as exc:  # the student broke the worker's own machinery
            return {"error": _broken(function, exc)}, 0, 0

    # ---- answer batches until the grader closes the channel
    while True:
        try:
            request = read_trusted(reader, place)
        except EOFError:
            exit_now(0)
        except BaseException:
            exit_now(BROKEN_EXIT)
        replies: list[Any] = []
        fatal = None
        arrays_total = text_total = 0
        for call in request["calls"]:
            tree, arrays, text = answer(call)
            fatal = tree.pop("fatal", None)
            if arrays_total + arrays > budget or text_total + text > json_budget:
                function = function_of.get(str(call.get("kind")), "forward")
                summary = (
                    f"{function}() returned more than the rest of its batch's "
                    f"{wire.MAX_MESSAGE_BYTES / 1e6:.0f} MB can carry"
                )
                tree = {"error": error_tree(StudentError(function, summary))}
            else:
                arrays_total, text_total = arrays_total + arrays, text_total + text
            replies.append(tree)
            if fatal:
                break
        message = {"type": "replies", "replies": replies, "fatal": fatal}
        checked, unchecked[0] = not unchecked[0], False
        try:  # checked: every value is an allowed array or JSON data of str keys already
            chunks = encode_checked(message) if checked else encode(message)
        except wire.WireError as problem:  # a raw gradient the wire cannot carry
            for index, tree in enumerate(replies):
                try:
                    encode(tree)
                except wire.WireError:
                    function = function_of.get(str(request["calls"][index].get("kind")), "backward")
                    summary = (
                        f"{function}() returned something the grader cannot accept: {problem}; "
                        "return numpy arrays of numbers"
                    )
                    replies[index] = {"error": error_tree(StudentError(function, summary))}
            try:
                chunks = encode(message)
            except BaseException:
                exit_now(BROKEN_EXIT)
        except BaseException:
            exit_now(BROKEN_EXIT)
        try:
            sendall(b"".join(chunks))
        except BaseException:
            exit_now(BROKEN_EXIT)
        if fatal:
            exit_now(MEMORY_EXIT)


class _Unsendable(Exception):
    pass


def _broken(function: str, exc: BaseException) -> dict[str, str]:
    return {
        "function": function,
        "summary": f"the worker could not answer: {type(exc).__name__} in its own code "
        "(did the module replace parts of numpy, builtins or the harness?)",
        "traceback": "",
        "exception": "",
    }


def _sizes(tree: Any) -> tuple[int, int]:
    """Bytes of array data in ``tree``, and a bound on the bytes of its JSON."""
    arrays = text = 0
    pending = [tree]
    while pending:
        value = pending.pop()
        kind = type(value)
        if kind is str or kind is float or kind is int:  # the usual leaves, told apart first
            text += len(str(value)) + 8
        elif kind is not dict and hasattr(value, "nbytes") and hasattr(value, "dtype"):
            arrays += int(value.nbytes)
            text += 16
        elif isinstance(value, Mapping):
            pending += list(value.values())
            text += sum(len(str(key)) + 8 for key in value)
        elif isinstance(value, (list, tuple)):
            pending += list(value)
            text += 2 * len(value) + 2
        else:
            text += len(str(value)) + 8
    return arrays, text


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


def _reply_tree(reply: Any, raw: Any) -> dict[str, Any]:
    def names(mapping: Any, what: str) -> dict[str, Any]:
        if len(mapping) > MAX_ENTRIES or any(len(str(key)) > MAX_KEY for key in mapping):
            raise _Unsendable(f"{what} has too many or too long keys")
        return {str(key): value for key, value in mapping.items()}

    tree: dict[str, Any] = {}  # the fields a reply has (the grader reads the others as absent)
    if reply.AL is not None:
        tree["AL"] = reply.AL
    if reply.gradients:
        tree["gradients"] = [
            {key: raw(value) for key, value in names(grads, "the gradient dict").items()}
            for grads in reply.gradients
        ][:MAX_ENTRIES]
    if reply.loss is not None:
        tree["loss"] = float(reply.loss)
    if reply.params is not None:
        tree["params"] = names(reply.params, "the parameter dict")
    if reply.probes is not None:
        tree["probes"] = reply.probes
    if reply.returned_types:
        types = names(reply.returned_types, "the gradient dict")
        tree["returned_types"] = {key: str(name)[:MAX_KEY] for key, name in types.items()}
    if reply.mutated:
        tree["mutated"] = [str(part)[:MAX_KEY] for part in reply.mutated][:MAX_ENTRIES]
    if reply.cache_dtypes:
        tree["cache_dtypes"] = [str(name)[:MAX_KEY] for name in reply.cache_dtypes][:MAX_ENTRIES]
    return tree


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
