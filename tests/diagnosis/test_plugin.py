"""A course adds its own mistake, with its own recogniser, through the bpcheck_mistakes hook."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bpcheck import (
    Evidence,
    Finding,
    InProcessStudent,
    Mistake,
    PluginError,
    RunOptions,
    get_plugin_manager,
    hookimpl,
    run_student,
)
from bpcheck.diagnosis import BUILTIN_MISTAKES, collect_mistakes
from tests.conftest import REFERENCE_SOURCE

WEIGHT_DECAY_STUDENT = """
import numpy as np
from bpcheck_reference import forward, backward as _backward

def backward(params, cache, Y, activations, loss):
    grads = _backward(params, cache, Y, activations, loss)
    grads["dW1"] = grads["dW1"] + 0.01 * params["W1"]  # weight decay folded into the gradient
    return grads
"""


def l2_in_gradient(evidence: Evidence) -> Finding | None:
    """dW1 = reference + λ W1 for some λ > 0 (the example of docs/mistakes.md)."""
    grads = evidence.gradients
    if not grads or evidence.case is None or "dW1" not in grads:
        return None
    W, extra = evidence.case.params["W1"], grads["dW1"] - evidence.expected["dW1"]
    decay = float(np.vdot(extra, W) / np.vdot(W, W))
    if decay > 0 and np.allclose(extra, decay * W, rtol=1e-6, atol=1e-12):
        return Finding(f"dW1 is the reference's plus {decay:.3g} × W1.", layers=(1,))
    return None


class Course:
    @hookimpl
    def bpcheck_mistakes(self) -> list[Mistake]:
        return [
            Mistake(
                "l2_in_gradient",
                "your dW includes weight decay",
                "…",
                "…",
                "Week 3",
                l2_in_gradient,
            )
        ]


def diagnosed(path: Path, plugins: list[object]) -> set[str]:
    manager = get_plugin_manager(plugins)
    options = RunOptions(
        profile="grade", seed=0, max_examples=5, hidden_activations=("tanh",), losses=("mse",)
    )
    report = run_student(InProcessStudent(str(path), manager), options, manager)
    return {str(entry["mistake"]) for entry in report.diagnoses}


def test_a_course_mistake_is_named_by_its_own_recogniser(tmp_path: Path) -> None:
    student = tmp_path / "decay.py"
    student.write_text(WEIGHT_DECAY_STUDENT)
    assert diagnosed(student, [Course()]) == {"l2_in_gradient"}
    assert diagnosed(student, []) == set()  # the built-ins alone do not claim to know it


def test_a_course_mistake_is_not_named_for_correct_code() -> None:
    assert diagnosed(REFERENCE_SOURCE, [Course()]) == set()


def test_the_catalogue_is_the_built_ins_plus_every_plugins_mistakes() -> None:
    ids = [mistake.id for mistake in collect_mistakes(get_plugin_manager([Course()]))]
    assert set(ids) == {mistake.id for mistake in BUILTIN_MISTAKES} | {"l2_in_gradient"}


def test_a_mistake_id_declared_twice_is_refused_naming_both_plugins() -> None:
    class Clash:
        @hookimpl
        def bpcheck_mistakes(self) -> list[Mistake]:
            return [Mistake("output_delta_sign", "again", "", "", "", l2_in_gradient)]

    with pytest.raises(
        PluginError, match="output_delta_sign.*already declared by bpcheck.diagnosis"
    ):
        collect_mistakes(get_plugin_manager([Clash()]))


def test_the_documented_catalogue_says_what_every_built_in_mistake_says() -> None:
    document = (Path(__file__).resolve().parents[2] / "docs" / "mistakes.md").read_text()
    for mistake in BUILTIN_MISTAKES:
        assert f"### `{mistake.id}`: {mistake.title}\n\n{mistake.explanation}\n" in document
        assert f"- **Fix:** {mistake.fix}\n- **Lesson:** {mistake.lesson}" in document


def test_a_recogniser_that_raises_costs_the_diagnosis_not_the_check_result(tmp_path: Path) -> None:
    def broken(evidence: Evidence) -> Finding | None:
        raise RuntimeError("recogniser bug")

    class Broken:
        @hookimpl
        def bpcheck_mistakes(self) -> list[Mistake]:
            return [Mistake("broken", "", "", "", "", broken)]

    student = tmp_path / "decay.py"
    student.write_text(WEIGHT_DECAY_STUDENT)
    manager = get_plugin_manager([Broken()])
    options = RunOptions(
        profile="grade", seed=0, max_examples=5, hidden_activations=("tanh",), losses=("mse",)
    )
    report = run_student(InProcessStudent(str(student), manager), options, manager)
    failed = [result for result in report.checks if result.id == "gradient_values"]
    assert failed and all(result.status == "failed" and result.diagnoses == [] for result in failed)
    assert any(
        "could not diagnose this failure (RuntimeError: recogniser bug)" in note
        for note in failed[0].notes
    )
