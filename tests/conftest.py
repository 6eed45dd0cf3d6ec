"""Shared fixtures for bpcheck's own tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from bpcheck import CheckResult, InProcessStudent, RunOptions, get_plugin_manager
from bpcheck._running import collect_checks, plan, run_plan

pytest_plugins = ["pytester"]

REFERENCE_SOURCE = Path(__import__("bpcheck_reference").__file__)

#: Options for harness tests: derandomized, a fixed seed, few examples.
TEST_OPTIONS = RunOptions(profile="grade", seed=20261128, max_examples=15)

RunChecks = Callable[..., list[CheckResult]]


def run_checks(
    student: str | Path, check_ids: Iterable[str] | None = None, options: RunOptions = TEST_OPTIONS
) -> list[CheckResult]:
    """Run the planned checks (all, or those with ``check_ids``) in-process against
    ``student``, as one plan (the checks of a family share their cases)."""
    manager = get_plugin_manager()
    wanted = set(check_ids) if check_ids is not None else None
    student_under_test = InProcessStudent(str(student), manager)
    planned = [p for p in plan(collect_checks(manager), options) if wanted is None or p.check.id in wanted]
    return run_plan(planned, student_under_test, options)


@pytest.fixture
def reference_copy(tmp_path: Path) -> Path:
    """The reference implementation, copied to a student-like file."""
    target = tmp_path / "reference_student.py"
    target.write_text(REFERENCE_SOURCE.read_text())
    return target
