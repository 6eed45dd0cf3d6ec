"""Every check fails on the bug it targets and passes on correct code in many styles."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REFERENCE_SOURCE, run_checks
from tests.implementations import BUGGY, CORRECT, HERE, load

CORRECT_PATHS = [HERE / f"{name}.py" for name in CORRECT] + [REFERENCE_SOURCE]


@pytest.mark.parametrize("path", CORRECT_PATHS, ids=lambda path: path.stem)
def test_a_correct_implementation_passes_every_check_with_a_full_score(path: Path) -> None:
    results = run_checks(path)
    failures = [f"{result.name}: {result.message}" for result in results if result.status not in ("passed", "skipped")]
    assert failures == []
    assert sum(r.points for r in results) == pytest.approx(sum(r.max_points for r in results))


@pytest.mark.parametrize("name", BUGGY)
def test_a_buggy_implementation_fails_the_check_it_targets(name: str) -> None:
    target = load(name).TARGET_CHECK
    results = run_checks(HERE / f"{name}.py", check_ids=[target])
    assert results, f"no planned check has id {target!r}"
    failing = [result for result in results if result.status in ("failed", "error")]
    assert failing, f"{name} passed every family of {target}"
    for result in failing:
        assert result.message
        assert result.origin == "student"
        if result.id != "api":
            assert result.counterexample is not None and result.reproduce.startswith("pytest --student=")
