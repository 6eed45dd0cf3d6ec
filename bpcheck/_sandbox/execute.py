"""Run one :mod:`~bpcheck._sandbox.calls` request against a student's functions.

This module is the only place that calls student code. It hands the student
fresh copies of every argument, compares the originals afterwards to see what
was mutated, converts whatever came back into plain arrays, and turns an
exception into a :class:`~bpcheck._sandbox.calls.StudentError` carrying the student's
own traceback. It imports nothing of the rest of the harness but the call
types, so that it can run alone inside an isolated worker.

Inside an isolated worker, ``execute(..., shared=True)`` leaves one of those
jobs to the grader, which can observe it where student code cannot reach: the
arguments are handed over as they are (arrays in memory the grader reads back
after the call), so ``mutated`` lists only changes to the containers
themselves (a key of ``params`` added, removed or rebound). The gradient dicts
are converted here in both cases (:func:`gradient_arrays`), so that they
travel to a grader as ``.npy`` arrays, whatever the student returned.
"""

from __future__ import annotations

import copy
import importlib
import os
import re
import traceback
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from .calls import (
    Array,
    Call,
    DirectionProbe,
    ForwardCall,
    GradientCall,
    LossCall,
    ProbeCall,
    RegularisedCall,
    Reply,
    StudentError,
    UpdateCall,
)
from .dtypes import cache_dtypes


@dataclass(frozen=True)
class StudentFunctions:
    """A student module adapted to the functional contract.

    ``forward`` and ``backward`` are None when the module lacks them; the
    optional ``compute_loss`` and ``update`` are None when absent, and so is
    ``regularised(params, X, Y, activations, loss, reg) -> (loss, grads)``,
    which only a translation of a course whose API takes an L2 strength
    provides.
    """

    forward: Callable[..., Any] | None
    backward: Callable[..., Any] | None
    compute_loss: Callable[..., Any] | None = None
    update: Callable[..., Any] | None = None
    regularised: Callable[..., Any] | None = None


def functional_functions(module: ModuleType) -> StudentFunctions:
    """The functional style: ``forward``, ``backward`` and the optional
    ``compute_loss`` and ``update`` taken straight from the module; missing
    (or non-callable) ones stay None."""

    def function(name: str) -> Callable[..., Any] | None:
        value = getattr(module, name, None)
        return value if callable(value) else None

    return StudentFunctions(
        function("forward"), function("backward"), function("compute_loss"), function("update")
    )


class ContractViolation(Exception):
    """Student code returned something the contract does not allow."""

    def __init__(self, function: str, summary: str) -> None:
        super().__init__(summary)
        self.function = function


class _StudentRaised(Exception):
    def __init__(self, error: StudentError) -> None:
        super().__init__(error.summary)
        self.error = error


def execute(functions: StudentFunctions, call: Call, *, shared: bool = False) -> Reply:
    """Answer ``call`` with ``functions``; never raises for anything the student did.

    ``shared``: the caller observes mutations of the arrays itself (see the
    module docstring).
    """
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return _HANDLERS[type(call)](functions, call, shared)
    except _StudentRaised as raised:
        return Reply(error=raised.error)
    except ContractViolation as violation:
        return Reply(error=StudentError(violation.function, str(violation)))


def _invoke(name: str, function: Callable[..., Any] | None, *args: Any) -> Any:
    if function is None:
        raise ContractViolation(name, f"the module has no function {name}()")
    try:
        return function(*args)
    except (Exception, SystemExit) as exc:  # KeyboardInterrupt stays the user's
        raise _StudentRaised(student_error(name, exc)) from None


#: The harness's own code: this package and the one holding it (bpcheck itself, or in a
#: worker the private folder of the copied harness), and the import machinery.
_HARNESS_DIRECTORIES = (
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,
    os.path.dirname(os.path.abspath(importlib.__file__)) + os.sep,
    "<frozen ",
)


def _is_harness_frame(frame: traceback.FrameSummary) -> bool:
    return frame.filename.startswith(_HARNESS_DIRECTORIES)


def student_error(function: str, exc: BaseException, action: str | None = None) -> StudentError:
    """``exc`` as raised by student code, its traceback starting at the student's
    first frame (the harness's and importlib's frames that lead to it are left out).

    ``action`` says what raised in the summary; it defaults to ``function()``.
    """
    report = traceback.TracebackException.from_exception(exc)
    frames = list(report.stack)
    while frames and _is_harness_frame(frames[0]):
        frames.pop(0)
    report.stack = traceback.StackSummary.from_list(frames)
    lines = list(report.format())
    summary = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]
    return StudentError(
        function, f"{action or function + '()'} raised {summary}", "".join(lines), type(exc).__name__
    )


def _type_name(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"ndarray of {value.dtype}"
    return type(value).__name__


#: The dtype kinds of a student's arrays the harness takes: booleans, signed and
#: unsigned integers, floats and complex numbers (the checks say what is wrong
#: with any but floats; an object or a string array is a contract violation).
NUMBER_KINDS = "biufc"


def _to_array(function: str, what: str, value: Any) -> Array:
    """A numeric array copy of ``value``, or a contract violation saying what it was."""
    if type(value) is np.ndarray and value.dtype.kind in NUMBER_KINDS:  # the usual case, and fast
        return value.copy(order="K")
    try:
        array = np.array(value, copy=True)
        if array.dtype == object:  # numbers in an object array: real, else complex
            try:
                array = array.astype(np.float64)
            except TypeError:
                array = array.astype(np.complex128)
    except (TypeError, ValueError, OverflowError):  # not numbers, or an int past float64
        raise ContractViolation(
            function, f"{what} must be a numpy array of numbers; got a {_type_name(value)}"
        ) from None
    if array.dtype.kind not in NUMBER_KINDS:
        raise ContractViolation(
            function, f"{what} must be a numpy array of numbers; got a {_type_name(value)}"
        )
    return array


def mutated_parts(name: str, before: Any, after: Any) -> list[str]:
    """Names of the parts of an argument that changed (dicts by key, arrays by value)."""
    if type(before) is dict or isinstance(before, Mapping):
        changed = [
            f"{name}[{key!r}]"
            for key in before
            if key not in after or not _same(before[key], after[key])
        ]
        return changed + [f"{name}[{key!r}] (added)" for key in after if key not in before]
    return [] if _same(before, after) else [name]


def _same(before: Any, after: Any) -> bool:
    """Unchanged: for arrays, the same shape, dtype and bytes (NaNs included)."""
    if type(before) is np.ndarray or isinstance(before, np.ndarray):
        return (
            isinstance(after, np.ndarray)
            and before.shape == after.shape
            and before.dtype == after.dtype
            and before.tobytes() == after.tobytes()
        )
    return bool(before == after)


#: Arguments that cannot change in place, by exact type.
_IMMUTABLE = frozenset({str, int, float, bool, type(None)})


def _copy(value: Any) -> Any:
    """A deep copy of an argument: arrays, and dicts, lists and tuples of them,
    copied directly (the common case, and fast, told apart by exact type
    first); anything else by deepcopy."""
    kind = type(value)
    if kind is np.ndarray:
        return value.copy()
    if kind is dict:
        return {key: _copy(item) for key, item in value.items()}
    if kind is list:
        return [_copy(item) for item in value]
    if kind is tuple:
        return tuple([_copy(item) for item in value])
    if kind in _IMMUTABLE:
        return value
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (str, int, float, bool)):
        return value
    return copy.deepcopy(value)


def _guarded(
    arguments: dict[str, Any], shared: bool
) -> tuple[dict[str, Any], Callable[[], tuple[str, ...]]]:
    """What to hand the student, and a function listing which of it changed: copies,
    compared by value; or (``shared``) the arguments themselves, their containers
    compared with a snapshot by identity (the caller compares the arrays)."""
    if shared:
        snapshot = {name: _shallow(value) for name, value in arguments.items()}

        def changed() -> tuple[str, ...]:
            return tuple(
                part
                for name, before in snapshot.items()
                for part in _container_changes(name, before, arguments[name])
            )

        return arguments, changed
    handed = {name: _copy(value) for name, value in arguments.items()}

    def mutated() -> tuple[str, ...]:
        return tuple(
            part
            for name, original in arguments.items()
            for part in mutated_parts(name, original, handed[name])
        )

    return handed, mutated


def _shallow(value: Any) -> Any:
    if type(value) is dict or isinstance(value, Mapping):
        return dict(value)
    return list(value) if isinstance(value, list) else value


def _container_changes(name: str, before: Any, after: Any) -> list[str]:
    """A dict's keys added, removed or rebound to another object; a list changed."""
    if isinstance(before, dict):
        changed = [
            f"{name}[{key!r}]"
            for key in before
            if key not in after or (after[key] is not before[key] and not _same(before[key], after[key]))
        ]
        return changed + [f"{name}[{key!r}] (added)" for key in after if key not in before]
    if isinstance(before, list):
        return [] if before == after else [name]
    return []


def _unpack_forward(result: Any) -> tuple[Any, Any]:
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise ContractViolation(
            "forward", f"forward() must return a pair (AL, cache); it returned a {_type_name(result)}"
        )
    return result[0], result[1]


def _forward(functions: StudentFunctions, call: ForwardCall, shared: bool) -> Reply:
    args, mutated = _guarded(
        {"params": call.params, "X": call.X, "activations": list(call.activations)}, shared
    )
    AL, cache = _unpack_forward(_invoke("forward", functions.forward, *args.values()))
    return Reply(
        AL=_to_array("forward", "AL", AL), mutated=mutated(), cache_dtypes=cache_dtypes(cache)
    )


def _case_arguments(call: GradientCall | RegularisedCall) -> dict[str, Any]:
    """A call's case as the student's functions take it."""
    return {
        "params": call.params,
        "X": call.X,
        "Y": call.Y,
        "activations": list(call.activations),
        "loss": call.loss,
    }


def _gradients(functions: StudentFunctions, call: GradientCall, shared: bool) -> Reply:
    args, mutated = _guarded(_case_arguments(call), shared)
    AL, cache = _unpack_forward(
        _invoke("forward", functions.forward, args["params"], args["X"], args["activations"])
    )
    AL = _to_array("forward", "AL", AL)
    dtypes = cache_dtypes(cache)
    gradients: list[dict[str, Array]] = []
    returned_types: dict[str, str] = {}
    for _ in range(call.backward_calls):
        grads = _invoke(
            "backward",
            functions.backward,
            args["params"],
            cache,
            args["Y"],
            args["activations"],
            args["loss"],
        )
        if type(grads) is not dict and not isinstance(grads, Mapping):
            raise ContractViolation(
                "backward",
                f"backward() must return a dict {{'dW1': ..., 'db1': ...}}; "
                f"it returned a {_type_name(grads)}",
            )
        arrays, types = gradient_arrays(grads)
        if not gradients:  # described for the first call, like Reply.grads
            returned_types = types
        gradients.append(arrays)
    return Reply(
        AL=AL,
        gradients=gradients,
        returned_types=returned_types,
        mutated=mutated(),
        cache_dtypes=dtypes,
    )


def _regularised(functions: StudentFunctions, call: RegularisedCall, shared: bool) -> Reply:
    args, mutated = _guarded({**_case_arguments(call), "reg": call.reg}, shared)
    result = _invoke("regularised", functions.regularised, *args.values())
    if not (isinstance(result, (tuple, list)) and len(result) == 2 and isinstance(result[1], Mapping)):
        raise ContractViolation(
            "regularised",
            f"the regularised loss must come with its gradients, (loss, grads); got a {_type_name(result)}",
        )
    loss = _one_real_number("regularised", result[0])
    arrays, types = gradient_arrays(result[1])
    return Reply(loss=loss, gradients=[arrays], returned_types=types, mutated=mutated())


#: The keys of a gradient dict the contract reads: dW1, db1, dW2, ...
CONTRACT_GRADIENT = re.compile(r"d[Wb][1-9][0-9]*")
#: The keys of a parameter dict the contract reads: W1, b1, W2, ...
CONTRACT_PARAMETER = re.compile(r"[Wb][1-9][0-9]*")


def _numbers_of(
    function: str, values: Mapping[Any, Any], contract: re.Pattern[str]
) -> dict[str, Array]:
    """``values`` as arrays of numbers, keyed by name. Raises ContractViolation
    for a key the contract reads (one ``contract`` matches) whose value is not
    numbers; any other key that is not numbers (a note, an optimiser's state:
    the contract ignores extra keys) is left out."""
    arrays: dict[str, Array] = {}
    for key, value in values.items():
        name = str(key)
        try:
            arrays[name] = _to_array(function, name, value)
        except ContractViolation:
            if contract.fullmatch(name):
                raise
    return arrays


def gradient_arrays(grads: Mapping[Any, Any]) -> tuple[dict[str, Array], dict[str, str]]:
    """A gradient dict as backward returned it, as arrays (see :func:`_numbers_of`),
    and the type of each value kept that was not a numpy array."""
    arrays = _numbers_of("backward", grads, CONTRACT_GRADIENT)
    types = {
        str(key): _type_name(value)
        for key, value in grads.items()
        if str(key) in arrays and not isinstance(value, np.ndarray)
    }
    return arrays, types


def _probes(functions: StudentFunctions, call: ProbeCall, shared: bool) -> Reply:
    outputs = []
    for probe in call.probes:
        if isinstance(probe, DirectionProbe):  # each perturbed tensor is a new array already
            direction, step = probe.direction, probe.step
            params = {
                name: value + step * direction[name] if name in direction else np.array(value, copy=True)
                for name, value in call.params.items()
            }
        else:
            params = {name: np.array(value, copy=True) for name, value in call.params.items()}
            params[probe.parameter].flat[probe.index] += probe.delta
        AL, _ = _unpack_forward(
            _invoke("forward", functions.forward, params, call.X.copy(), list(call.activations))
        )
        outputs.append(_to_array("forward", "AL", AL))
    return Reply(probes=np.stack(outputs) if outputs else np.empty((0,)))


def _loss(functions: StudentFunctions, call: LossCall, shared: bool) -> Reply:
    args, mutated = _guarded({"AL": call.AL, "Y": call.Y, "loss": call.loss}, shared)
    value = _invoke("compute_loss", functions.compute_loss, *args.values())
    return Reply(loss=_one_real_number("compute_loss", value), mutated=mutated())


def _one_real_number(function: str, value: Any) -> float:
    """The loss ``function`` returned, as a float; a contract violation unless it
    is one real number (a float, a 0-d or one-element array, a list of one)."""
    loss = _to_array(function, "the loss", value)
    if loss.size != 1:
        raise ContractViolation(
            function,
            f"{function}() must return one number as the loss; it returned shape {loss.shape}",
        )
    if loss.dtype.kind == "c":
        raise ContractViolation(
            function,
            f"{function}() must return a real number as the loss; it returned {loss.dtype}",
        )
    return float(loss.reshape(()))


def _update(functions: StudentFunctions, call: UpdateCall, shared: bool) -> Reply:
    args, mutated = _guarded(
        {"params": call.params, "grads": call.grads, "learning_rate": call.learning_rate}, shared
    )
    new = _invoke("update", functions.update, *args.values())
    if not isinstance(new, Mapping):
        raise ContractViolation(
            "update", f"update() must return a dict of parameters; it returned a {_type_name(new)}"
        )
    return Reply(params=_numbers_of("update", new, CONTRACT_PARAMETER), mutated=mutated())


#: The student function a request is charged to (in a worker, by class name).
FUNCTION_OF_CALL: dict[type, str] = {
    ForwardCall: "forward",
    GradientCall: "backward",
    ProbeCall: "forward",
    LossCall: "compute_loss",
    UpdateCall: "update",
    RegularisedCall: "regularised",
}

_HANDLERS: dict[type, Callable[[StudentFunctions, Any, bool], Reply]] = {
    ForwardCall: _forward,
    GradientCall: _gradients,
    ProbeCall: _probes,
    LossCall: _loss,
    UpdateCall: _update,
    RegularisedCall: _regularised,
}

