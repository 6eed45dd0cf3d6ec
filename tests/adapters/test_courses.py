"""Each course's code, written in its own idiom, graded through its adapter alone.

Correct code gets full marks in both profiles on three seeds; code with a
classic mistake is caught, and the mistake named in the course's words.
"""

from __future__ import annotations

import pytest

from bpcheck import RunOptions
from tests.adapters.table import Course, courses, run

COURSES = courses()
CORRECT = [c for c in COURSES if c.mistake is None]
BUGGY = [c for c in COURSES if c.mistake is not None]


def test_every_adapter_has_correct_and_buggy_code_in_the_table() -> None:
    assert {c.adapter for c in CORRECT} == {"dlai", "cs231n", "nielsen", "declarative", "functional"}
    assert {c.adapter for c in BUGGY} >= {"dlai", "cs231n", "nielsen"}
    assert any(c.path.suffix == ".ipynb" for c in CORRECT)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("profile", ["student", "grade"])
@pytest.mark.parametrize("course", CORRECT, ids=lambda c: c.name)
def test_correct_course_code_gets_full_marks(course: Course, profile: str, seed: int) -> None:
    report = run(course, RunOptions(profile=profile, seed=seed, max_examples=4))
    failing = [(r.name, r.message) for r in report.checks if r.status not in ("passed", "skipped")]
    assert failing == []
    assert report.score == report.max_score >= 80
    assert report.adapter.startswith(course.adapter)


@pytest.mark.parametrize("course", BUGGY, ids=lambda c: c.name)
def test_a_classic_mistake_is_caught_and_named_in_the_course_words(course: Course) -> None:
    report = run(course, RunOptions(profile="grade", seed=0, max_examples=8))
    assert report.status == "failed"
    assert course.mistake in {str(entry["mistake"]) for entry in report.diagnoses}
    failed = next(r for r in report.checks if r.id == course.check)
    assert failed.status == "failed"
    if course.check != "gradient_values":  # a check with no per-layer table
        assert [d["mistake"] for d in failed.diagnoses] == [course.mistake]
        return
    words, prefix = {
        "cs231n": ("grads['W1']", "grads['"),
        "nielsen": ("nabla_w[0]", "nabla_"),
        "dlai": ("dW1", "d"),
        "functional": ("dW1", "d"),
        "declarative": ("dW1", "d"),
    }[course.adapter]
    assert words in failed.message
    assert failed.layers and all(row.parameter.startswith(prefix) for row in failed.layers)


def test_a_cs231n_counterexample_is_shown_in_the_course_layout() -> None:
    [course] = [c for c in BUGGY if c.adapter == "cs231n" and c.check == "gradient_values"]
    report = run(course, RunOptions(profile="grade", seed=0, max_examples=8))
    failed = next(r for r in report.checks if r.id == "gradient_values")
    assert failed.counterexample is not None
    arrays, widths = failed.counterexample["arrays"], failed.counterexample["widths"]
    batch = failed.counterexample["batch_size"]
    assert set(arrays) == {"params['W1']", "params['b1']", "params['W2']", "params['b2']", "X", "Y"}
    assert [len(arrays["X"]), len(arrays["X"][0])] == [batch, widths[0]]  # N × D
    assert [len(arrays["params['W1']"]), len(arrays["params['W1']"][0])] == widths[:2]  # (in, out)
    assert len(arrays["params['b1']"]) == widths[1] and not isinstance(arrays["params['b1']"][0], list)
    assert all(isinstance(label, int) for label in arrays["Y"]) and len(arrays["Y"]) == batch
