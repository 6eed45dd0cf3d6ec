"""The grading loop: every submission through its own worker, results resumable.

:func:`grade_all` hands each submission that is not already graded to
:func:`grade_submission`, the unit of work. That function is top-level and
takes one :class:`GradeJob` of plain data, so any
:class:`concurrent.futures.Executor` can run it: none (this process, one at a
time), a ``ProcessPoolExecutor`` for ``--jobs N``, or a cluster engine's.
Pickling between the grader's own processes is fine: it never carries
anything student code produced, which only ever reaches the grader as the
checked arrays of the worker's wire format.

The unit of work renders its reports (the ``bpcheck_write_report`` hooks,
into a scratch folder) and returns their bytes; :func:`grade_all`, on the
client side, writes them into ``OUT/students/``, each atomically, then
``<name>.state``, last, which records what the result depends on (the
submission's content hash, the fingerprints of the configuration and of the
planned checks, bpcheck's version). So the executor's processes need not
share ``OUT``, and a unit of work run twice (a cluster retrying it on
another machine) is written once. A rerun regrades exactly the submissions
whose state is missing or differs.

Graded in this process (no executor), one submission after another, on a
machine of two cores or more, the grader overlaps its work with its
worker's: it sends each case's calls ahead and draws the next case while the
worker answers (``overlap``), and the next submission's worker is started
ahead (:func:`start_ahead`): it boots (Python and NumPy) on the core the
grading leaves free, and imports the student's module only when its own
grading begins. A pool's processes, or a cluster's, keep every core busy
already, and do neither.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass
from pathlib import Path

from bpcheck import __version__
from bpcheck._errors import ConfigError
from bpcheck._options import with_adapter
from bpcheck._report import write_atomically
from bpcheck._results import CheckResult, RunReport
from bpcheck._running import (
    PlannedCheck,
    RunOptions,
    collect_checks,
    plan,
    run_plan,
    with_plugin_mistakes,
)
from bpcheck.adapters import Adapter
from bpcheck.adapters._select import FALLBACK
from bpcheck.grading._config import GradingConfig, available_cores
from bpcheck.grading._students import (
    GradedStudent,
    check_isolation,
    open_student,
    plugin_manager,
    student_spec,
)
from bpcheck.grading._submissions import STUDENTS, Submission, check_output_directory, content_hash
from bpcheck.grading.isolation import WorkerStudent

STATE_SCHEMA = "bpcheck-grade-state/1"
#: A submission the grader itself failed on.
GRADER_ERROR = "grader_error"
#: Statuses that are not the student's doing (the grader's or the worker's
#: environment failed): their state is not written, so the next run retries them.
RETRIED = (GRADER_ERROR, "worker_error")

#: What a unit of work calls with (submission name, check result name) as each
#: check result is made, for progress; it must pickle to wherever the unit runs.
Tick = Callable[[str, str], None]


def no_tick(submission: str, check: str) -> None:
    """A :data:`Tick` that reports nowhere."""


def plan_fingerprint(config: GradingConfig) -> str:
    """A hash of every planned check (every plugin's) by name, with its points."""
    planned = plan(collect_checks(plugin_manager()), config.options)
    names = [(check.name, round(check.max_points, 4)) for check in planned]
    return hashlib.sha256(json.dumps(names).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class GradeJob:
    """Everything one submission's unit of work needs, as plain data.

    ``checks`` is the :func:`plan_fingerprint` of the run, so that a plugin
    adding, dropping or re-weighting a check makes stored results stale.
    """

    submission: Submission
    content_hash: str
    checks: str
    config: GradingConfig
    out: Path
    isolation: str = "worker"

    @property
    def state_path(self) -> Path:
        """JSON, but not named ``*.json``: a student named ``x.state`` must not
        overwrite student ``x``'s state with a report."""
        return self.out / STUDENTS / f"{self.submission.name}.state"

    @property
    def report_path(self) -> Path:
        """The JSON report of the built-in writer, which resuming reads back."""
        return self.out / STUDENTS / f"{self.submission.name}.json"

    def state(self) -> dict[str, str]:
        """What a stored result must match to be reused."""
        return {
            "schema": STATE_SCHEMA,
            "content_hash": self.content_hash,
            "config": self.config.fingerprint(),
            "checks": self.checks,
            "bpcheck_version": __version__,
        }


@dataclass(frozen=True)
class Graded:
    """One submission's outcome, graded now (``fresh``) or by an earlier run.

    ``status`` is "graded", a worker termination ("timeout", "memory_limit",
    "crashed", ...), "import_error", "api_error", "harness_error" (bpcheck or
    a plugin failed on a check), "worker_error" (the worker failed before
    any student code ran) or "grader_error" (the grader failed on the whole
    submission; ``report`` is then None). ``message`` says what went wrong
    for the last two. ``files`` are the rendered reports, (file name, bytes),
    from the unit of work until :func:`grade_all` has written them.
    """

    submission: Submission
    status: str
    report: RunReport | None
    isolation: str
    seconds: float
    fresh: bool
    message: str = ""
    files: tuple[tuple[str, bytes], ...] = ()


def start_ahead(job: GradeJob | None) -> WorkerStudent | None:
    """The worker of ``job`` started ahead of its turn (:class:`WorkerStudent`'s
    ``ahead``), for :func:`grade_submission`; None for no job, an in-process
    one, or a start that failed (its grading starts it again, and says why).

    A worker stages its copy of the submission as it starts, so the content is
    checked against the grader's hash once staged: a submission changed since
    it was hashed is not started ahead (its grading then finds the change and
    says so), and what a worker started ahead runs is what was hashed."""
    if job is None or job.isolation != "worker":
        return None
    try:
        options = submission_options(job.submission, job.config)
        worker = WorkerStudent(job.submission.path, job.config.limits, options.adapter, ahead=True)
    except Exception:
        return None
    try:
        unchanged = content_hash(job.submission.path) == job.content_hash
    except OSError:  # gone since it was hashed
        unchanged = False
    if not unchanged:
        worker.close()
        return None
    return worker


def submission_status(student: GradedStudent, results: Sequence[CheckResult]) -> str:
    """What happened to the submission as a whole (see :class:`Graded`)."""
    if student.termination is not None:
        return student.termination
    if student.api.import_error is not None:
        return "import_error"
    if student.api.problems:
        return "api_error"
    if any(result.origin == "harness" for result in results):
        return "harness_error"
    return "graded"


def not_run(planned: PlannedCheck, student: GradedStudent) -> CheckResult:
    """The result of a check the worker did not live to run: an error, no points."""
    return CheckResult(
        id=planned.check.id,
        family=planned.family.id if planned.family else None,
        claim=planned.check.claim,
        status="error",
        points=0.0,
        max_points=round(planned.max_points, 4),
        message=f"not run: the worker had stopped before this check ({student.termination}: "
        f"{student.termination_detail})",
    )


def grade_submission(
    job: GradeJob,
    tick: Tick = no_tick,
    ahead: WorkerStudent | None = None,
    overlap: bool = False,
) -> Graded:
    """The unit of work: grade one submission and render its reports, calling
    ``tick`` as each check result is made (with ``ahead``, the worker
    :func:`start_ahead` started for it, which it closes; with ``overlap``,
    a new worker is sent calls ahead: for a grader with a core to spare).
    Writes nothing into ``job.out``: :func:`grade_all` writes the returned files.

    Never raises: a failure of the grader itself (a submission whose content
    here is not the one the grader hashed, say, on a machine that does not
    share its files) comes back as a "grader_error" outcome.
    """
    started = time.monotonic()
    try:
        found = content_hash(job.submission.path) if job.submission.path.exists() else "missing"
        if found != job.content_hash:
            return Graded(
                job.submission, GRADER_ERROR, None, "", 0.0, True,
                f"{job.submission.path} on {os.uname().nodename} is not the submission the grader "
                f"hashed ({'it is missing' if found == 'missing' else 'its content differs'}): "
                "every machine that grades must see the submissions at the same path",
            )
        report, status, isolation, detail = _check(job, tick, ahead, overlap)
        files = render_reports(report)
    except Exception:
        return grader_error(job, time.monotonic() - started)
    finally:
        if ahead is not None:  # closed already, unless it was never used
            ahead.close()
    message = detail if status in RETRIED else ""
    return Graded(
        job.submission, status, report, isolation, time.monotonic() - started, True, message, files
    )


def grader_error(job: GradeJob, seconds: float) -> Graded:
    """The outcome of a unit of work the grader failed on; call it in an ``except``."""
    return Graded(job.submission, GRADER_ERROR, None, "", seconds, True, traceback.format_exc())


def _check(
    job: GradeJob, tick: Tick, ahead: WorkerStudent | None, overlap: bool
) -> tuple[RunReport, str, str, str]:
    """The report, the status, the isolation used, and why the worker stopped ("" if it did not).

    The adapter is chosen in the grader (:func:`submission_options`), and said
    in the report."""
    manager = plugin_manager()
    name = job.submission.name
    options = submission_options(job.submission, job.config)
    limits, isolation = job.config.limits, job.isolation
    with open_student(job.submission.path, limits, isolation, options.adapter, ahead, overlap) as student:
        planned = plan(collect_checks(manager), options)
        results = run_plan(
            planned,
            student,
            options,
            on_result=lambda result: tick(name, result.name),
            stop=lambda: student.termination is not None,
        )
        results += [not_run(item, student) for item in planned[len(results) :]]
        results = [with_notes(result, student.notes) for result in results]
        status, isolation = submission_status(student, results), student.isolation
        detail = student.termination_detail
    report = RunReport(
        name, options.seed, options.profile, __version__, results, adapter=options.adapter.describe()
    )
    return report, status, isolation, detail


def submission_options(submission: Submission, config: GradingConfig) -> RunOptions:
    """The run options of ``submission``: the course's, with the adapter chosen
    from its source (read with :mod:`ast`, a notebook's cells parsed as JSON:
    nothing of it runs) and every plugin's mistakes."""
    manager = plugin_manager()
    try:
        options = with_adapter(config.options, student_spec(submission.path), config.course, manager)
    except ConfigError as conflict:  # this code's adapter runs nothing the course grades
        options = dataclasses.replace(config.options, adapter=_outside_the_course(conflict))
    return with_plugin_mistakes(options, manager)


def planned_checks(submission: Submission, config: GradingConfig) -> int:
    """How many check results grading ``submission`` makes (its adapter's plan)."""
    return len(plan(collect_checks(plugin_manager()), submission_options(submission, config)))


def _outside_the_course(conflict: ConfigError) -> Adapter:
    """The functional translation with the problem the ``api`` check reports, for
    a submission whose code follows an API whose networks the course does not
    grade (the configuration was checked against a module that defines
    nothing): none of the course's activations and losses, or not its kind of
    network, with biases or without (``scope.biases``)."""
    if conflict.setting == "scope.biases":
        runs = conflict.expected.partition(": ")[2]  # "the dlai adapter runs only networks with biases"
        course = "have none" if conflict.got is False else "have biases"
        mismatch = f"the API your code follows cannot grade this course: {runs}, and this course's networks {course}"
    else:
        mismatch = (
            f"your code follows an API graded within {conflict.expected.removeprefix('some of ')}, "
            f"and this course grades {conflict.got} (hidden activations and losses): none of its networks"
        )
    return Adapter(
        "none",
        FALLBACK,
        reason="auto: the adapter its code follows runs none of the course's networks",
        problems=(
            f"{mismatch}. Write it to this course's contract, or ask your instructor which adapter to name.",
        ),
    )


def with_notes(result: CheckResult, notes: Sequence[str]) -> CheckResult:
    """The api check's result with the notes on the submission's files added."""
    if result.id != "api" or not notes:
        return result
    return dataclasses.replace(result, notes=[*result.notes, *notes])


def render_reports(report: RunReport) -> tuple[tuple[str, bytes], ...]:
    """What the ``bpcheck_write_report`` hooks write for ``report``, as (file
    name, bytes): they write into a scratch folder, which is then read back."""
    with tempfile.TemporaryDirectory(prefix="bpcheck-reports-") as scratch:
        folder = Path(scratch)
        plugin_manager().hook.bpcheck_write_report(report=report, directory=folder)
        return tuple(
            (path.name, path.read_bytes())
            for path in sorted(folder.iterdir())
            if path.is_file() and not path.is_symlink()
        )


def write_graded(job: GradeJob, graded: Graded) -> Graded:
    """Write ``graded``'s reports into ``OUT/students/`` (each atomically), remove
    the files an earlier grading of the submission wrote that this one did not
    (a heatmap of a mistake since fixed), then, unless the status is retried,
    the state. The earlier state goes first, so that no state ever vouches
    for reports it did not record (a retried status, or a crash halfway,
    leaves none). Returns ``graded`` without its files. Raises :class:`OSError`."""
    directory = job.out / STUDENTS
    names = {name for name, _ in graded.files}
    stale_reports = set(_previous_reports(job)) - names
    job.state_path.unlink(missing_ok=True)
    for stale in stale_reports:
        (directory / stale).unlink(missing_ok=True)
    for name, content in graded.files:
        write_atomically(directory / name, content)
    if graded.status not in RETRIED:
        state = {
            **job.state(),
            "submission": str(job.submission.path),
            "status": graded.status,
            "isolation": graded.isolation,
            "seconds": round(graded.seconds, 3),
            "reports": sorted(names),
        }
        write_atomically(job.state_path, json.dumps(state, indent=2) + "\n")
    return dataclasses.replace(graded, files=())


def _previous_reports(job: GradeJob) -> list[str]:
    """The report files the submission's stored state lists (plain names only)."""
    try:
        listed = json.loads(job.state_path.read_text(encoding="utf-8"))["reports"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [
        name for name in listed
        if isinstance(name, str) and name == Path(name).name and not name.startswith(".")
    ]


def load_graded(job: GradeJob) -> Graded | None:
    """The earlier result of ``job``, if its state matches; None means regrade.

    Reads only JSON the grader wrote; anything unreadable or inconsistent
    counts as missing.
    """
    try:
        state = json.loads(job.state_path.read_text(encoding="utf-8"))
        if any(state.get(key) != value for key, value in job.state().items()):
            return None
        report = RunReport.from_json(json.loads(job.report_path.read_text(encoding="utf-8")))
        return Graded(
            job.submission,
            str(state["status"]),
            report,
            str(state["isolation"]),
            float(state["seconds"]),
            fresh=False,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def grade_all(
    submissions: Sequence[Submission],
    config: GradingConfig,
    out: Path,
    *,
    executor: Executor | None = None,
    isolation: str = "worker",
    progress: Callable[[Graded], None] = lambda graded: None,
    tick: Tick = no_tick,
) -> list[Graded]:
    """Grade every submission whose stored result is missing or out of date.

    ``executor`` runs the units of work (None: one after another in this
    process); each calls ``tick`` per check result (it must pickle to where
    the executor runs it: see :func:`pool_ticks` and
    :mod:`bpcheck.grading._dask`). ``progress`` is called once per
    submission as it finishes, resumed ones first. Results are written here,
    as each unit of work returns. Returns the outcomes in the order of
    ``submissions``. One submission's failure, even the grader's own, never
    costs another its result. Raises :class:`ConfigError` before grading
    anything for an unknown ``isolation`` or an ``out`` that clashes with a
    submission, and :class:`OutputUnwritable` as soon as a submission's
    results cannot be written (the rest are not started; a rerun resumes).
    """
    check_isolation(isolation)
    check_output_directory(submissions, out)
    outcomes: dict[str, Graded] = {}
    pending = {}
    checks = plan_fingerprint(config)
    for submission in submissions:
        job = GradeJob(submission, content_hash(submission.path), checks, config, out, isolation)
        previous = load_graded(job)
        if previous is None:
            pending[submission.name] = job
            continue
        outcomes[submission.name] = previous
        progress(previous)
    for graded in _run(list(pending.values()), executor, tick):
        try:
            graded = write_graded(pending[graded.submission.name], graded)
        except OSError as error:  # the output directory is full, gone or read-only
            raise OutputUnwritable(
                f"cannot write the results of {graded.submission.name} into {out}: {error}"
            ) from error
        outcomes[graded.submission.name] = graded
        progress(graded)
    return [outcomes[submission.name] for submission in submissions]


class OutputUnwritable(Exception):
    """The grader cannot write into its output directory; the message says where and why."""


def _run(jobs: list[GradeJob], executor: Executor | None, tick: Tick) -> Iterator[Graded]:
    if executor is None:
        yield from _in_turn(jobs, tick)
        return
    futures = {executor.submit(grade_submission, job, tick): job for job in jobs}
    try:
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception:  # the executor lost the unit of work (a grader process died)
                yield grader_error(futures[future], 0.0)
    finally:  # the run stopped early (unwritable output, Ctrl-C): start nothing more
        for future in futures:
            future.cancel()


def _in_turn(jobs: list[GradeJob], tick: Tick) -> Iterator[Graded]:
    """Each job in this process, one after another. Where there is a second
    core (so that the worker's work never slows the grader timing it), the
    grader overlaps with its worker: calls are sent ahead, and while one job
    is graded the next one's worker starts ahead (it boots, then waits for
    its turn to import the student's module)."""
    started: WorkerStudent | None = None
    overlap = available_cores() > 1
    try:
        for job, following in zip(jobs, [*jobs[1:], None]):
            current, started = started, start_ahead(following if overlap else None)
            yield grade_submission(job, tick, current, overlap)
    finally:
        if started is not None:
            started.close()
