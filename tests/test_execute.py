"""The student-call interface: copies, mutation records, contract violations, tracebacks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import bpcheck_reference as reference
from bpcheck._sandbox.calls import (
    DirectionProbe,
    ForwardCall,
    GradientCall,
    LossCall,
    Probe,
    ProbeCall,
    UpdateCall,
)
from bpcheck._sandbox.dtypes import cache_dtypes
from bpcheck._sandbox.execute import StudentFunctions, execute

PARAMS = {"W1": np.array([[0.5, -1.0]]), "b1": np.array([[0.1]])}
X = np.array([[1.0, 2.0], [3.0, -1.0]])
Y = np.array([[0.0, 1.0]])


def gradient_call(functions: StudentFunctions, calls: int = 1) -> Any:
    return execute(functions, GradientCall(PARAMS, X, Y, ("linear",), "mse", calls))


def test_the_reference_answers_every_kind_of_call() -> None:
    functions = StudentFunctions(reference.forward, reference.backward, reference.compute_loss, reference.update)
    reply = gradient_call(functions, calls=2)
    assert reply.error is None and reply.mutated == ()
    assert set(reply.grads) == {"dW1", "db1"} and len(reply.gradients) == 2
    assert execute(functions, ForwardCall(PARAMS, X, ("linear",))).AL.shape == (1, 2)
    direction = DirectionProbe({"b1": np.ones_like(PARAMS["b1"])}, -0.25)
    probes = execute(
        functions, ProbeCall(PARAMS, X, ("linear",), (Probe("W1", 1, 0.5), direction))
    ).probes
    np.testing.assert_allclose(probes[0], (PARAMS["W1"] + [[0, 0.5]]) @ X + PARAMS["b1"])
    np.testing.assert_allclose(probes[1], PARAMS["W1"] @ X + PARAMS["b1"] - 0.25)
    assert execute(functions, LossCall(Y, Y, "mse")).loss == 0.0
    assert execute(functions, UpdateCall(PARAMS, reply.grads, 0.1)).params is not None


def test_the_student_works_on_copies_and_mutations_are_named() -> None:
    def forward(params: Any, X: Any, activations: Any) -> Any:
        params["W1"] *= 2
        X[0, 0] = 99
        return reference.forward(params, X, activations)

    reply = gradient_call(StudentFunctions(forward, reference.backward))
    assert reply.mutated == ("params['W1']", "X")
    assert PARAMS["W1"][0, 0] == 0.5 and X[0, 0] == 1.0


def test_returned_arrays_are_copies_the_student_cannot_change_later() -> None:
    kept: dict[str, Any] = {}

    def backward(*args: Any) -> Any:
        grads = reference.backward(*args)
        kept.update(grads)
        return grads

    reply = gradient_call(StudentFunctions(reference.forward, backward))
    kept["dW1"][...] = 0
    assert np.any(reply.grads["dW1"] != 0)


@pytest.mark.parametrize(
    "forward, backward, summary",
    [
        (lambda p, x, a: reference.forward(p, x, a)[0], reference.backward, "forward() must return a pair (AL, cache); it returned a ndarray of float64"),
        (reference.forward, lambda *a: [1, 2], "backward() must return a dict {'dW1': ..., 'db1': ...}; it returned a list"),
        (reference.forward, lambda *a: {"dW1": "x"}, "dW1 must be a numpy array of numbers; got a str"),
        (reference.forward, lambda *a: {"dW1": np.array([object()])}, "dW1 must be a numpy array of numbers; got a ndarray of object"),
        (None, reference.backward, "the module has no function forward()"),
    ],
)
def test_contract_violations_become_student_errors(forward: Any, backward: Any, summary: str) -> None:
    reply = gradient_call(StudentFunctions(forward, backward))
    assert reply.error is not None
    assert reply.error.summary == summary


def test_lists_are_converted_and_their_type_remembered() -> None:
    def backward(*args: Any) -> Any:
        return {key: value.tolist() for key, value in reference.backward(*args).items()}

    reply = gradient_call(StudentFunctions(reference.forward, backward))
    assert reply.error is None
    assert reply.returned_types == {"dW1": "list", "db1": "list"}
    assert reply.grads["dW1"].shape == (1, 2)


@pytest.mark.parametrize("exception", [ValueError("bad shapes"), SystemExit(3), ZeroDivisionError()])
def test_a_raising_student_gets_their_own_traceback_and_no_harness_frames(exception: BaseException) -> None:
    def student_helper() -> None:
        raise exception

    def backward(*args: Any) -> Any:
        student_helper()

    reply = gradient_call(StudentFunctions(reference.forward, backward))
    assert reply.error is not None and reply.error.function == "backward"
    assert reply.error.summary.startswith(f"backward() raised {type(exception).__name__}")
    assert reply.error.exception == type(exception).__name__
    assert "student_helper" in reply.error.traceback
    assert "bpcheck/_sandbox" not in reply.error.traceback


def test_keyboard_interrupt_still_reaches_the_user() -> None:
    def backward(*args: Any) -> Any:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        gradient_call(StudentFunctions(reference.forward, backward))



def test_returned_types_describe_the_first_call_like_grads() -> None:
    calls = []

    def backward(*args: Any) -> Any:
        calls.append(1)
        grads = reference.backward(*args)
        return grads if len(calls) == 1 else {key: value.tolist() for key, value in grads.items()}

    reply = gradient_call(StudentFunctions(reference.forward, backward), calls=2)
    assert reply.returned_types == {}


def test_the_cache_dtypes_are_those_of_the_floating_arrays_in_any_container() -> None:
    class Layer:
        def __init__(self, Z: np.ndarray) -> None:
            self.Z = Z

    cache = [({"A": np.ones(2, np.float32)}, Layer(np.ones(2, np.float16))), np.arange(3)]
    assert cache_dtypes(cache) == ("float16", "float32")
    assert cache_dtypes({"A0": np.ones(2)}) == ("float64",)
    loop: list[object] = []
    loop.append(loop)
    assert cache_dtypes(loop) == ()


def test_a_forward_in_float32_is_seen_in_the_cache_whatever_AL_is() -> None:
    def forward(params: Any, X: Any, activations: Any) -> Any:
        Z = (params["W1"].astype(np.float32) @ X.astype(np.float32)).astype(np.float64)
        return Z, {"Z": Z.astype(np.float32)}

    functions = StudentFunctions(forward, reference.backward)
    reply = execute(functions, ForwardCall(PARAMS, X, ("linear",)))
    assert reply.AL is not None and reply.AL.dtype == np.float64
    assert reply.cache_dtypes == ("float32",)
