"""Plain-text rendering of a failing check, for the terminal and pytest."""

from __future__ import annotations

import json

from tabulate import tabulate

from bpcheck._results import CheckResult, DiagnosisRecord, LayerRow


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}"


def layer_rows(rows: list[LayerRow]) -> list[tuple[str, ...]]:
    """The per-parameter table of a failure, one tuple of cells per gradient."""
    return [
        (
            f"{row.layer} ({row.activation})",
            row.parameter,
            "×".join(map(str, row.expected_shape)),
            "×".join(map(str, row.got_shape)) if row.got_shape is not None else "missing",
            _number(row.error_vs_reference),
            _number(row.error_vs_finite_differences),
            _number(row.scale_vs_reference),
        )
        for row in rows
    ]


LAYER_HEADERS = (
    "layer",
    "gradient",
    "expected shape",
    "your shape",
    "rel. error vs reference",
    "rel. error vs finite differences",
    "scale (yours / reference)",
)


def layer_table(rows: list[LayerRow], tablefmt: str) -> str:
    return tabulate(layer_rows(rows), headers=LAYER_HEADERS, tablefmt=tablefmt)


def diagnosis_lines(diagnosis: DiagnosisRecord) -> list[str]:
    """One diagnosis in plain words: the mistake, why bpcheck thinks so, the fix, the lesson."""
    named = (
        f" [{diagnosis['mistake']}, {diagnosis['confidence']} confidence]" if diagnosis["mistake"] else ""
    )
    return [
        diagnosis["summary"] + named,
        f"Evidence: {diagnosis['evidence']}",
        f"Fix: {diagnosis['hint']}",
        f"Lesson: {diagnosis['lesson']}",
    ]


def failure_text(result: CheckResult) -> str:
    """What a student reads when a check fails: the diagnosis, the minimal
    counterexample, the check's message, the per-layer table, their own
    traceback, and one command that reproduces it."""
    parts = [f"{result.name}: {result.claim}"]
    for diagnosis in result.diagnoses:
        lines = diagnosis_lines(diagnosis)
        parts += ["", f"Diagnosis: {lines[0]}"] + [f"  {line}" for line in lines[1:]]
    if result.counterexample:
        parts += ["", f"Minimal counterexample: {result.counterexample['summary']}"]
        if result.counterexample.get("arrays"):
            parts += [
                f"  {name} = {json.dumps(value)}"
                for name, value in result.counterexample["arrays"].items()
            ]
    parts += ["", result.message]
    if result.layers:
        parts += ["", layer_table(result.layers, "simple")]
    if result.traceback:
        parts += ["", "Your code raised:", result.traceback.rstrip()]
    if result.notes:
        parts += [""] + [f"Note: {note}" for note in result.notes]
    if result.reproduce:
        parts += ["", f"Reproduce with: {result.reproduce}"]
    return "\n".join(parts)
