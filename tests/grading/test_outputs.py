"""The class summary, the CSV for gradebooks, Gradescope's results.json and the progress
shown while grading, from given outcomes."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path
from typing import Any

from bpcheck import CheckResult, RunReport
from bpcheck.grading._config import GradingConfig
from bpcheck.grading._grade import Graded
from bpcheck.grading._students import IN_PROCESS
from bpcheck.grading._submissions import Submission
from bpcheck.grading._outputs import (
    explain_status,
    gradescope_results,
    main_diagnosis,
    mistake_counts,
    summary_csv,
    summary_text,
    write_class_summary,
)
from bpcheck.grading._progress import BAR_WIDTH, Progress

CHECKS = [
    CheckResult("api", None, "imports", "passed", 5.0, 5.0),
    CheckResult(
        "gradient_values", "relu-mse", "gradients match", "failed", 0.0, 10.0, message="dW1 is off"
    ),
    CheckResult("update", None, "update works", "skipped", 0.0, 0.0, message="no update()"),
]


def graded(
    name: str, status: str = "graded", mistakes: tuple[str | None, ...] = (), report: bool = True
) -> Graded:
    diagnoses: list[dict[str, Any]] = [{"mistake": mistake} for mistake in mistakes]
    run = RunReport(name, 0, "grade", "0.1.0", CHECKS, diagnoses) if report else None
    return Graded(
        Submission(name, Path(f"/submissions/{name}.py")), status, run, "test", 1.25, True
    )


CLASS = [
    graded("alice"),
    graded("bob", mistakes=("missing_activation_derivative", "bias_not_summed")),
    graded("carol", mistakes=("missing_activation_derivative", "missing_activation_derivative")),
    graded("dave", "timeout"),
    graded("eve", "grader_error", report=False),
]


def test_the_csv_has_one_row_per_student_with_score_max_status_and_the_first_diagnosis() -> None:
    rows = list(csv.reader(io.StringIO(summary_csv(CLASS))))
    assert rows[0] == ["student", "score", "max", "status", "main diagnosis"]
    assert rows[1:] == [
        ["alice", "5.0", "15.0", "graded", ""],
        ["bob", "5.0", "15.0", "graded", "missing_activation_derivative"],
        ["carol", "5.0", "15.0", "graded", "missing_activation_derivative"],
        ["dave", "5.0", "15.0", "timeout", ""],
        ["eve", "", "", "grader_error", ""],
    ]


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_quoted() -> None:
    rows = list(csv.reader(io.StringIO(summary_csv([graded("=HYPERLINK(1)")]))))
    assert rows[1][0] == "'=HYPERLINK(1)"


def test_the_mistakes_table_counts_students_not_diagnoses() -> None:
    assert mistake_counts(CLASS) == [("missing_activation_derivative", 2), ("bias_not_summed", 1)]


def test_a_diagnosis_naming_no_known_mistake_is_neither_main_nor_counted() -> None:
    unknown = graded("frank", mistakes=(None,))
    assert main_diagnosis(unknown.report) == ""
    assert mistake_counts([unknown]) == []


def test_summary_markdown_holds_the_class_table_the_statuses_and_the_mistakes(
    tmp_path: Path,
) -> None:
    markdown, table = write_class_summary(tmp_path, CLASS)
    text = markdown.read_text()
    assert text == (tmp_path / "summary.md").read_text()
    assert table == tmp_path / "summary.csv"
    for expected in (
        "| alice",
        "| eve",
        "| timeout",
        "| missing_activation_derivative |          2 |",
    ):
        assert expected in text
    assert "Student code ran in: test.\n" in text
    in_process = [dataclasses.replace(g, isolation=IN_PROCESS) for g in CLASS]
    assert "worker's word" not in write_class_summary(tmp_path, in_process)[0].read_text()
    assert "No known mistake was diagnosed." in summary_text([graded("alice")], "simple")


def test_a_status_explains_itself_and_any_worker_termination_says_what_was_kept() -> None:
    assert explain_status("graded") == "every check ran"
    for termination in ("timeout", "memory_limit", "crashed", "output_limit", "file_limit"):
        assert explain_status(termination).endswith(
            "checks that finished before are scored, the rest count as errors"
        )
    assert "file_limit" in explain_status("file_limit")


def test_gradescope_results_have_gradescopes_shape() -> None:
    config = GradingConfig(
        visibility=(("gradient_values", "after_due_date"),), result_visibility="hidden"
    )
    results = json.loads(json.dumps(gradescope_results(CLASS[1], config)))
    assert set(results) == {"score", "execution_time", "output", "visibility", "tests"}
    assert (results["score"], results["execution_time"], results["visibility"]) == (
        5.0,
        1.2,
        "hidden",
    )
    assert "Score 5 / 15" in results["output"]
    assert [set(test) for test in results["tests"]] == [
        {"name", "score", "max_score", "status", "output", "visibility"}
    ] * 3
    api, gradients, update = results["tests"]
    assert (api["name"], api["status"], api["score"], api["visibility"]) == (
        "api",
        "passed",
        5.0,
        "visible",
    )
    assert (gradients["name"], gradients["status"]) == ("gradient_values[relu-mse]", "failed")
    assert gradients["visibility"] == "after_due_date"
    assert "dW1 is off" in gradients["output"]
    assert (update["status"], update["max_score"]) == ("passed", 0.0)
    assert sum(test["score"] for test in results["tests"]) == results["score"]


def test_gradescope_results_of_a_submission_the_grader_failed_on_score_zero_and_say_so() -> None:
    results = gradescope_results(CLASS[4], GradingConfig())
    assert (results["score"], results["tests"]) == (0.0, [])
    assert "Not graded (grader_error" in results["output"]
    assert "not the student's mistake" in results["output"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_redraws_one_bar_on_a_terminal_and_logs_one_line_per_submission_elsewhere() -> (
    None
):
    terminal, log = Terminal(), io.StringIO()
    for stream in (terminal, log):
        progress = Progress({"alice": 3, "dave": 3}, stream)
        progress.advance(CLASS[0])
        progress.advance(dataclasses.replace(CLASS[3], fresh=False))
    assert log.getvalue().splitlines() == [
        "[1/2] alice: graded, 5/15",
        "[2/2] dave: timeout, 5/15 (up to date, not regraded)",
    ]
    drawn = terminal.getvalue()
    assert drawn.count("\r\x1b[K") == 2 and drawn.endswith("\n") and drawn.count("\n") == 1
    assert "[" + "#" * BAR_WIDTH + "] 6/6 checks, 2/2 submissions  dave: timeout" in drawn


def test_the_bar_moves_with_each_check_result_and_counts_a_retried_check_once() -> None:
    terminal = Terminal()
    progress = Progress({"alice": 4, "bob": 4}, terminal)
    for check in ("api", "forward", "api"):  # the cluster ran alice's unit of work again
        progress.tick("alice", check)
    assert progress.checks == 2
    assert terminal.getvalue().count("\r\x1b[K") == 3
    assert "] 2/8 checks, 0/2 submissions  alice: api" in terminal.getvalue()
    progress.advance(CLASS[0])
    progress.tick("alice", "update")  # late news of a finished submission changes nothing
    assert progress.checks == 4
    assert Progress({"alice": 4, "bob": 4}, io.StringIO()).interactive is False


def test_the_summary_says_once_where_student_code_ran(tmp_path: Path) -> None:
    started = [dataclasses.replace(g, isolation="bwrap") for g in CLASS[:3]]
    not_started = dataclasses.replace(CLASS[3], isolation="not started")
    markdown, _ = write_class_summary(tmp_path, [*started, not_started])
    assert markdown.read_text().count("bwrap") == 1
    assert "Student code ran in: bwrap." in markdown.read_text()
    assert "Three facts stay the worker's word" in markdown.read_text()
    machines = [*started, dataclasses.replace(CLASS[3], isolation="plain")]
    text = write_class_summary(tmp_path, machines)[0].read_text()
    assert "- bwrap (3 submissions)" in text and "- plain (1 submission)" in text
