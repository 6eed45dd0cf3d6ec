"""``bpcheck grade`` and ``bpcheck gradescope`` end to end, and the grading loop's guarantees:
every output written, results resumable after a kill, deterministic, the same in parallel."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import stat
import subprocess
import threading
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import ParamSpec, TypeVar

import pytest

from bpcheck import Check, ConfigError, get_plugin_manager, hookimpl
from bpcheck._cli import main
from bpcheck._options import RawOption
from bpcheck.grading import _grade, _outputs
from bpcheck.grading._config import GradingConfig, load_config
from bpcheck.grading._grade import GradeJob, grade_all, grade_submission, load_graded, write_graded
from bpcheck.grading._pool import local_executor, pool_ticks
from bpcheck.grading._submissions import Submission, check_output_directory, content_hash, find_submissions

IMPLEMENTATIONS = Path(__file__).parents[1] / "implementations"
CORRECT = IMPLEMENTATIONS / "correct_table.py"
BUGGY = IMPLEMENTATIONS / "buggy_missing_activation_derivative_1.py"
#: A small course (two families, few examples) keeps each submission well under a second.
COURSE = 'activations = ["relu"]\nlosses = ["mse", "cce"]\nmax_examples = 3\n'
FAST_CONFIG = load_config(
    None,
    {
        "activations": RawOption("relu", "the tests"),
        "losses": RawOption("mse,cce", "the tests"),
        "max_examples": RawOption(3, "the tests"),
    },
    [],
)


@pytest.fixture
def fast(tmp_path: Path) -> list[str]:
    """The command-line flags that grade with the small course's configuration file."""
    (tmp_path / "bpcheck.toml").write_text(COURSE)
    return ["--config", str(tmp_path / "bpcheck.toml")]


def reports(out: Path) -> dict[str, str]:
    """The text of every student's JSON report in ``out``, by file name (text, as
    a report may hold NaN, which equals nothing once parsed)."""
    return {path.name: path.read_text() for path in sorted((out / "students").glob("*.json"))}


@pytest.fixture
def batch(tmp_path: Path) -> list[Path]:
    """alice (correct), bob (buggy), carol (a syntax error), dave (correct, a directory)."""
    submissions = tmp_path / "submissions"
    (submissions / "dave").mkdir(parents=True)
    shutil.copy(CORRECT, submissions / "alice.py")
    shutil.copy(BUGGY, submissions / "bob.py")
    (submissions / "carol.py").write_text("def forward(params, X, activations)\n    return X\n")
    shutil.copy(CORRECT, submissions / "dave" / "mlp.py")
    return [submissions / name for name in ("alice.py", "bob.py", "carol.py", "dave")]


def test_grading_a_batch_writes_the_class_summary_and_every_students_reports(
    batch: list[Path], tmp_path: Path, fast: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "grades"
    assert (
        main(["grade", *map(str, batch), "--out", str(out), "--format", "gradescope", *fast]) == 0
    )
    captured = capsys.readouterr()
    rows = [line.split(",") for line in (out / "summary.csv").read_text().splitlines()]
    assert rows[0] == ["student", "score", "max", "status", "main diagnosis"]
    by_name = {row[0]: row for row in rows[1:]}
    assert [by_name[name][3] for name in ("alice", "bob", "carol", "dave")] == [
        "graded",
        "graded",
        "import_error",
        "graded",
    ]
    assert by_name["alice"][1] == by_name["alice"][2] == by_name["dave"][1]
    assert 0 < float(by_name["bob"][1]) < float(by_name["bob"][2])
    assert by_name["bob"][4] == "missing_activation_derivative"
    assert float(by_name["carol"][1]) == 0
    for name in ("alice", "bob", "carol", "dave"):
        for suffix in (".md", ".json", ".state"):
            assert (out / "students" / f"{name}{suffix}").is_file()
        assert json.loads((out / "gradescope" / f"{name}.json").read_text())["tests"]
    summary = (out / "summary.md").read_text()
    assert "| bob " in summary and "import_error" in summary
    assert "| missing_activation_derivative |          1 |" in summary
    assert "import_error" in captured.out and "alice" in captured.out
    assert "isolation:" in captured.err
    assert "[4/4]" in captured.err
    files = [path for path in out.rglob("*") if path.is_file()]
    assert len({stat.S_IMODE(path.stat().st_mode) for path in files}) == 1  # one file mode


def test_a_worker_stopped_mid_run_keeps_the_checks_that_finished(tmp_path: Path) -> None:
    """The student's forward kills its own process on its 10th call."""
    crasher = tmp_path / "crasher.py"
    crasher.write_text(
        CORRECT.read_text()
        + "\n\nimport os as _os\n_calls = [0]\n_forward = forward\n\n"
        + "def forward(params, X, activations):\n"
        + "    _calls[0] += 1\n"
        + "    if _calls[0] >= 10:\n"
        + "        _os._exit(1)\n"
        + "    return _forward(params, X, activations)\n"
    )
    (graded,) = grade_all(find_submissions([crasher]), FAST_CONFIG, tmp_path / "grades")
    assert graded.report is not None
    assert graded.status not in ("graded", "grader_error")
    statuses = [result.status for result in graded.report.checks]
    first_error = statuses.index("error")
    assert "passed" in statuses[:first_error] and graded.report.score > 0
    assert set(statuses[first_error:]) == {"error"}
    assert any(
        graded.status in result.message for result in graded.report.checks[first_error + 1 :]
    )


def test_same_seed_same_score(tmp_path: Path) -> None:
    submissions = find_submissions([BUGGY])
    first, second = (grade_all(submissions, FAST_CONFIG, tmp_path / name)[0] for name in ("a", "b"))
    assert first.report is not None and second.report is not None
    assert json.dumps(first.report.to_json()) == json.dumps(second.report.to_json())


def test_jobs_2_gives_the_results_of_jobs_1(
    batch: list[Path], tmp_path: Path, fast: list[str]
) -> None:
    for jobs in ("1", "2"):
        command = ["grade", *map(str, batch), "--out", str(tmp_path / jobs), "--jobs", jobs, *fast]
        assert main(command) == 0
    assert reports(tmp_path / "1") == reports(tmp_path / "2")
    assert (tmp_path / "1" / "summary.csv").read_text() == (
        tmp_path / "2" / "summary.csv"
    ).read_text()


def test_a_grader_killed_mid_run_resumes_and_regrades_only_what_is_missing(
    batch: list[Path], tmp_path: Path, fast: list[str]
) -> None:
    out = tmp_path / "grades"
    command = [
        sys.executable,
        "-m",
        "bpcheck._cli",
        "grade",
        *map(str, batch),
        "--out",
        str(out),
        *fast,
    ]
    grader = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while not list((out / "students").glob("*.state")) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        os.killpg(grader.pid, signal.SIGKILL)
        grader.wait()
    states = {path.name: path.stat().st_mtime_ns for path in (out / "students").glob("*.state")}
    assert 0 < len(states) < len(batch), "the grader must be killed mid-run"

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert rerun.returncode == 0, rerun.stderr
    not_regraded = {
        line.split("] ")[1].split(":")[0]
        for line in rerun.stderr.splitlines()
        if "not regraded" in line
    }
    assert not_regraded == {name.removesuffix(".state") for name in states}
    assert all(
        Path(out / "students" / name).stat().st_mtime_ns == mtime for name, mtime in states.items()
    )

    clean = tmp_path / "clean"
    assert main(["grade", *map(str, batch), "--out", str(clean), *fast]) == 0
    assert reports(out) == reports(clean)
    assert (out / "summary.csv").read_text() == (clean / "summary.csv").read_text()


def fresh_names(submissions: list[Submission], config: GradingConfig, out: Path) -> set[str]:
    """The submissions grade_all regraded (rather than reused) this time."""
    outcomes = grade_all(submissions, config, out, isolation="in-process")
    return {graded.submission.name for graded in outcomes if graded.fresh}


def test_a_rerun_regrades_what_changed_content_configuration_or_version(
    batch: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "grades"
    submissions = find_submissions(batch)
    everyone = {"alice", "bob", "carol", "dave"}
    assert fresh_names(submissions, FAST_CONFIG, out) == everyone
    assert fresh_names(submissions, FAST_CONFIG, out) == set()
    with (batch[1]).open("a") as bob:
        bob.write("\n# one more comment\n")
    (batch[3] / "notes.txt").write_text("a new file in dave's directory")
    assert fresh_names(submissions, FAST_CONFIG, out) == {"bob", "dave"}
    (out / "students" / "carol.state").write_text("{not json")
    assert fresh_names(submissions, FAST_CONFIG, out) == {"carol"}
    reseeded = dataclasses.replace(
        FAST_CONFIG, options=dataclasses.replace(FAST_CONFIG.options, seed=1)
    )
    assert fresh_names(submissions, reseeded, out) == everyone
    monkeypatch.setattr(_grade, "__version__", "99.0")
    assert fresh_names(submissions, reseeded, out) == everyone
    with_plugin = get_plugin_manager([CoursePlugin()])
    monkeypatch.setattr(_grade, "plugin_manager", lambda: with_plugin)
    assert fresh_names(submissions, reseeded, out) == everyone


class CoursePlugin:
    """A course's own check, which makes every stored result stale."""

    @hookimpl
    def bpcheck_checks(self) -> list[Check]:
        return [Check("course_extra", "always holds", 1, lambda context: None, per_family=False)]


P = ParamSpec("P")
T = TypeVar("T")


class FailsFor(Executor):
    """Runs units of work inline, except that the one for ``name`` is lost, as
    when a grader process dies."""

    def __init__(self, name: str) -> None:
        self.name = name

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        job = args[0]
        if isinstance(job, GradeJob) and job.submission.name == self.name:
            future.set_exception(RuntimeError("the grader process died"))
        else:
            future.set_result(fn(*args, **kwargs))
        return future


def test_a_lost_unit_of_work_costs_no_other_submission_its_result_and_is_retried(
    batch: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "grades"
    submissions = find_submissions(batch)
    outcomes = grade_all(
        submissions, FAST_CONFIG, out, executor=FailsFor("bob"), isolation="in-process"
    )
    assert [graded.status for graded in outcomes] == [
        "graded",
        "grader_error",
        "import_error",
        "graded",
    ]
    assert "the grader process died" in outcomes[1].message
    assert not (out / "students" / "bob.state").exists()
    assert fresh_names(submissions, FAST_CONFIG, out) == {"bob"}


def test_the_unit_of_work_reports_a_grader_failure_instead_of_raising(tmp_path: Path) -> None:
    (submission,) = find_submissions([CORRECT])
    job = GradeJob(
        submission, content_hash(CORRECT), "", FAST_CONFIG, tmp_path, isolation="no-such-isolation"
    )
    graded = grade_submission(job)
    assert graded.status == "grader_error" and graded.report is None
    assert not job.state_path.exists()


def test_a_retried_result_leaves_no_earlier_state_to_vouch_for_its_reports(tmp_path: Path) -> None:
    """A worker_error writes its reports but no state; the state an earlier
    grading left must go too, or a later run with the earlier inputs would
    take the new reports for the old result and never regrade."""
    (submission,) = find_submissions([CORRECT])
    job = GradeJob(submission, content_hash(CORRECT), "", FAST_CONFIG, tmp_path, isolation="in-process")
    graded = grade_submission(job)
    write_graded(job, graded)
    assert load_graded(job) is not None
    retried = dataclasses.replace(graded, status="worker_error", files=(("mlp.md", b"retried"),))
    write_graded(job, retried)
    assert not job.state_path.exists() and load_graded(job) is None


def test_gradescope_reads_its_submission_and_writes_results_json(
    tmp_path: Path, fast: list[str]
) -> None:
    submission = tmp_path / "autograder" / "submission"
    submission.mkdir(parents=True)
    shutil.copy(BUGGY, submission / "mlp.py")
    results = tmp_path / "autograder" / "results" / "results.json"
    command = ["gradescope", "--submission", str(submission), "--results", str(results), *fast]
    assert main(command) == 0
    data = json.loads(results.read_text())
    assert set(data) == {"score", "execution_time", "output", "visibility", "tests"}
    assert 0 < data["score"] < sum(test["max_score"] for test in data["tests"])
    assert {test["status"] for test in data["tests"]} == {"passed", "failed"}


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            ["--timeout", "soon"],
            "limits.call_timeout (from the command line, --timeout): expected a number",
        ),
        (["--jobs", "0"], "jobs (from the command line, --jobs): expected a whole number > 0"),
        (["--config", "missing.toml"], "expected a readable TOML file"),
    ],
)
def test_a_bad_flag_is_a_configuration_error_naming_it(
    arguments: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["grade", str(CORRECT), *arguments]) == 4
    error = capsys.readouterr().err
    assert "configuration error (not a problem with the student's code)" in error
    assert expected in error


def test_submissions_must_be_python_files_or_directories_with_distinct_names(
    tmp_path: Path,
) -> None:
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "other").mkdir()
    shutil.copy(CORRECT, tmp_path / "other" / "correct_table.py")
    with pytest.raises(ConfigError, match="a .py file, a .ipynb notebook or a directory"):
        find_submissions([tmp_path / "notes.txt"])
    with pytest.raises(ConfigError, match="already named 'correct_table'"):
        find_submissions([CORRECT, tmp_path / "other" / "correct_table.py"])


def test_a_directorys_content_hash_covers_every_file_but_pycache(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "mlp.py").write_text("x = 1\n")
    before = content_hash(tmp_path)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "mlp.cpython-311.pyc").write_bytes(b"\0")
    assert content_hash(tmp_path) == before
    (tmp_path / "pkg" / "helper.py").write_text("")
    assert content_hash(tmp_path) != before
    with_helper = content_hash(tmp_path)
    (tmp_path / "pkg" / "helper.py").rename(tmp_path / "pkg" / "helpers.py")
    assert content_hash(tmp_path) != with_helper


def test_a_symbolic_link_counts_by_its_target_and_is_never_followed(tmp_path: Path) -> None:
    (tmp_path / "mlp.py").write_text("x = 1\n")
    (tmp_path / "data").symlink_to("/etc")
    before = content_hash(tmp_path)
    (tmp_path / "data").unlink()
    (tmp_path / "data").symlink_to("/usr")
    assert content_hash(tmp_path) != before


def test_the_output_directory_must_not_clash_with_a_submission(
    batch: list[Path], tmp_path: Path
) -> None:
    dave = batch[3]
    ours = tmp_path / "grades" / "students" / "eve"
    ours.mkdir(parents=True)
    for submissions, out in (
        (batch, dave),
        (batch, dave / "grades"),
        ([ours], tmp_path / "grades"),
    ):
        with pytest.raises(ConfigError, match="a directory outside every submission"):
            grade_all(find_submissions(submissions), FAST_CONFIG, out)
    check_output_directory(find_submissions(batch), batch[0].parent)  # beside them is fine


HOSTILE = Path(__file__).parent / "hostile"


def test_names_of_any_bytes_and_special_files_cost_nobody_their_result(tmp_path: Path) -> None:
    """Odd file names, a directory holding a FIFO, a symbolic link and a non-UTF-8 name,
    and an exception text that forges a report: every output is written, the honest
    submission keeps its full score, nothing forged shows up as Markdown."""
    folder = tmp_path / "submissions"
    folder.mkdir()
    odd = [b"caf\xe9 | -x.py", b"-leading dash.py", "ünï cödé.py".encode()]
    for name in odd:
        shutil.copy(CORRECT, os.fsdecode(bytes(folder) + b"/" + name))
    weird = folder / "weird"
    weird.mkdir()
    shutil.copy(CORRECT, weird / "mlp.py")
    os.mkfifo(weird / "pipe")
    (weird / "link").symlink_to("/etc/passwd")
    (weird / os.fsdecode(b"data\xff.txt")).write_text("bytes")
    shutil.copy(HOSTILE / "markdown_injection.py", folder / "injector.py")
    paths = sorted(folder.iterdir(), key=os.fsencode)
    out = tmp_path / "grades"
    outcomes = grade_all(find_submissions(paths), FAST_CONFIG, out)
    by_name = {graded.submission.name: graded for graded in outcomes}
    assert all(graded.status == "graded" for graded in outcomes), [
        (graded.submission.name, graded.status, graded.message) for graded in outcomes
    ]
    full = by_name["weird"].report
    assert full is not None and full.score == full.max_score
    assert "caf\\xe9 | -x" in by_name
    notes = next(result.notes for result in full.checks if result.id == "api")
    assert any("pipe (a named pipe)" in note for note in notes)
    assert any("link (a symbolic link)" in note for note in notes)
    markdown, table = _outputs.write_class_summary(out, outcomes)
    summary = markdown.read_text()
    assert "caf\\\\xe9 \\| \\-x" in summary  # the | escaped, so the row keeps its cells
    (row,) = [line for line in summary.splitlines() if "caf" in line]
    assert row.count("|") - row.count("\\|") == len(_outputs.SUMMARY_HEADERS) + 1
    assert "'-leading dash" in table.read_text()
    outside = _outside_code_blocks((out / "students" / "injector.md").read_text())
    assert "ValueError" in "".join((out / "students" / "injector.md").read_text())
    assert not [line for line in outside if line.startswith("# bpcheck report: 105")]
    assert not [line for line in outside if "Score: 105 / 105" in line or "| everything" in line]


def _outside_code_blocks(markdown: str) -> list[str]:
    """The lines of ``markdown`` outside fenced code blocks, fences closed as CommonMark
    closes them (a run of at least as many backticks, nothing after it)."""
    outside, fence = [], ""
    for line in markdown.splitlines():
        run = len(line) - len(line.lstrip("`"))
        if not fence and run >= 3:
            fence = "`" * run
        elif fence and run >= len(fence) and not line.strip("`").strip():
            fence = ""
        elif not fence:
            outside.append(line)
    return outside


def _descendants(pid: int) -> set[int]:
    found, pending = set(), [pid]
    while pending:
        parent = pending.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as children:
                    kids = [int(child) for child in children.read().split()]
            except OSError:
                continue
            pending += [kid for kid in kids if kid not in found]
            found.update(kids)
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return not any(line.startswith("State:") and line.split()[1] in "ZX" for line in status)
    except OSError:
        return False


def test_a_grader_killed_with_sigkill_takes_its_pool_and_workers_with_it(
    batch: list[Path], tmp_path: Path, fast: list[str]
) -> None:
    out = tmp_path / "grades"
    slow = tmp_path / "slow.py"  # keeps a worker busy while the grader is killed
    slow.write_text(CORRECT.read_text() + "\nimport time\ntime.sleep(30)\n")
    command = [sys.executable, "-m", "bpcheck._cli", "grade", str(slow), *map(str, batch)]
    grader = subprocess.Popen(
        [*command, "--out", str(out), "--jobs", "2", "--timeout", "60", *fast],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while len(_descendants(grader.pid)) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)  # two pool processes, and at least one worker's bwrap, init, python
        family = _descendants(grader.pid)
    finally:
        grader.kill()  # the grader alone: its pool processes are not signalled by anyone
        grader.wait()
    assert len(family) >= 5, family
    deadline = time.monotonic() + 10
    while [pid for pid in family if _alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [pid for pid in family if _alive(pid)] == []


def test_an_unwritable_output_stops_the_run_with_a_clear_error_and_a_rerun_resumes(
    batch: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "grades"
    submissions = find_submissions(batch)
    written: list[Path] = []
    real = _grade.write_atomically

    def disk_full_after_one_state(path: Path, text: str) -> None:
        if written and path.suffix == ".state":
            raise OSError(28, "No space left on device", str(path))
        real(path, text)
        if path.suffix == ".state":
            written.append(path)

    monkeypatch.setattr(_grade, "write_atomically", disk_full_after_one_state)
    with pytest.raises(_grade.OutputUnwritable, match="No space left on device"):
        grade_all(submissions, FAST_CONFIG, out, isolation="in-process")
    assert len(written) == 1
    monkeypatch.setattr(_grade, "write_atomically", real)
    assert fresh_names(submissions, FAST_CONFIG, out) == {"alice", "bob", "carol", "dave"} - {
        written[0].stem
    }


def test_a_weaker_level_is_warned_about_in_the_first_lines(
    tmp_path: Path, fast: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BPCHECK_ISOLATION", "plain")
    assert main(["grade", str(CORRECT), "--out", str(tmp_path / "out"), *fast]) == 0
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith("bpcheck: WARNING: workers run at the 'plain' level")
    assert "network" in first and "install-isolation" in first


def test_an_isolation_level_that_does_not_exist_is_a_configuration_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BPCHECK_ISOLATION", "chroot")
    assert main(["grade", str(CORRECT)]) == 4
    assert "BPCHECK_ISOLATION (from the environment)" in capsys.readouterr().err


COURSE_EXAMPLE = Path(__file__).parents[2] / "examples" / "course"


def test_the_readmes_course_example_grades_alice_at_full_marks_and_bob_below(
    tmp_path: Path, fast: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "grades"
    files = sorted(map(str, COURSE_EXAMPLE.glob("*.py")))  # bpcheck grade examples/course/*.py
    assert main(["grade", *files, "--out", str(out), "--jobs", "1", *fast]) == 0
    rows = {row[0]: row for row in (line.split(",") for line in (out / "summary.csv").read_text().splitlines())}
    assert rows["alice"][1] == rows["alice"][2] and rows["alice"][3] == "graded"
    assert float(rows["bob"][1]) < float(rows["bob"][2])
    assert rows["bob"][4] == "missing_activation_derivative"
    capsys.readouterr()
    assert main(["grade", str(COURSE_EXAMPLE), "--out", str(tmp_path / "one"), "--jobs", "1", *fast]) == 0
    error = capsys.readouterr().err
    assert f"To grade each file as a student, name the files: bpcheck grade {COURSE_EXAMPLE}/*.py" in error


def test_only_a_folder_whose_module_cannot_be_chosen_looks_like_a_class(tmp_path: Path) -> None:
    from bpcheck.grading._commands import holds_several_modules

    students = tmp_path / "students"
    students.mkdir()
    for name in ("alice.py", "bob.py"):
        (students / name).write_text("")
    notebook = tmp_path / "week4"  # deeplearning.ai's layout: the notebook and its helpers
    notebook.mkdir()
    for name in ("hw.ipynb", "dnn_utils.py", "testCases.py"):
        (notebook / name).write_text("")
    named = tmp_path / "named"
    named.mkdir()
    for name in ("mlp.py", "helpers.py"):
        (named / name).write_text("")
    assert holds_several_modules(students)
    assert not holds_several_modules(notebook) and not holds_several_modules(named)


def test_a_refusal_comes_before_the_isolation_banner(
    batch: list[Path], fast: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["grade", *map(str, batch), "--out", str(batch[3] / "grades"), *fast]) == 4
    error = capsys.readouterr().err
    assert "a directory outside every submission" in error and "isolation:" not in error


def test_check_results_reach_this_process_from_pool_processes() -> None:
    heard: list[tuple[str, str]] = []
    with local_executor(2) as executor, pool_ticks(executor, lambda *tick: heard.append(tick)) as tick:
        assert executor is not None
        executor.submit(tick, "alice", "api").result()  # called in a pool process
    assert heard == [("alice", "api")]


FORKED_POOL = """
import os
import bpcheck
from bpcheck.grading._pool import local_executor

def a_copy_of_the_grader():
    return os.getppid(), getattr(bpcheck, "marked_by_the_grader", False)

bpcheck.marked_by_the_grader = True  # only a fork of this process has it
with local_executor(2) as executor:
    reply = executor.submit(a_copy_of_the_grader).result()
    print(executor._mp_context.get_start_method(), os.getpid(), reply)
"""


def test_a_pool_is_forked_from_a_grader_without_threads_and_spawned_from_one_with() -> None:
    """Forked, the pool processes are copies of the grader (bpcheck loaded
    already); a process with threads (this one, with a thread started) spawns
    them instead."""
    ran = subprocess.run(
        [sys.executable, "-c", FORKED_POOL], capture_output=True, text=True, timeout=60, check=True
    )
    method, parent, reply = ran.stdout.split(maxsplit=2)
    assert (method, reply.strip()) == ("fork", f"({parent}, True)")
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        with local_executor(2) as executor:
            assert executor is not None and executor._mp_context.get_start_method() == "spawn"
            assert executor.submit(os.getpid).result() != os.getpid()
    finally:
        stop.set()
        thread.join()


def test_the_progress_counts_each_submissions_own_plan(tmp_path: Path) -> None:
    """A course adapter plans fewer families than the functional contract: the
    bar's total is each submission's own count of check results."""
    config = load_config(None, {"max_examples": RawOption(2, "the tests")}, [])
    dlai, functional = find_submissions(
        [Path(__file__).parents[1] / "adapters" / "courses" / "dlai_deep.py", CORRECT]
    )
    job = GradeJob(dlai, content_hash(dlai.path), "", config, tmp_path, isolation="in-process")
    graded = grade_submission(job)
    assert graded.report is not None and graded.status == "graded"
    assert _grade.planned_checks(dlai, config) == len(graded.report.checks)
    assert _grade.planned_checks(dlai, config) < _grade.planned_checks(functional, config)
