"""Reports lead with the diagnosis in plain words, carry it in JSON, and show the dW heatmap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bpcheck import (
    CheckResult,
    InProcessStudent,
    RunOptions,
    RunReport,
    get_plugin_manager,
    run_student,
)
from bpcheck._results import DiagnosisRecord, merge_diagnoses
from bpcheck._text import failure_text
from tests.diagnosis.table import OWN

KEYS = {
    "mistake", "summary", "layers", "activation", "evidence", "confidence", "lesson", "hint",
    "alternatives",
}


@pytest.fixture(scope="module")
def report() -> RunReport:
    manager = get_plugin_manager()
    options = RunOptions(
        profile="grade", seed=0, max_examples=8, hidden_activations=("sigmoid",), losses=("mse",)
    )
    student = InProcessStudent(
        str(OWN / "buggy_missing_activation_derivative_recursive.py"), manager
    )
    return run_student(student, options, manager)


def first_failure(report: RunReport, check: str):  # type: ignore[no-untyped-def]
    return next(
        result for result in report.checks if result.id == check and result.status == "failed"
    )


def test_each_diagnosis_has_the_issues_json_shape(report: RunReport) -> None:
    data = json.loads(json.dumps(report.to_json()))
    assert data["diagnoses"] and all(KEYS <= set(entry) for entry in data["diagnoses"])
    for check in data["checks"]:
        assert all(set(entry) == KEYS for entry in check["diagnoses"])
    (entry,) = data["diagnoses"]
    assert entry["mistake"] == "missing_activation_derivative"
    assert (
        entry["layers"] == [1]
        and entry["activation"] == "sigmoid"
        and entry["confidence"] == "high"
    )
    assert "gradient_values[sigmoid-mse]" in entry["checks"]


def test_the_failure_text_leads_with_the_diagnosis_then_the_counterexample(
    report: RunReport,
) -> None:
    text = failure_text(first_failure(report, "gradient_values"))
    diagnosis = text.index("Diagnosis: Layer 1 (sigmoid): your δ misses f′(z).")
    counterexample = text.index("Minimal counterexample:")
    message = text.index("gradients disagree with the reference")
    assert diagnosis < counterexample < message
    assert "your σ′(0.5) = 1" in text and "expected σ(0.5)(1 − σ(0.5)) = 0.235" in text


def test_the_markdown_report_leads_with_the_diagnosis_and_links_a_heatmap_next_to_it(
    report: RunReport, tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    written = get_plugin_manager().hook.bpcheck_write_report(report=report, directory=tmp_path)
    paths = [path for paths in written for path in paths]
    markdown = (tmp_path / f"{report.student}.md").read_text()
    assert markdown.index("## Diagnosis") < markdown.index("| check")
    pictures = [path for path in paths if path.suffix == ".png"]
    assert pictures and all(
        path.parent == tmp_path and path.stat().st_size > 0 for path in pictures
    )
    assert all(f"]({path.name})" in markdown for path in pictures)


def test_a_report_built_with_its_diagnoses_keeps_them(report: RunReport) -> None:
    given = [{"mistake": "output_delta_sign"}]
    assert RunReport("s", 0, "grade", "0", report.checks, given).diagnoses == given


def _named(check: str, mistake: str, activation: str, alternatives: list[str]) -> CheckResult:
    diagnosis: DiagnosisRecord = {
        "mistake": mistake, "summary": "s", "layers": [1], "activation": activation,
        "evidence": "e.", "confidence": "medium", "lesson": "", "hint": "h",
        "alternatives": alternatives,
    }
    return CheckResult(check, "mse", "claim", "failed", 0.0, 1.0, diagnoses=[diagnosis])


F_OF_A, NO_F = "activation_derivative_of_output", "missing_activation_derivative"


def test_a_mistake_is_folded_into_an_alternative_the_run_names_too() -> None:
    merged = merge_diagnoses([
        _named("gradient_values", F_OF_A, "sigmoid", []),
        _named("activation_gating", NO_F, "relu", [F_OF_A]),
    ])
    assert [entry["mistake"] for entry in merged] == [F_OF_A]
    assert merged[0]["checks"] == ["gradient_values[mse]", "activation_gating[mse]"]
    assert "activation_gating[mse], named missing_activation_derivative" in merged[0]["evidence"]


def test_a_mistake_stays_when_its_alternative_is_not_named_or_one_diagnosis_has_none() -> None:
    alone = merge_diagnoses([_named("activation_gating", NO_F, "relu", [F_OF_A])])
    assert [entry["mistake"] for entry in alone] == [NO_F]
    on_sigmoid_too = merge_diagnoses([
        _named("gradient_values", F_OF_A, "sigmoid", []),
        _named("activation_gating", NO_F, "relu", [F_OF_A]),
        _named("finite_differences", NO_F, "sigmoid", []),
    ])
    assert sorted(entry["mistake"] for entry in on_sigmoid_too) == [F_OF_A, NO_F]
