"""A mismatch that is not a known mistake is said to be one, at the first layer that differs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bpcheck import Case, InProcessStudent, get_plugin_manager
from bpcheck._contract import Architecture
from bpcheck.diagnosis import BUILTIN_MISTAKES, diagnose

UNKNOWN = """
from bpcheck_reference import forward, backward as _backward

def backward(params, cache, Y, activations, loss):
    grads = _backward(params, cache, Y, activations, loss)
    grads["dW2"] = grads["dW2"] + 0.1  # no mistake of the catalogue
    return grads
"""

CONSTANT_FACTOR = """
from bpcheck_reference import ACTIVATIONS, forward

def backward(params, cache, Y, activations, loss):
    L, M = len(activations), Y.shape[1]
    AL = cache[f"A{L}"]
    if loss == "mse":
        delta = 2 * (AL - Y) / M * ACTIVATIONS[activations[-1]][1](cache[f"Z{L}"])
    else:
        delta = (AL - Y) / M
    grads = {}
    for l in range(L, 0, -1):
        grads[f"dW{l}"] = delta @ cache[f"A{l - 1}"].T
        grads[f"db{l}"] = delta.sum(axis=1, keepdims=True)
        if l > 1:
            delta = (params[f"W{l}"].T @ delta) * 0.37  # a constant where f′(z) belongs
    return grads
"""


def three_layers() -> Case:
    rng = np.random.default_rng(7)
    widths = (2, 3, 3, 2)
    params = {
        f"{kind}{layer}": rng.normal(size=(widths[layer], widths[layer - 1] if kind == "W" else 1))
        for layer in (1, 2, 3)
        for kind in "Wb"
    }
    architecture = Architecture(widths, ("tanh", "sigmoid", "linear"), "mse")
    return Case(architecture, params, rng.normal(size=(2, 4)), rng.normal(size=(2, 4)))


def diagnosed(source: str, tmp_path: Path, case: Case) -> list[dict]:
    path = tmp_path / "student.py"
    path.write_text(source)
    student = InProcessStudent(str(path), get_plugin_manager())
    return diagnose("gradient_values", case, "", student, BUILTIN_MISTAKES)  # type: ignore[return-value]


def test_an_unknown_mismatch_names_no_mistake_but_the_first_layer_that_differs(
    tmp_path: Path,
) -> None:
    (record,) = diagnosed(UNKNOWN, tmp_path, three_layers())
    assert record["mistake"] is None and record["confidence"] is None
    assert record["layers"] == [2] and record["activation"] == "sigmoid"
    assert record["summary"] == (
        "Layer 2 (sigmoid): the gradients are wrong in a way that is not one of the known mistakes."
    )
    assert "first differ from the reference at dW2" in record["evidence"]


def test_a_factor_that_is_the_same_at_every_z_is_not_read_as_a_derivative(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    params = {
        "W1": rng.normal(size=(3, 2)),
        "b1": rng.normal(size=(3, 1)),
        "W2": rng.normal(size=(1, 3)),
        "b2": rng.normal(size=(1, 1)),
    }
    case = Case(
        Architecture((2, 3, 1), ("tanh", "tanh"), "mse"),
        params,
        rng.normal(size=(2, 3)),
        rng.normal(size=(1, 3)),
    )
    records = diagnosed(CONSTANT_FACTOR, tmp_path, case)
    assert [record["mistake"] for record in records] == [None]
