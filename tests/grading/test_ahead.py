"""Work sent ahead: a case's calls sent while Hypothesis draws the next case
(``send_ahead``), a worker started before its turn (``ahead=True``), and the
harness bytecode that comes with a worker."""

from __future__ import annotations

import importlib.util
import os
import select
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bpcheck import InProcessStudent, RunOptions, _family_run, get_plugin_manager
from bpcheck._running import collect_checks, plan, run_plan
from bpcheck._sandbox.calls import Call, GradientCall, Reply
from bpcheck.grading.isolation import Limits, WorkerStudent
from bpcheck.grading.isolation._staging import SANDBOX_MODULES, harness_sources
from tests.grading.test_isolation import FORWARD_CALL, GRADIENT_CALL, HOSTILE, LIMITS, X, _error
from tests.recording import Recording, fingerprint

IMPLEMENTATIONS = Path(__file__).parents[1] / "implementations"


class RecordingAhead(Recording):
    """A recording student that can send ahead, as a worker with a core to
    spare: it records a batch sent ahead when it is sent, the worker starting
    on it then, and answers it when it is read."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.sent: list[Call] | None = None

    def send_ahead(self, requests: Sequence[Call]) -> None:
        assert self.sent is None, "a batch sent ahead must be read before the next is sent"
        self.batches.append(tuple(fingerprint(request) for request in requests))
        self.sent = list(requests)

    def call_many(self, requests: Sequence[Call]) -> list[Reply]:
        if self.sent is None:
            return super().call_many(requests)
        sent, self.sent = self.sent, None
        assert [id(r) for r in requests] == [id(r) for r in sent], "read as sent, before any other"
        return [InProcessStudent.call(self, request) for request in requests]


@pytest.mark.parametrize(
    "module",
    [
        "correct_table.py",
        "buggy_missing_activation_derivative_1.py",
        "buggy_gradient_accumulates_across_calls_1.py",  # its answers depend on every call before
    ],
)
def test_a_student_that_sends_ahead_is_asked_what_one_that_cannot_is_asked(module: str) -> None:
    """A family run judges each case while the next one's batch is answered.
    The batches a student that sends ahead gets are those a student that
    cannot gets: the same calls, in the same order, none twice (checks that
    fail, and shrinking, included), and so the same results, for a student
    who keeps state between calls too. So a worker and pytest --student judge
    the same calls."""
    options = RunOptions(
        profile="grade", seed=7, max_examples=5, hidden_activations=("relu",), losses=("cce",)
    )
    ids = {"gradient_shapes", "gradient_values", "finite_differences", "bias_batch_sum",
           "no_mutation", "repeatable", "numerical_stability"}  # fmt: skip
    planned = [p for p in plan(collect_checks(get_plugin_manager()), options) if p.check.id in ids]

    def batches(kind: type[Recording]) -> tuple[list[Any], list[tuple[str, str]]]:
        student = kind(IMPLEMENTATIONS / module)
        results = run_plan(planned, student, options)
        assert getattr(student, "sent", None) is None, "every batch sent ahead was read"
        return student.batches, [(result.name, result.status) for result in results]

    ahead, ahead_results = batches(RecordingAhead)
    at_once, at_once_results = batches(Recording)
    assert ahead == at_once and ahead_results == at_once_results
    assert len(ahead) > options.max_examples  # a batch a case at least were compared
    if module.startswith("buggy"):
        assert ("gradient_values[relu-cce]", "failed") in ahead_results


def test_a_case_is_judged_while_the_next_one_is_answered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks judge a case after the next case's batch has been sent, so
    that a worker answers it meanwhile: from the run's second case on, every
    send comes before the judging of the case before it (the first case's
    gathering asks the student for its precision, so that case goes alone)."""
    events: list[str] = []
    judge = _family_run._Open.run

    def judged(self: Any, context: Any, case: Any, choices: Any) -> None:
        events.append("judge")
        judge(self, context, case, choices)

    monkeypatch.setattr(_family_run._Open, "run", judged)
    options = RunOptions(
        profile="grade", seed=7, max_examples=6, hidden_activations=("tanh",), losses=("mse",)
    )
    ids = {"gradient_values", "finite_differences", "repeatable"}
    planned = [p for p in plan(collect_checks(get_plugin_manager()), options) if p.check.id in ids]
    student = RecordingAhead(IMPLEMENTATIONS / "correct_table.py")
    send = student.send_ahead

    def sent(requests: Sequence[Call]) -> None:
        events.append("send")
        send(requests)

    student.send_ahead = sent  # type: ignore[method-assign]
    results = run_plan(planned, student, options)
    assert [result.status for result in results] == ["passed"] * 3
    cases = "".join("s" if event == "send" else "j" for event in events)
    # A send, then per case one more send and the three checks of the case before.
    assert cases == "s" + "sjjj" * (options.max_examples - 1) + "jjj", cases


@pytest.mark.parametrize("module", ["correct_table.py", "correct_float32.py"])
def test_each_case_after_the_first_goes_to_the_student_in_one_batch(module: str) -> None:
    """finite_differences asks for its probes at the precision the first case
    showed, so that a later case's probes go with its shared call (one round
    trip a case for a worker); a float32 student gets only float32 probes."""
    options = RunOptions(
        profile="grade", seed=7, max_examples=10, hidden_activations=("tanh",), losses=("mse",)
    )
    ids = {"gradient_values", "finite_differences"}
    planned = [p for p in plan(collect_checks(get_plugin_manager()), options) if p.check.id in ids]
    student = Recording(IMPLEMENTATIONS / module)
    results = run_plan(planned, student, options)
    assert [result.status for result in results] == ["passed", "passed"]
    probes = [call for batch in student.batches for call in batch if call[0] == "ProbeCall"]
    cases = len(student.batches) - 1  # the first case's shared call went alone
    assert len(probes) == cases == options.max_examples


def test_a_batch_sent_ahead_is_answered_as_call_many_answers_it(reference_copy: Path) -> None:
    calls: list[Call] = [GRADIENT_CALL, FORWARD_CALL]
    with WorkerStudent(reference_copy, LIMITS) as student:
        expected = student.call_many(calls)
        student.send_ahead(calls)
        got = student.call_many(calls)
        student.send_ahead(calls)
        with pytest.raises(ValueError, match="sent ahead"):
            student.call_many([FORWARD_CALL])
        again = student.call(FORWARD_CALL)  # the replies sent ahead were read: still in step
    assert [reply.error for reply in got] == [None, None] and again.error is None
    for mine, theirs in zip(got, expected, strict=True):
        np.testing.assert_array_equal(mine.AL, theirs.AL)
    np.testing.assert_array_equal(again.AL, expected[1].AL)
    np.testing.assert_array_equal(got[0].grads["dW1"], expected[0].grads["dW1"])


def test_a_worker_without_overlap_sends_nothing_ahead(reference_copy: Path) -> None:
    """send_ahead is a hint: without overlap the next call_many sends the batch."""
    with WorkerStudent(reference_copy, LIMITS, overlap=False) as student:
        expected = student.call(GRADIENT_CALL)
        student.send_ahead([GRADIENT_CALL])
        assert student._ahead is None
        got = student.call_many([GRADIENT_CALL])
        other = student.call(FORWARD_CALL)  # not bound to ask for what was sent ahead
    assert got[0].error is None and other.error is None
    np.testing.assert_array_equal(got[0].grads["dW1"], expected.grads["dW1"])


def test_a_batch_sent_ahead_keeps_its_time_limit(reference_copy: Path) -> None:
    """Its replies may be read after its deadline when they came in time; when
    they did not, it is stopped for its own limit."""
    limits = Limits(**{**LIMITS.__dict__, "call_timeout": 0.5})
    with WorkerStudent(reference_copy, limits) as student:
        reply = _read_late(student, GRADIENT_CALL, 1.0)
        assert reply.error is None and student.termination is None
    with WorkerStudent(HOSTILE / "infinite_loop.py", limits) as student:
        student.send_ahead([GRADIENT_CALL])
        time.sleep(1.0)
        started = time.monotonic()
        (reply,) = student.call_many([GRADIENT_CALL])
        assert time.monotonic() - started < 5
    assert student.termination == "timeout" and "did not finish" in _error(reply)
    assert "0.5 s per call" in student.termination_detail


def test_a_reply_larger_than_the_sockets_buffer_read_late_is_read_whole(reference_copy: Path) -> None:
    """The worker answered in time, but its reply waits in the worker for the
    grader to read it (it does not fit the socket's buffer): read late, it is
    read whole, not stopped for a timeout."""
    rng = np.random.default_rng(5)
    params = {"W1": rng.normal(size=(800, 600)), "b1": rng.normal(size=(800, 1)),
              "W2": rng.normal(size=(1, 800)), "b2": rng.normal(size=(1, 1))}
    big = GradientCall(params, rng.normal(size=(600, 4)), rng.normal(size=(1, 4)), ("relu", "linear"), "mse")
    limits = Limits(**{**LIMITS.__dict__, "call_timeout": 1.0})
    with WorkerStudent(reference_copy, limits) as student:
        reply = _read_late(student, big, 3.0)
        assert reply.error is None and student.termination is None
        assert reply.grads["dW1"].shape == (800, 600)


def _read_late(student: WorkerStudent, request: Call, seconds: float) -> Reply:
    """The reply to ``request`` sent ahead, read ``seconds`` later (the grader
    busy elsewhere, past the deadline)."""
    student.send_ahead([request])
    time.sleep(seconds)
    (reply,) = student.call_many([request])
    return reply


def test_a_worker_started_ahead_runs_no_student_code_before_it_begins(tmp_path: Path) -> None:
    module = tmp_path / "loud.py"
    module.write_text(
        "print('imported', flush=True)\n"
        "def forward(params, X, activations):\n"
        "    return X, None\n"
        "def backward(params, cache, Y, activations, loss):\n"
        "    return {}\n"
    )
    student = WorkerStudent(module, LIMITS, ahead=True)
    try:
        readable, _, _ = select.select([student._channel.sock], [], [], 30)
        assert readable  # it has booted (and said so); give it time to do more, were it to
        time.sleep(0.3)
        assert sum(os.fstat(fd).st_size for fd in student._resources.outputs) == 0
        started = time.monotonic()
        student.begin()
        assert student.api.usable, student.api
        assert student._started >= started  # the submission's time counts from begin()
        np.testing.assert_array_equal(student.call(FORWARD_CALL).AL, X)
    finally:
        student.close()
    assert "imported" in student.output_tail
    assert student.surviving_processes() == []


def _copies_of_a_correct_submission(directory: Path, names: Sequence[str]) -> list[Path]:
    paths = []
    for name in names:
        paths.append(directory / f"{name}.py")
        paths[-1].write_bytes((IMPLEMENTATIONS / "correct_table.py").read_bytes())
    return paths


def test_grading_in_turn_starts_the_next_worker_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """grade_all in this process starts each submission's worker while the one
    before is graded, and each worker begins only when its grading does."""
    from bpcheck._options import RawOption
    from bpcheck.grading import _grade
    from bpcheck.grading._config import load_config
    from bpcheck.grading._submissions import find_submissions

    monkeypatch.setattr(_grade, "available_cores", lambda: 2)
    paths = _copies_of_a_correct_submission(tmp_path, ("a", "b", "c"))
    events: list[tuple[str, str]] = []
    real_start, real_begin = _grade.start_ahead, WorkerStudent.begin

    def start_ahead(job: Any) -> WorkerStudent | None:
        if job is not None:
            events.append(("start ahead", job.submission.name))
        return real_start(job)

    def begin(self: WorkerStudent) -> None:
        if not self._begun:  # (begin is idempotent)
            events.append(("begin", self.name))
        real_begin(self)

    monkeypatch.setattr(_grade, "start_ahead", start_ahead)
    monkeypatch.setattr(WorkerStudent, "begin", begin)
    config = load_config(None, {"max_examples": RawOption(2, "--examples")}, [])
    outcomes = _grade.grade_all(find_submissions(paths), config, tmp_path / "out")
    assert [graded.status for graded in outcomes] == ["graded"] * 3
    assert [event for event in events if event[0] == "begin" or event[1] != "a"] == [
        ("start ahead", "b"), ("begin", "a"), ("start ahead", "c"), ("begin", "b"), ("begin", "c"),
    ]  # fmt: skip


def test_a_submission_changed_since_it_was_hashed_is_not_started_ahead(tmp_path: Path) -> None:
    """What a worker started ahead stages must be what the grader hashed: a
    change in between (the worker stages later than the hash, with a whole
    submission's grading between) leaves it to be started, and reported, in turn."""
    from bpcheck.grading._config import load_config
    from bpcheck.grading._grade import GradeJob, grade_submission, start_ahead
    from bpcheck.grading._submissions import content_hash, find_submissions

    (path,) = _copies_of_a_correct_submission(tmp_path, ("a",))
    (submission,) = find_submissions([path])
    job = GradeJob(submission, content_hash(path), "", load_config(None, {}, []), tmp_path / "out")
    started = start_ahead(job)
    assert started is not None
    started.close()
    path.write_text(path.read_text() + "\n# changed after the grader hashed it\n")
    assert start_ahead(job) is None
    graded = grade_submission(job)
    assert graded.status == "grader_error" and "its content differs" in graded.message


@pytest.mark.parametrize("cores", [1, 2])
def test_grading_in_turn_overlaps_with_the_worker_only_with_a_core_to_spare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cores: int
) -> None:
    """On one core, nothing is sent ahead and no worker starts ahead (either
    would slow the grading it overlaps); on two, both; the grades are the same."""
    from bpcheck._options import RawOption
    from bpcheck.grading import _grade
    from bpcheck.grading._config import load_config
    from bpcheck.grading._submissions import find_submissions

    monkeypatch.setattr(_grade, "available_cores", lambda: cores)
    sent_ahead: list[bool] = []
    real_send_ahead = WorkerStudent.send_ahead

    def send_ahead(self: WorkerStudent, requests: Sequence[Call]) -> None:
        real_send_ahead(self, requests)
        sent_ahead.append(self._ahead is not None)

    monkeypatch.setattr(WorkerStudent, "send_ahead", send_ahead)
    started_ahead: list[Any] = []
    real_start = _grade.start_ahead
    monkeypatch.setattr(_grade, "start_ahead", lambda job: started_ahead.append(job) or real_start(job))
    config = load_config(None, {"max_examples": RawOption(2, "--examples")}, [])
    paths = _copies_of_a_correct_submission(tmp_path, ("a", "b"))
    outcomes = _grade.grade_all(find_submissions(paths), config, tmp_path / "out")
    assert [(graded.status, graded.report and graded.report.score) for graded in outcomes] == [
        ("graded", outcomes[0].report and outcomes[0].report.max_score)
    ] * 2
    assert sent_ahead and all(sent_ahead) is (cores == 2) and any(sent_ahead) is (cores == 2)
    assert [job is not None for job in started_ahead] == ([True, False] if cores == 2 else [False, False])


def test_the_harness_comes_with_its_bytecode() -> None:
    """Every module of the worker's harness has an unchecked hash-based .pyc
    of this interpreter beside it, so the worker imports it without compiling."""
    sources = harness_sources()
    for name in [*SANDBOX_MODULES, "wire.py"]:
        compiled = Path(importlib.util.cache_from_source(name)).as_posix()
        pyc = sources[compiled]
        assert pyc[:4] == importlib.util.MAGIC_NUMBER
        assert int.from_bytes(pyc[4:8], "little") == 0b01  # hash-based, source not checked
