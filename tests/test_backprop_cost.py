"""``backprop_cost`` passes real backprop whatever the load, and fails numerical differentiation.

The margin is the check's whole design (backprop ≈ 3 forward passes, the
bound 30, numerical differentiation ≈ 2 × 24 000), so these tests load the
machine on purpose: a busy-looping process per core runs beside them.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import REFERENCE_SOURCE, TEST_OPTIONS, run_checks
from tests.implementations import HERE as SHARED

OWN = Path(__file__).parent / "diagnosis" / "implementations"
NUMERICAL = OWN / "buggy_numerical_differentiation_modules.py"
TEXTBOOK_DELTA = OWN / "buggy_unstable_output_delta_coursera.py"
BCE = replace(TEST_OPTIONS, losses=("bce",))
#: Correct modules of different shapes of code: vectorised, a per-example loop, module objects.
BACKPROP = [REFERENCE_SOURCE, SHARED / "correct_per_example.py", OWN / "correct_modules.py"]


@pytest.fixture
def loaded_machine() -> Iterator[None]:
    """Two processes spinning on the CPU for the duration of the test."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


@pytest.mark.parametrize("path", BACKPROP, ids=lambda path: path.stem)
def test_backprop_passes_backprop_cost_on_a_loaded_machine(path: Path, loaded_machine: None) -> None:
    [result] = run_checks(path, check_ids=["backprop_cost"])
    assert result.status == "passed", result.message


def test_numerical_differentiation_fails_backprop_cost_and_is_named() -> None:
    [result] = run_checks(NUMERICAL, check_ids=["backprop_cost"])
    assert result.status == "failed"
    assert "forward passes" in result.message
    assert [diagnosis["mistake"] for diagnosis in result.diagnoses] == ["numerical_differentiation"]


def test_a_numerical_differentiator_scores_at_most_80_percent() -> None:
    results = run_checks(NUMERICAL)
    score, maximum = sum(r.points for r in results), sum(r.max_points for r in results)
    assert score / maximum <= 0.8
    assert "backprop_cost" in {r.id for r in results if r.status == "failed"}
    assert all(r.status == "passed" for r in results if r.id in ("gradient_values", "finite_differences"))


def _named(results: list) -> set[str]:
    return {d["mistake"] for result in results for d in result.diagnoses}


def test_a_numerical_differentiator_unstable_at_saturation_is_not_told_its_delta_divides() -> None:
    """Its bce loss, computed from ŷ, is log 0 at saturated outputs, so its differences
    are nan there and numerical_stability fails. The diagnosis times backward as
    backprop_cost does and blames the numerical differentiation, not an output δ
    the code does not have."""
    results = run_checks(NUMERICAL, check_ids=["numerical_stability"], options=BCE)
    assert results and all(result.status == "failed" for result in results)
    assert _named(results) == {"numerical_differentiation"}
    assert all("forward passes" in d["evidence"] for r in results for d in r.diagnoses)


def test_a_textbook_output_delta_is_still_named_once_backward_is_timed(loaded_machine: None) -> None:
    """The same failure from backprop with (ŷ − y)/(ŷ(1 − ŷ)) is timed at backprop's
    cost, on a loaded machine too."""
    results = run_checks(TEXTBOOK_DELTA, check_ids=["numerical_stability"], options=BCE)
    assert results and any(result.status == "failed" for result in results)
    assert _named(results) == {"unstable_output_delta"}
