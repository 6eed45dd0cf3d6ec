"""The cases a run draws depend on its seed alone: not on which modules the
process has loaded (Hypothesis's constants from local source, see
bpcheck/_draws.py)."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bpcheck import InProcessStudent, RunOptions, get_plugin_manager
from bpcheck import _family_run, _running
from bpcheck._running import collect_checks, plan, run_plan

CORRECT = Path(__file__).parent / "implementations" / "correct_table.py"
OPTIONS = RunOptions(
    profile="grade", seed=3, max_examples=100, hidden_activations=("relu",), losses=("mse", "cce")
)
#: Literals a student might write; unlike 0, 1 or 2, none is among Hypothesis's own constants.
STUDENT_SOURCE = "SIZES = [784, 31337, 4242, 123456, 98765, 65537, 2**20 + 7]\nRATE = 0.0375\n"

_CHOICES = _family_run._choices


def drawn_choices(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The choices behind every case a run of the correct module drew."""
    recorded: list[object] = []

    def recording() -> object:
        recorded.append(_CHOICES())
        return recorded[-1]

    monkeypatch.setattr(_family_run, "_choices", recording)
    student = InProcessStudent(str(CORRECT), get_plugin_manager())
    results = run_plan(plan(collect_checks(get_plugin_manager()), OPTIONS), student, OPTIONS)
    assert all(result.status in ("passed", "skipped") for result in results)
    return recorded


@contextlib.contextmanager
def a_student_module_loaded(directory: Path) -> Iterator[None]:
    """A module with the literals above imported from ``directory``, as
    ``pytest --student`` imports the student's (a local module to Hypothesis)."""
    path = directory / "student_with_literals.py"
    path.write_text(STUDENT_SOURCE)
    spec = importlib.util.spec_from_file_location("student_with_literals", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield
    finally:
        del sys.modules[spec.name]


@pytest.mark.parametrize("isolated", [True, False], ids=["seed only", "hypothesis as it is"])
def test_loading_a_student_module_changes_no_drawn_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: bool
) -> None:
    """With seed_only_draws, the same seed draws the same cases before and
    after a module with literals is loaded. Without it (the second case, which
    shows the test can fail), Hypothesis draws some of those literals."""
    if not isolated:
        monkeypatch.setattr(_running, "seed_only_draws", contextlib.nullcontext)
    before = drawn_choices(monkeypatch)
    with a_student_module_loaded(tmp_path):
        after = drawn_choices(monkeypatch)
    assert len(before) == len(after) > 100
    assert (before == after) is isolated
