"""The derivative probe reads a student's f′ point by point, and only reports a function of z."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bpcheck import Architecture, Case, InProcessStudent, get_plugin_manager
from bpcheck.checks.examples import WORKED_EXAMPLES, WorkedExample
from bpcheck.diagnosis import BUILTIN_MISTAKES, diagnose
from bpcheck.diagnosis._probe import read_derivative
from bpcheck.strategies import repair_kinks
from tests.conftest import REFERENCE_SOURCE
from tests.diagnosis.table import OWN
from tests.implementations import HERE as SHARED
from tests.recording import Recording


def student(path: Path) -> InProcessStudent:
    return InProcessStudent(str(path), get_plugin_manager())


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "linear"])
@pytest.mark.parametrize(
    "loss, output", [("mse", "linear"), ("bce", "sigmoid"), ("cce", "softmax")]
)
def test_the_reference_reads_as_the_lessons_derivative(
    activation: str, loss: str, output: str
) -> None:
    reading = read_derivative(student(REFERENCE_SOURCE), activation, output, loss)
    assert reading is not None and reading.formula is not None
    assert reading.formula.mistake == ""


def test_a_correct_student_who_writes_f_prime_in_terms_of_a_reads_as_correct() -> None:
    reading = read_derivative(student(OWN / "correct_rows.py"), "tanh", "linear", "mse")
    assert reading is not None and reading.formula is not None and reading.formula.mistake == ""


def test_tanh_prime_written_one_minus_z_squared_is_quoted_with_its_values() -> None:
    reading = read_derivative(
        student(SHARED / "buggy_wrong_activation_derivative_1.py"), "tanh", "linear", "mse"
    )
    assert reading is not None and reading.formula is not None
    assert reading.formula.mistake == "wrong_activation_derivative"
    assert reading.quote() == "your tanh′(0.5) = 0.75 = 1 − z²; expected 1 − tanh²(0.5) = 0.7864"


@pytest.mark.parametrize(
    "module, activation, mistake",
    [
        (
            OWN / "buggy_missing_activation_derivative_recursive.py",
            "sigmoid",
            "missing_activation_derivative",
        ),
        (
            OWN / "buggy_activation_derivative_of_output_coursera.py",
            "sigmoid",
            "activation_derivative_of_output",
        ),
        (
            OWN / "buggy_wrong_activation_derivative_recursive.py",
            "relu",
            "wrong_activation_derivative",
        ),
    ],
)
def test_each_derivative_mistake_reads_as_its_formula(
    module: Path, activation: str, mistake: str
) -> None:
    reading = read_derivative(student(module), activation, "linear", "mse")
    assert (
        reading is not None and reading.formula is not None and reading.formula.mistake == mistake
    )


def test_a_formula_bpcheck_does_not_know_is_read_but_not_matched() -> None:
    reading = read_derivative(
        student(OWN / "buggy_wrong_activation_derivative_rows.py"), "sigmoid", "linear", "mse"
    )
    assert reading is not None and reading.formula is None
    assert "a formula bpcheck does not know" in reading.quote()


def test_a_hidden_layer_without_any_gradient_gives_no_reading() -> None:
    assert (
        read_derivative(
            student(OWN / "buggy_gradient_not_propagated_coursera.py"), "tanh", "linear", "mse"
        )
        is None
    )


def test_the_quote_moves_to_a_z_where_the_reading_is_wrong() -> None:
    reading = read_derivative(
        student(OWN / "buggy_missing_activation_derivative_recursive.py"), "relu", "linear", "mse"
    )
    assert reading is not None
    assert reading.quote() == (
        "your ReLU′(−2) = 1, as if there were no f′ at all; expected 1 if −2 > 0 else 0 = 0"
    )


def test_float32_readings_are_judged_at_float32_precision() -> None:
    correct = read_derivative(student(SHARED / "correct_float32.py"), "sigmoid", "linear", "mse")
    assert correct is not None and correct.formula is not None and correct.formula.mistake == ""
    buggy = OWN / "buggy_missing_activation_derivative_float32.py"
    reading = read_derivative(student(buggy), "tanh", "linear", "mse")
    assert reading is not None and reading.formula is not None
    assert reading.formula.mistake == "missing_activation_derivative"


def relu_case() -> Case:
    """2 → 3 relu → 2 linear, mse, with biases, batch of 4, away from the kink."""
    rng = np.random.default_rng(5)
    widths = (2, 3, 2)
    params = {"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=(3, 1)), "W2": rng.normal(size=(2, 3)), "b2": rng.normal(size=(2, 1))}
    return repair_kinks(Case(Architecture(widths, ("relu", "linear"), "mse"), params, rng.normal(size=(2, 4)), rng.normal(size=(2, 4))))


SCALED_DB1 = """
from bpcheck_reference import forward, backward as _backward

def backward(params, cache, Y, activations, loss):
    grads = _backward(params, cache, Y, activations, loss)
    grads["db1"] = 3 * grads["db1"]  # one tensor scaled: the probe's db1 / (W2ᵀ db2) reads 3 f′
    return grads
"""


@pytest.mark.parametrize("example", WORKED_EXAMPLES[:1] + (None,), ids=["worked example 1", "drawn"])
def test_one_scaled_tensor_is_named_alone_not_read_as_a_derivative(tmp_path: Path, example: WorkedExample | None) -> None:
    """db1 three times the reference's makes the probe's quotient read 3 × ReLU′:
    the scaled tensor explains it, and no derivative mistake is named beside it."""
    path = tmp_path / "student.py"
    path.write_text(SCALED_DB1)
    case = example.case if example else relu_case()
    records = diagnose("gradient_values", case, "", student(path), BUILTIN_MISTAKES)
    assert [record["mistake"] for record in records] == ["scaled_gradient_tensor"]


OUTPUT_DERIVATIVE_SENT_DOWN = """
from bpcheck_reference import ACTIVATIONS, forward

def backward(params, cache, Y, activations, loss):
    L, M = len(activations), Y.shape[1]
    AL = cache[f"A{L}"]
    delta = (AL - Y) / M
    sent = (AL - Y) / (AL * (1 - AL)) / M  # ∂L/∂ŷ goes down, not δ = ∂L/∂z
    grads = {}
    for l in range(L, 0, -1):
        grads[f"dW{l}"] = delta @ cache[f"A{l - 1}"].T
        grads[f"db{l}"] = delta.sum(axis=1, keepdims=True)
        if l > 1:
            below = sent if l == L else delta
            delta = (params[f"W{l}"].T @ below) * ACTIVATIONS[activations[l - 2]][1](cache[f"Z{l - 1}"])
    return grads
"""


def test_a_factor_that_depends_on_the_output_layer_is_not_read_as_a_derivative(tmp_path: Path) -> None:
    """∂L/∂ŷ sent down instead of δ multiplies the hidden δ by 1/σ′(z⁽²⁾): the same
    for both targets, so only the doubled output weights show it is no f′."""
    path = tmp_path / "student.py"
    path.write_text(OUTPUT_DERIVATIVE_SENT_DOWN)
    assert read_derivative(student(path), "relu", "sigmoid", "bce") is None


RELU_PRIME_OF_A = """
from bpcheck_reference import ACTIVATIONS, forward

def backward(params, cache, Y, activations, loss):
    L, M = len(activations), Y.shape[1]
    AL = cache[f"A{L}"]
    delta = 2 * (AL - Y) / M * ACTIVATIONS[activations[-1]][1](cache[f"Z{L}"])
    grads = {}
    for l in range(L, 0, -1):
        grads[f"dW{l}"] = delta @ cache[f"A{l - 1}"].T
        grads[f"db{l}"] = delta.sum(axis=1, keepdims=True)
        if l > 1:
            a = cache[f"A{l - 1}"]
            delta = (params[f"W{l}"].T @ delta) * (a >= 0)  # ReLU′(a), ReLU′(0) = 1: always 1
    return grads
"""


def test_relu_prime_of_a_reads_as_no_f_prime_and_the_evidence_says_it_may_be_either(tmp_path: Path) -> None:
    """With ReLU′(0) = 1, ReLU′ of a = ReLU(z) ≥ 0 is 1 everywhere: the numbers of
    no f′ at all. The mistake is named by its numbers, and its evidence names
    the other way to write them."""
    path = tmp_path / "student.py"
    path.write_text(RELU_PRIME_OF_A)
    records = diagnose("gradient_values", relu_case(), "", student(path), BUILTIN_MISTAKES)
    assert [record["mistake"] for record in records] == ["missing_activation_derivative"]
    assert "ReLU′ evaluated at a = ReLU(z)" in records[0]["evidence"]


def test_the_probe_asks_its_readings_in_one_batch() -> None:
    """One round trip to an isolated worker, not one per reading: a diagnosis
    waits on each round trip."""
    recording = Recording(REFERENCE_SOURCE)
    reading = read_derivative(recording, "tanh", "linear", "mse")
    assert reading is not None and reading.formula is not None
    assert [len(batch) for batch in recording.batches] == [3]
