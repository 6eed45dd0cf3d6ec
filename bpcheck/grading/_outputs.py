"""What a grading run writes besides each student's own reports.

For the class: ``summary.md`` (the table the terminal shows, with how many
students made each mistake) and ``summary.csv`` for gradebooks. For
Gradescope: its ``results.json`` for one submission.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tabulate import tabulate

from bpcheck import __version__
from bpcheck._report import markdown_text, write_atomically
from bpcheck._results import CheckResult, RunReport
from bpcheck._text import failure_text
from bpcheck.grading._config import GradingConfig
from bpcheck.grading._grade import Graded
from bpcheck.grading._students import IN_PROCESS
from bpcheck.grading.isolation import NOT_STARTED

SUMMARY_HEADERS = ("student", "score", "max", "status", "main diagnosis")

#: What each submission status means, as a student or grader reads it.
STATUS_TEXT = {
    "graded": "every check ran",
    "import_error": "the module failed to import (see the api check)",
    "api_error": "the module lacks the contract's functions (see the api check)",
    "harness_error": "bpcheck itself failed on a check: not the student's mistake; please report it",
    "grader_error": "the grader failed on this submission: not the student's mistake; "
    "rerun the same command to retry it",
    "worker_error": "the worker failed before any student code ran: not the student's mistake; "
    "rerun the same command to retry it",
}
#: Why a worker was stopped, by its termination.
STOPPED_TEXT = {
    "timeout": "the code ran past its time limit",
    "memory_limit": "the code used more memory than allowed",
    "crashed": "the process running the code died",
    "output_limit": "the code printed more output than allowed",
    "cpu_limit": "the code used more CPU time than allowed",
    "file_size_limit": "the code wrote a file larger than allowed",
    "protocol_error": "the process running the code broke the grader's protocol",
    "disk_limit": "the code filled its writable disk space",
}


def explain_status(status: str) -> str:
    """One sentence on what a submission's status means; any status not listed
    is a worker termination."""
    if status in STATUS_TEXT:
        return STATUS_TEXT[status]
    reason = STOPPED_TEXT.get(status, f"the worker was stopped ({status})")
    return f"{reason}; checks that finished before are scored, the rest count as errors"


def main_diagnosis(report: RunReport | None) -> str:
    """The mistake id of the report's first diagnosis, or ""."""
    return str(report.diagnoses[0].get("mistake") or "") if report and report.diagnoses else ""


def summary_rows(
    outcomes: Sequence[Graded],
) -> list[tuple[str, float | str, float | str, str, str]]:
    """(student, score, max, status, main diagnosis); no score for a grader error."""
    return [
        (
            graded.submission.name,
            graded.report.score if graded.report else "",
            graded.report.max_score if graded.report else "",
            graded.status,
            main_diagnosis(graded.report),
        )
        for graded in outcomes
    ]


def mistake_counts(outcomes: Sequence[Graded]) -> list[tuple[str, int]]:
    """How many students each diagnosed mistake was found in, most common first."""
    counts = Counter(
        mistake
        for graded in outcomes
        if graded.report is not None
        for mistake in {str(entry.get("mistake") or "") for entry in graded.report.diagnoses} - {""}
    )
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def summary_text(outcomes: Sequence[Graded], tablefmt: str) -> str:
    """The class summary: one row per student, statuses, and the mistakes table. In
    Markdown ("github") the students' names are escaped, so that no name can end a
    cell or start a heading."""
    statuses = Counter(graded.status for graded in outcomes)
    rows = summary_rows(outcomes)
    if tablefmt == "github":
        rows = [(markdown_text(name), *rest) for name, *rest in rows]  # type: ignore[misc]
    parts = [
        tabulate(rows, headers=SUMMARY_HEADERS, tablefmt=tablefmt),
        "",
        tabulate(
            [(status, count, explain_status(status)) for status, count in sorted(statuses.items())],
            headers=("status", "students", "meaning"),
            tablefmt=tablefmt,
        ),
        "",
    ]
    mistakes = mistake_counts(outcomes)
    parts.append(
        tabulate(mistakes, headers=("mistake", "students"), tablefmt=tablefmt)
        if mistakes
        else "No known mistake was diagnosed."
    )
    return "\n".join(parts)


def _csv_cell(value: object) -> object:
    """Spreadsheets run a cell starting with = + - @ as a formula; quote such text."""
    return f"'{value}" if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") else value


def summary_csv(outcomes: Sequence[Graded]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SUMMARY_HEADERS)
    writer.writerows([tuple(map(_csv_cell, row)) for row in summary_rows(outcomes)])
    return buffer.getvalue()


def isolation_text(outcomes: Sequence[Graded]) -> str:
    """Where student code ran, said once: the isolation, or, when submissions
    ran under several (a cluster's machines differ), each with its count."""
    counts = Counter(
        graded.isolation for graded in outcomes if graded.isolation not in ("", NOT_STARTED)
    )
    if not counts:
        return "No student code ran."
    if len(counts) == 1:
        return f"Student code ran in: {next(iter(counts))}."
    return "Student code ran in:\n\n" + "\n".join(
        f"- {isolation} ({count} submission{'s' if count != 1 else ''})"
        for isolation, count in sorted(counts.items())
    )


#: What a worker's verdicts rest on, said where any submission ran in one.
WORKER_WORD = (
    "Three facts stay the worker's word: that a container passed in changed (a key of params "
    "added, removed or rebound), that a returned value was a numpy array rather than a list, and "
    "the floating dtypes of forward's cache. A submission that rewrites the worker's copy of the "
    "harness can forge them, gaining only what honest code gets as easily; everything else is the "
    "grader's own observation (docs/grading.md, \"Which verdicts the worker could forge\")."
)


def trust_text(outcomes: Sequence[Graded]) -> str:
    """:data:`WORKER_WORD` when some submission ran in an isolated worker, else nothing."""
    ran = {graded.isolation for graded in outcomes} - {"", NOT_STARTED, IN_PROCESS}
    return WORKER_WORD if ran else ""


def write_class_summary(out: Path, outcomes: Sequence[Graded]) -> list[Path]:
    """``summary.md`` and ``summary.csv`` in ``out``; returns their paths."""
    markdown, table = out / "summary.md", out / "summary.csv"
    header = [
        "# bpcheck grading summary",
        "",
        f"bpcheck {__version__}, {len(outcomes)} submissions.",
        "",
        isolation_text(outcomes),
        "",
        *([trust_text(outcomes), ""] if trust_text(outcomes) else []),
    ]
    write_atomically(markdown, "\n".join(header) + "\n" + summary_text(outcomes, "github") + "\n")
    write_atomically(table, summary_csv(outcomes))
    return [markdown, table]


# ---------------------------------------------------------------- Gradescope


def _gradescope_test(result: CheckResult, config: GradingConfig) -> dict[str, Any]:
    failed = result.status in ("failed", "error")
    return {
        "name": result.name,
        "score": result.points,
        "max_score": result.max_points,
        "status": "failed" if failed else "passed",
        "output": failure_text(result) if failed else f"{result.claim}\n{result.message}".strip(),
        "visibility": config.visibility_of(result.id),
    }


def gradescope_results(graded: Graded, config: GradingConfig) -> dict[str, Any]:
    """Gradescope's ``results.json`` for one submission: one test per check and family."""
    report = graded.report
    score = report.score if report else 0.0
    headline = (
        f"Score {score:g} / {report.max_score:g}" if report else "Not graded"
    ) + f" ({graded.status}: {explain_status(graded.status)})."
    return {
        "score": score,
        "execution_time": round(graded.seconds, 1),
        "output": f"{headline}\nChecked by bpcheck {__version__}, seed {config.options.seed}.",
        "visibility": config.result_visibility,
        "tests": [_gradescope_test(result, config) for result in report.checks] if report else [],
    }


def write_gradescope(path: Path, graded: Graded, config: GradingConfig) -> Path:
    write_atomically(path, json.dumps(gradescope_results(graded, config), indent=2) + "\n")
    return path
