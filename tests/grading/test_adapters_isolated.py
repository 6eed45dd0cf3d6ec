"""Course adapters in ``bpcheck grade``: each course's standard submissions get the
same verdicts in real bwrap workers (and in trusted in-process grading) as
``pytest --student=X --bpcheck-adapter=NAME`` gives them in-process, and the
report says which adapter ``auto`` picked."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from bpcheck import InProcessStudent, RunOptions, RunReport, get_plugin_manager, run_student
from bpcheck._cli import main
from bpcheck._options import CourseSettings, with_adapter
from bpcheck.adapters import AdapterRequest
from bpcheck.grading import _grade
from bpcheck.grading._config import GradingConfig
from bpcheck.grading._grade import grade_all
from bpcheck.grading._submissions import Submission
from bpcheck.grading.isolation import WorkerStudent
from tests.adapters.table import COURSES, Course, courses

BASE = RunOptions(profile="grade", seed=0, max_examples=2)
#: One correct and one buggy submission of each course (CS231n's regularisation
#: mistake too); the notebook is graded as a directory holding it and a helper module.
STANDARD = (
    "dlai_deep", "dlai_deep_buggy_no_mean", "cs231n_fc_net", "cs231n_fc_net_buggy_no_relu_backward",
    "cs231n_two_layer_net_buggy_reg_on_biases", "nielsen_network", "nielsen_network_buggy_no_sigmoid_prime",
)  # fmt: skip
COMPARED = [course for course in courses() if course.table is None and course.path.stem in STANDARD]
NOTEBOOK = COURSES / "dlai_notebook.ipynb"


def in_process(course: Course, path: Path, base: RunOptions = BASE) -> RunReport:
    """What ``pytest --student=PATH --bpcheck-adapter=NAME`` runs."""
    manager = get_plugin_manager()
    settings = course.settings(course.adapter)
    options = with_adapter(dataclasses.replace(base, **_families(course)), str(path), settings, manager)
    return run_student(InProcessStudent(str(path), manager, options.adapter), options, manager)


def _families(course: Course) -> dict[str, Any]:
    if course.families is None:
        return {}
    return {"hidden_activations": course.families[0], "losses": course.families[1]}


def verdicts(report: RunReport) -> tuple[list[tuple[str, str, float, float]], list[str]]:
    checks = [(r.name, r.status, r.points, r.max_points) for r in report.checks]
    return checks, sorted(str(entry["mistake"]) for entry in report.diagnoses)


@pytest.fixture
def no_heatmaps(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reports without their pictures: drawing them costs more than grading here."""
    monkeypatch.setattr("bpcheck._report.heatmaps", lambda results: [])


@pytest.mark.usefixtures("no_heatmaps")
def test_every_course_gets_the_same_verdicts_in_bwrap_workers_as_in_process(tmp_path: Path) -> None:
    week4 = tmp_path / "dlai_week4"
    week4.mkdir()
    shutil.copy(NOTEBOOK, week4 / NOTEBOOK.name)
    (week4 / "testCases.py").write_text("# the course's helper module, imported by cell 3\n")
    submissions = [Submission(course.path.stem, course.path) for course in COMPARED]
    submissions.append(Submission(week4.name, week4))
    expected = [in_process(course, course.path) for course in COMPARED]
    expected.append(in_process(Course(NOTEBOOK, "dlai", None), week4 / NOTEBOOK.name))
    adapters = [course.adapter for course in COMPARED] + ["dlai"]
    correct = [course.mistake is None for course in COMPARED] + [True]
    assert [report.score == report.max_score for report in expected] == correct
    config = GradingConfig(options=BASE)
    graded = grade_all(submissions, config, tmp_path / "worker")
    for outcome, want, adapter in zip(graded, expected, adapters, strict=True):
        assert outcome.status == "graded", (outcome.submission.name, outcome.message)
        assert outcome.report is not None and outcome.isolation.startswith("bwrap")
        assert outcome.report.adapter.startswith(f"{adapter} (auto: the module defines ")
        assert verdicts(outcome.report) == verdicts(want), outcome.submission.name
    # Trusted in-process grading adapts the same way (a buggy course module, and the notebook).
    trusted = grade_all(submissions[-2:], config, tmp_path / "trusted", isolation="in-process")
    assert [outcome.isolation for outcome in trusted] == ["none: in-process (trusted code only)"] * 2
    assert [verdicts(outcome.report) for outcome in trusted if outcome.report] == [
        verdicts(want) for want in expected[-2:]
    ]
    report = json.loads((tmp_path / "worker" / "students" / "dlai_week4.json").read_text())
    api = next(check for check in report["checks"] if check["id"] == "api")
    # The worker runs every cell it can: matplotlib is not in it (cell 2), the helper is (cell 3).
    assert [note.split(":")[0] for note in api["notes"]] == ["cell 2 raised, and the notebook was loaded without it"]
    assert "bwrap" in (tmp_path / "worker" / "students" / "dlai_week4.state").read_text()


@pytest.mark.usefixtures("no_heatmaps")
@pytest.mark.parametrize("stem", ["declarative_mlp", "declarative_no_biases"])
def test_grade_adapter_declarative_takes_the_configurations_table(tmp_path: Path, stem: str) -> None:
    """A table (here one for a network with, and one without, biases) in
    bpcheck.toml grades in bwrap workers as it does in-process."""
    [course] = [c for c in courses() if c.path.stem == stem]
    assert course.table is not None and course.scope is not None and course.families is not None
    lines = [f"activations = {json.dumps(course.families[0][0])}", f"losses = {json.dumps(course.families[1][0])}"]
    lines += ["max_examples = 3", "[adapter]"] + [f"{key} = {json.dumps(value)}" for key, value in course.table.items()]
    lines += ["[scope]"] + [f"{key} = {json.dumps(value)}" for key, value in course.scope.items()]
    (tmp_path / "bpcheck.toml").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    flags = ["--config", str(tmp_path / "bpcheck.toml"), "--out", str(out), "--jobs", "1"]
    assert main(["grade", str(course.path), *flags, "--adapter", "declarative"]) == 0
    report = RunReport.from_json(json.loads((out / "students" / f"{stem}.json").read_text()))
    assert report.adapter.startswith(f"declarative (the table in {tmp_path / 'bpcheck.toml'}")
    assert verdicts(report) == verdicts(in_process(course, course.path))
    assert report.score == report.max_score


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        ("coursera", "adapter (from the command line, --adapter): expected an adapter's name"),
        ("declarative", "a [tool.bpcheck.adapter] table for the declarative adapter"),
    ],
)
def test_a_bad_adapter_is_a_configuration_error_before_any_worker_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, flag: str, expected: str
) -> None:
    monkeypatch.setattr(_grade, "WorkerStudent", None)  # starting one would raise
    monkeypatch.chdir(tmp_path)
    assert main(["grade", str(COURSES / "dlai_deep.py"), "--adapter", flag, "--out", "out"]) == 4
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_broken_notebook_is_the_students_import_error_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "hw.ipynb"
    broken.write_text('{"cells": "many", "nbformat": 4, "nbformat_minor": 5, "metadata": {}}')
    with WorkerStudent(broken) as student:
        assert student.termination is None and student.isolation == "not started"
        assert student.api.import_error is not None
        assert student.api.import_error.summary.startswith(f"{broken} is not a valid Jupyter notebook")


@pytest.mark.parametrize(
    ("course", "words"),
    [
        # deeplearning.ai's code runs relu networks only
        ('activations = ["tanh"]\nlosses = ["mse"]\n', ["the dlai adapter's scope", "this course grades tanh and mse"]),
        # and only networks with biases
        ("[scope]\nbiases = false\n", ["cannot grade this course: the dlai adapter runs only networks with biases, and this course's networks have none"]),
    ],
    ids=["activations", "biases"],
)
def test_code_whose_adapter_runs_none_of_the_courses_networks_is_that_students_api_error(
    tmp_path: Path, course: str, words: list[str]
) -> None:
    """A course auto's choice leaves nothing to run for the student's code: the
    student's api_error, which says why, never a grader_error retried on every run."""
    (tmp_path / "bpcheck.toml").write_text("max_examples = 2\n" + course)
    out = tmp_path / "out"
    flags = ["--config", str(tmp_path / "bpcheck.toml"), "--out", str(out), "--jobs", "1"]
    assert main(["grade", str(COURSES / "dlai_deep.py"), *flags]) == 0
    state = json.loads((out / "students" / "dlai_deep.state").read_text())
    assert state["status"] == "api_error"
    report = RunReport.from_json(json.loads((out / "students" / "dlai_deep.json").read_text()))
    [api] = [result for result in report.checks if result.id == "api"]
    assert api.status == "failed" and all(part in api.message for part in words), api.message
