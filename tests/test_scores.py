"""Scores that do not move: the maximum never depends on whether a student wrote an
optional function, and a module that cannot be used gets one message, not N failures."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import REFERENCE_SOURCE, TEST_OPTIONS, run_checks

#: The reference's update, replaced by one that forgets the learning rate.
WRONG_UPDATE = (
    "\n\ndef update(params, grads, learning_rate):\n"
    "    return {name: value - grads['d' + name] for name, value in params.items()}\n"
)
UNWRITTEN_UPDATE = (
    "\n\ndef update(params, grads, learning_rate):\n    raise NotImplementedError('update')\n"
)
ONE_FAMILY = replace(TEST_OPTIONS, hidden_activations=("relu",), losses=("mse",), max_examples=5)
RUBRIC = replace(ONE_FAMILY, points=(("update", 5.0),))


def without_update(tmp_path: Path, tail: str = "") -> Path:
    """The reference with its update removed, and ``tail`` appended."""
    source = REFERENCE_SOURCE.read_text()
    start = source.index("def update(")
    path = tmp_path / "student.py"
    path.write_text(source[:start] + tail)
    return path


@pytest.mark.parametrize("tail", ["", UNWRITTEN_UPDATE], ids=["absent", "not implemented"])
def test_by_default_a_missing_update_is_not_applicable_and_the_maximum_does_not_move(
    tmp_path: Path, tail: str
) -> None:
    (result,) = run_checks(without_update(tmp_path, tail), ["update"], ONE_FAMILY)
    (written,) = run_checks(REFERENCE_SOURCE, ["update"], ONE_FAMILY)
    assert result.status == "skipped" and result.message.startswith("not applicable: ")
    assert (result.points, result.max_points) == (written.points, written.max_points) == (0, 0)
    assert written.status == "passed"


def test_by_default_a_wrong_update_still_fails_with_advice_worth_nothing(tmp_path: Path) -> None:
    (result,) = run_checks(without_update(tmp_path, WRONG_UPDATE), ["update"], ONE_FAMILY)
    assert result.status == "failed" and (result.points, result.max_points) == (0, 0)
    assert "learning_rate=0.1" in result.message


@pytest.mark.parametrize("tail", ["", UNWRITTEN_UPDATE], ids=["absent", "not implemented"])
def test_a_rubric_that_gives_update_points_requires_it(tmp_path: Path, tail: str) -> None:
    (result,) = run_checks(without_update(tmp_path, tail), ["update"], RUBRIC)
    (written,) = run_checks(REFERENCE_SOURCE, ["update"], RUBRIC)
    assert result.status == "failed" and (result.points, result.max_points) == (0, 5)
    assert "the course's rubric gives this check 5 points, so it is required" in result.message
    assert (written.status, written.points, written.max_points) == ("passed", 5, 5)


def test_a_module_that_cannot_be_imported_gets_one_error_and_keeps_its_maximum(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("def forward(:\n")
    results = run_checks(broken, options=ONE_FAMILY)
    correct = run_checks(REFERENCE_SOURCE, options=ONE_FAMILY)
    assert [r.status for r in results if r.status in ("failed", "error")] == ["error"]
    assert results[0].id == "api" and "SyntaxError" in results[0].message
    assert {r.status for r in results[1:]} <= {"not_judged", "skipped"}
    assert all("see the api check" in r.message for r in results[1:] if r.status == "not_judged")
    assert sum(r.max_points for r in results) == sum(r.max_points for r in correct) > 0
