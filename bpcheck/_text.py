"""Plain-text rendering for the terminal (pytest and ``bpcheck check``): a failing
check in full, a pointer to it for the failures that repeat its diagnosis, and
the last screen (the diagnoses, then a compact table of the checks)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from tabulate import tabulate

from bpcheck._results import CheckResult, DiagnosisRecord, LayerRow, RunReport, diagnosis_key

FAILING = ("failed", "error")


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


def failure_headline(result: CheckResult) -> str:
    """A failure in one line: its first diagnosis's summary, else its message's first line."""
    return result.diagnoses[0]["summary"] if result.diagnoses else _first_line(result.message)


def repeated_failure_text(result: CheckResult, first: str) -> str:
    """The one line shown for a failure whose diagnosis ``first`` already showed in full."""
    return f"Same diagnosis as {first} above: {failure_headline(result)}"


def first_per_diagnosis(results: Sequence[CheckResult]) -> list[CheckResult]:
    """The first failure of each distinct diagnosis (:func:`diagnosis_key`), in order."""
    seen: dict[tuple[str, ...], CheckResult] = {}
    for result in results:
        if result.status in FAILING:
            seen.setdefault(diagnosis_key(result), result)
    return list(seen.values())


def diagnosis_overview(report: RunReport) -> list[str]:
    """Each distinct diagnosis in two lines: the mistake and its layers (in its
    summary), its id and how many checks it failed, the fix; then each failing
    check that names no mistake."""
    lines = []
    for number, entry in enumerate(report.diagnoses, 1):
        checks = len(entry.get("checks", []))
        lines += [
            f"{number}. {entry['summary']} [{entry['mistake']}; {checks} failing check{'s' if checks != 1 else ''}]",
            f"   Fix: {entry['hint']}",
        ]
    unnamed = [r for r in first_per_diagnosis(report.checks) if not r.diagnoses or not any(d["mistake"] for d in r.diagnoses)]
    lines += [f"- {result.name}: {_first_line(result.message)}" for result in unnamed]
    return lines


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def check_table(report: RunReport) -> str:
    """One row per check: how many of its families passed (and were not judged),
    its points, and the families that failed, ``relu-*`` for every loss of one
    hidden activation, ``all`` for every family. A check that applies nowhere in
    the run (every result skipped, worth nothing) has no row: it cannot move
    the score, and the report lists it with its reason."""
    rows: dict[str, list[CheckResult]] = {}
    for result in report.checks:
        rows.setdefault(result.id, []).append(result)
    rows = {
        check_id: results
        for check_id, results in rows.items()
        if not all(r.status == "skipped" and r.max_points == 0 for r in results)
    }
    table = []
    for check_id, results in rows.items():
        statuses = [r.status for r in results]
        if len(set(statuses)) == 1 and statuses[0] in ("skipped", "not_judged"):
            outcome = statuses[0].replace("_", " ")
        else:
            outcome = f"{statuses.count('passed')}/{len(results)} passed"
            if "not_judged" in statuses:
                outcome += f", {statuses.count('not_judged')} not judged"
        points = f"{sum(r.points for r in results):.4g}/{sum(r.max_points for r in results):.4g}"
        table.append((check_id, outcome, points, _failing_families(results)))
    return tabulate(table, headers=("check", "result", "points", "failing"))


def _failing_families(results: list[CheckResult]) -> str:
    families = [r.family for r in results if r.family is not None]
    failing = [r.family for r in results if r.family is not None and r.status in FAILING]
    if not failing or len(failing) == len(families) == 1:
        return ""
    if len(failing) == len(families):
        return "all"
    shown: list[str] = []
    for family in failing:
        hidden = family.split("-")[0]
        same = [f for f in families if f.split("-")[0] == hidden]
        if all(f in failing for f in same) and len(same) > 1:
            if f"{hidden}-*" not in shown:
                shown.append(f"{hidden}-*")
        else:
            shown.append(family)
    return ", ".join(shown)


def last_screen(report: RunReport, written: Sequence[Path]) -> list[str]:
    """What a run ends with: the score, each distinct diagnosis, the table of
    checks, and where the report went (and, for a partial run, that it is one)."""
    mistakes = len(report.diagnoses)
    lines = [
        f"{report.student}: score {report.score:g}/{report.max_score:g} ({report.status})"
        + (f", {mistakes} mistake{'s' if mistakes != 1 else ''} diagnosed" if mistakes else "")
    ]
    overview = diagnosis_overview(report)
    if overview:
        lines += ["", *overview]
    failures = sum(result.status in FAILING for result in report.checks)
    if failures > len(first_per_diagnosis(report.checks)):
        lines.append(
            f"({failures} failing checks, each diagnosis shown in full once above: "
            "the report has every one, as does -v)"
        )
    lines += ["", check_table(report), ""]
    if report.partial:
        lines.append(
            f"partial run: only {len(report.checks)} of the planned checks ran (-k, -x); "
            f"the score covers those, and the full report ({report.student}.md) was left as it is"
        )
    lines.append("reports: " + ", ".join(map(str, written)))
    return lines
