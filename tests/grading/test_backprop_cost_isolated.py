"""``backprop_cost`` times the isolated worker from the grader, with the wire in between."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpcheck import RunOptions
from bpcheck._running import collect_checks, plan, run_planned
from bpcheck._manager import get_plugin_manager
from bpcheck.grading.isolation import WorkerStudent
from tests.conftest import REFERENCE_SOURCE
from tests.grading.test_isolation import LIMITS

NUMERICAL = Path(__file__).parents[1] / "diagnosis" / "implementations" / "buggy_numerical_differentiation_modules.py"


@pytest.mark.parametrize(("path", "status"), [(REFERENCE_SOURCE, "passed"), (NUMERICAL, "failed")], ids=["backprop", "numerical"])
def test_backprop_cost_tells_backprop_from_numerical_differentiation_in_the_worker(
    tmp_path: Path, path: Path, status: str
) -> None:
    submission = tmp_path / "submission.py"
    submission.write_text(path.read_text())
    options = RunOptions(profile="grade", seed=0, max_examples=5)
    [planned] = [p for p in plan(collect_checks(get_plugin_manager()), options) if p.check.id == "backprop_cost"]
    with WorkerStudent(submission, LIMITS) as student:
        result = run_planned(planned, student, options)
    assert result.status == status, result.message


def test_a_numerical_differentiator_is_timed_in_the_worker_when_diagnosed(tmp_path: Path) -> None:
    """numerical_stability's diagnosis times backward through the wire as backprop_cost does."""
    submission = tmp_path / "submission.py"
    submission.write_text(NUMERICAL.read_text())
    options = RunOptions(profile="grade", seed=0, max_examples=5, losses=("bce",))
    checks = plan(collect_checks(get_plugin_manager()), options)
    first = next(p for p in checks if p.check.id == "numerical_stability")
    with WorkerStudent(submission, LIMITS) as student:
        result = run_planned(first, student, options)
    assert result.status == "failed", result.message
    assert [d["mistake"] for d in result.diagnoses] == ["numerical_differentiation"]
