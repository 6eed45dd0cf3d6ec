"""The isolated worker against hostile submissions (tests/grading/hostile/).

Every case runs one submission in a WorkerStudent with small limits, checks
what the grader reports (api, termination, the Reply), and checks that no
process of the worker survives close().
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import bpcheck_reference
import numpy as np
import pytest

from bpcheck import InProcessStudent, RunOptions, get_plugin_manager
from bpcheck._running import collect_checks, plan, run_plan
from bpcheck._sandbox.calls import (
    Call,
    DirectionProbe,
    ForwardCall,
    GradientCall,
    LossCall,
    Probe,
    ProbeCall,
    Reply,
    UpdateCall,
)
from bpcheck.grading.isolation import (
    Limits,
    WorkerStudent,
    describe_isolation,
    find_module,
    machine,
)
from bpcheck.grading.isolation._processes import has_marker, matching

HOSTILE = Path(__file__).parent / "hostile"
IMPLEMENTATIONS = Path(__file__).parents[1] / "implementations"
HARNESS = Path(__file__).parents[2] / "bpcheck" / "_sandbox"

#: Small limits; a generous call timeout so that a loaded machine does not turn a slow
#: answer into a timeout. Cases that are meant to time out use QUICK.
LIMITS = Limits(
    call_timeout=15.0,
    submission_timeout=60.0,
    memory_mb=400,
    cpu_seconds=20,
    file_size_mb=4,
    open_files=64,
    processes=32,
    output_bytes=100_000,
)

QUICK = Limits(**{**LIMITS.__dict__, "call_timeout": 2.0})
TIMES_OUT = {"infinite_loop", "sleep_import", "sigterm_ignored"}

RNG = np.random.default_rng(0)
PARAMS = {
    "W1": RNG.normal(size=(3, 2)),
    "b1": RNG.normal(size=(3, 1)),
    "W2": RNG.normal(size=(1, 3)),
    "b2": RNG.normal(size=(1, 1)),
}
X = RNG.normal(size=(2, 4))
Y = RNG.normal(size=(1, 4))
GRADIENT_CALL = GradientCall(PARAMS, X, Y, ("relu", "linear"), "mse")
FORWARD_CALL = ForwardCall(PARAMS, X, ("relu", "linear"))

#: Does this level drop to a dedicated uid and hide the filesystem (root with bwrap)?
CONFINED = machine().root and machine().resolve(None) == "bwrap"


def _error(reply: Reply | None) -> str:
    assert reply is not None and reply.error is not None, reply
    return reply.error.summary


def timeout(student: WorkerStudent, reply: Reply | None) -> None:
    assert student.termination == "timeout", student.termination_detail
    assert "did not finish" in _error(reply)


def import_timeout(student: WorkerStudent, reply: Reply | None) -> None:
    assert student.termination == "timeout"
    assert student.api.import_error is not None
    assert (
        "importing sleep_import.py did not finish within the time limit of 2 s"
        in student.api.import_error.summary
    )


def memory(student: WorkerStudent, reply: Reply | None) -> None:
    assert student.termination == "memory_limit", student.termination_detail
    assert reply is not None and reply.error is not None and reply.error.exception == "MemoryError"


def fork_bomb(student: WorkerStudent, reply: Reply | None) -> None:
    assert student.termination is None, student.termination_detail
    assert reply is not None and reply.error is None and reply.AL is not None
    assert reply.AL[0, 0] < LIMITS.processes  # the process limit stopped it


def exit_import(student: WorkerStudent, reply: Reply | None) -> None:
    assert student.termination is None
    assert student.api.import_error is not None
    assert student.api.import_error.exception == "SystemExit"


def raised(exception: str) -> Callable[[WorkerStudent, Reply | None], None]:
    def expectation(student: WorkerStudent, reply: Reply | None) -> None:
        assert student.termination is None, student.termination_detail
        assert reply is not None and reply.error is not None
        assert reply.error.exception == exception, reply.error
        again = student.call(GRADIENT_CALL)  # the worker is still alive and answering
        assert student.termination is None and again.error is not None

    return expectation


def crashed(student: WorkerStudent, reply: Reply | None) -> None:
    assert student.termination == "crashed", student.termination_detail
    assert _error(reply)
    assert "stopped earlier" in _error(student.call(GRADIENT_CALL))


def crashed_or_memory(student: WorkerStudent, reply: Reply | None) -> None:
    assert student.termination in ("crashed", "memory_limit"), student.termination_detail


def output_limit(student: WorkerStudent, reply: Reply | None) -> None:
    assert student.termination in ("output_limit", "file_size_limit"), student.termination_detail
    assert _error(reply)


def healthy(student: WorkerStudent, reply: Reply | None) -> None:
    assert student.termination is None, student.termination_detail
    assert reply is not None and reply.error is None, reply


def monkeypatched(student: WorkerStudent, reply: Reply | None) -> None:
    healthy(student, reply)
    assert reply is not None and np.all(reply.grads["dW1"] == 12345.0)  # the raw arrays
    assert not np.allclose(1.0, 2.0) and abs(-1) == 1  # the grader's numpy and builtins


def tampered(student: WorkerStudent, reply: Reply | None) -> None:
    healthy(student, reply)
    forged = student.call(FORWARD_CALL)
    assert forged.error is None and forged.AL is not None
    if CONFINED:
        assert forged.AL[0, 0] == 0.0  # it could not overwrite a single harness file


def escaped_nothing(student: WorkerStudent, reply: Reply | None) -> None:
    healthy(student, reply)
    attempts = student.call(FORWARD_CALL).AL
    assert attempts is not None and attempts.shape == (1, 10)
    labels = ["bpcheck", "bpcheck_reference", "hypothesis", "tests", "pytest", "reference source",
              "/etc/shadow", "/root", "network", "kill pid 1"]  # fmt: skip
    worked = [label for label, value in zip(labels, attempts[0], strict=True) if value]
    always = ["bpcheck", "bpcheck_reference", "hypothesis", "tests", "pytest", "network"]
    forbidden = labels if CONFINED else always
    assert not [label for label in worked if label in forbidden], worked


def fake_results(student: WorkerStudent, reply: Reply | None) -> None:
    healthy(student, reply)
    assert reply is not None and np.all(reply.grads["dW1"] == 7.0)
    results = _run(student, {"gradient_values"})
    assert results and all(result.status == "failed" for result in results)


def import_error(exception: str) -> Callable[[WorkerStudent, Reply | None], None]:
    def expectation(student: WorkerStudent, reply: Reply | None) -> None:
        assert student.termination is None
        assert student.api.import_error is not None
        assert student.api.import_error.exception == exception
        assert reply is None

    return expectation


def missing(student: WorkerStudent, reply: Reply | None) -> None:
    assert student.termination is None and student.api.import_error is None
    assert any("missing function backward" in problem for problem in student.api.problems)


def wrong_types(student: WorkerStudent, reply: Reply | None) -> None:
    assert student.termination is None
    assert reply is not None and reply.error is not None and reply.error.function == "forward"
    assert "pair" in reply.error.summary


def nan_inf(student: WorkerStudent, reply: Reply | None) -> None:
    healthy(student, reply)
    assert (
        reply is not None
        and np.isinf(reply.grads["dW1"].flat[0])
        and np.isnan(reply.grads["db1"]).all()
    )


def dtype(expected: str) -> Callable[[WorkerStudent, Reply | None], None]:
    def expectation(student: WorkerStudent, reply: Reply | None) -> None:
        healthy(student, reply)
        assert reply is not None and {str(value.dtype) for value in reply.grads.values()} == {
            expected
        }

    return expectation


def not_numbers(student: WorkerStudent, reply: Reply | None) -> None:
    assert student.termination is None
    assert "must be a numpy array of numbers" in _error(reply)


def lists(student: WorkerStudent, reply: Reply | None) -> None:
    healthy(student, reply)
    assert reply is not None and reply.returned_types == {key: "list" for key in reply.grads}
    assert all(isinstance(value, np.ndarray) for value in reply.grads.values())


def huge_reply(student: WorkerStudent, reply: Reply | None) -> None:
    assert student.termination is None
    assert "MB of arrays" in _error(reply)


def protocol_error(student: WorkerStudent, reply: Reply | None) -> None:
    assert student.termination == "protocol_error", student.termination_detail
    assert "malformed" in _error(reply)


def sealed(student: WorkerStudent, reply: Reply | None) -> None:
    """The seccomp filter is loaded (mode 2) and every call it denies failed."""
    healthy(student, reply)
    seen = student.call(FORWARD_CALL).AL
    assert seen is not None
    assert not seen[0, :-1].any(), seen
    assert seen[0, -1] == (2 if machine().seccomp is None else 0)


def disk_limit(student: WorkerStudent, reply: Reply | None) -> None:
    assert student.termination == "disk_limit", student.termination_detail
    assert "64 MB" in student.termination_detail
    assert "stopped earlier" in _error(student.call(GRADIENT_CALL))


def forged_hello(student: WorkerStudent, reply: Reply | None) -> None:
    assert student.termination == "protocol_error", student.termination_detail
    assert student.api.import_error is not None and reply is None


def forged_verdicts(student: WorkerStudent, reply: Reply | None) -> None:
    """The worker's copy of the harness says nothing changed; the grader saw X and W1 change."""
    healthy(student, reply)
    assert reply is not None and set(reply.mutated) == {"X", "params['W1']"}
    (result,) = _run(student, {"no_mutation"})
    assert result.status == "failed" and "X" in result.message, result


CASES: dict[str, Callable[[WorkerStudent, Reply | None], None]] = {
    "syscalls": sealed,
    "disk_filler": disk_limit,
    "forged_hello": forged_hello,
    "forged_verdicts": forged_verdicts,
    "infinite_loop": timeout,
    "sleep_import": import_timeout,
    "memory_bomb": memory,
    "numpy_memory_bomb": memory,
    "fork_bomb": fork_bomb,
    "exit_import": exit_import,
    "exit_backward": raised("SystemExit"),
    "os_exit": crashed,
    "keyboard_interrupt": raised("KeyboardInterrupt"),
    "sigterm_ignored": timeout,
    "deep_recursion": raised("RecursionError"),
    "recursion_crash": crashed_or_memory,
    "huge_output": output_limit,
    "leftovers": healthy,
    "monkeypatch": monkeypatched,
    "tamper_harness": tampered,
    "escape": escaped_nothing,
    "fake_results": fake_results,
    "syntax_error": import_error("SyntaxError"),
    "missing_functions": missing,
    "wrong_types": wrong_types,
    "nan_inf": nan_inf,
    "float32_arrays": dtype("float32"),
    "int_arrays": dtype("int64"),
    "object_arrays": not_numbers,
    "numeric_object_arrays": dtype("float64"),
    "lists": lists,
    "complex_arrays": dtype("complex128"),  # for gradient_shapes to refuse, as in-process
    "huge_reply": huge_reply,
    "socket_forgery": protocol_error,
}


def _run(student: WorkerStudent, ids: set[str], options: RunOptions | None = None) -> list:
    options = options or RunOptions(
        profile="grade", seed=7, max_examples=5, hidden_activations=("relu",), losses=("mse",)
    )
    manager = get_plugin_manager()
    planned = [p for p in plan(collect_checks(manager), options) if p.check.id in ids]
    return run_plan(planned, student, options)


def _with_target(tmp_path: Path, name: str) -> Path:
    """The hostile module itself, or for ``escape`` a submission directory that also
    names the grader's real reference source in target.txt."""
    if name != "escape":
        return HOSTILE / f"{name}.py"
    submission = tmp_path / name
    submission.mkdir()
    shutil.copy(HOSTILE / "escape.py", submission / "escape.py")
    (submission / "target.txt").write_text(str(Path(bpcheck_reference.__file__).resolve()))
    return submission


def test_every_hostile_submission_has_a_case() -> None:
    elsewhere = {"write_report", "environment", "cross_talk", "markdown_injection"}
    assert {path.stem for path in HOSTILE.glob("*.py")} - elsewhere == set(CASES)


@pytest.mark.parametrize("level", ["bwrap", "unshare", "plain"])
def test_nothing_crosses_from_one_submission_to_the_next(level: str) -> None:
    """cross_talk leaves a secret in every channel it can, then a second worker looks
    for it: the kernel's channels (keyring, SysV, POSIX queues, abstract sockets) are
    closed at every level; /tmp, /var/tmp and /dev/shm are the worker's own but at plain."""
    if not machine().available(level):
        pytest.skip(f"{level} is not available here")
    kernel = slice(0, 4)
    found = []
    for _ in range(2):
        with WorkerStudent(HOSTILE / "cross_talk.py", LIMITS, level=level) as student:
            seen = student.call(FORWARD_CALL).AL
            assert seen is not None, student.termination_detail
            found.append(seen[0])
            assert not seen[1, kernel].any(), seen  # it could not even leave one
        assert student.surviving_processes() == []
    assert not found[1][kernel].any()
    if level != "plain":
        assert not found[1].any(), found
        assert not any(Path(folder, "bpcheck-cross-talk").exists() for folder in ("/tmp", "/var/tmp", "/dev/shm"))


@pytest.mark.parametrize("level", ["bwrap", "unshare", "plain"])
def test_environment_is_scrubbed(level: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if not machine().available(level):
        pytest.skip(f"{level} is not available here")
    monkeypatch.setenv("BPCHECK_TEST_SECRET", "grader only")
    monkeypatch.chdir(Path(__file__).parent)
    with WorkerStudent(HOSTILE / "environment.py", LIMITS, level=level) as student:
        seen = student.call(FORWARD_CALL).AL
    assert seen is not None
    secret, variables, inside = seen[0]
    assert secret == 0 and variables <= 16 and inside == 0


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_submission(name: str, tmp_path: Path) -> None:
    if name == "disk_filler" and machine().resolve(None) == "plain":
        pytest.skip("the plain level caps no disk: this would fill the host's")
    before = {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in HARNESS.glob("*.py")
    }
    student = WorkerStudent(_with_target(tmp_path, name), QUICK if name in TIMES_OUT else LIMITS)
    try:
        reply = student.call(GRADIENT_CALL) if student.api.usable else None
        CASES[name](student, reply)
    finally:
        student.close()
    assert student.surviving_processes() == []
    student.close()  # idempotent
    after = {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in HARNESS.glob("*.py")
    }
    assert after == before


def test_writing_into_the_report_directory(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    submission = tmp_path / "student"
    submission.mkdir()
    shutil.copy(HOSTILE / "write_report.py", submission / "mlp.py")
    (submission / "target.txt").write_text(str(reports))
    with WorkerStudent(submission, LIMITS) as student:
        assert student.name == "student" and student.spec == str(submission / "mlp.py")
        healthy(student, student.call(GRADIENT_CALL))
        student.call(FORWARD_CALL)
    assert list(reports.iterdir()) == []
    assert student.surviving_processes() == []


def test_one_submission_cannot_cost_another_its_result(reference_copy: Path) -> None:
    """Hostile workers running at the same time leave a correct one untouched."""
    names = ["fork_bomb", "memory_bomb", "infinite_loop", "huge_output", "leftovers"]
    if machine().resolve(None) != "plain":  # plain has no cap: it would fill the host's disk
        names.append("disk_filler")

    def grade(path: Path) -> tuple[str | None, Reply]:
        with WorkerStudent(path, QUICK if path.stem in TIMES_OUT else LIMITS) as student:
            return student.termination, student.call(GRADIENT_CALL)

    with concurrent.futures.ThreadPoolExecutor(len(names) + 1) as pool:
        hostile = [pool.submit(grade, HOSTILE / f"{name}.py") for name in names]
        correct = pool.submit(grade, reference_copy)
        termination, reply = correct.result()
        for future in hostile:
            future.result()
    expected = InProcessStudent(str(reference_copy), get_plugin_manager()).call(GRADIENT_CALL)
    assert termination is None and reply.error is None
    for key, value in expected.grads.items():
        np.testing.assert_allclose(reply.grads[key], value, rtol=1e-12)  # BLAS threads differ


def test_every_call_kind_round_trips(reference_copy: Path) -> None:
    in_process = InProcessStudent(str(reference_copy), get_plugin_manager())
    calls: list[Call] = [
        GRADIENT_CALL,
        GradientCall(PARAMS, X, Y, ("tanh", "sigmoid"), "bce", backward_calls=2),
        FORWARD_CALL,
        ProbeCall(
            PARAMS,
            X,
            ("relu", "linear"),
            (
                Probe("W1", 0, 1e-5),
                Probe("b2", 0, -1e-5),
                DirectionProbe({name: np.ones_like(value) for name, value in PARAMS.items()}, 1e-3),
            ),
        ),
        LossCall(np.abs(Y), np.abs(Y) / 2, "mse"),
        UpdateCall(PARAMS, {f"d{k}": np.ones_like(v) for k, v in PARAMS.items()}, 0.1),
    ]
    with WorkerStudent(reference_copy, LIMITS) as student:
        assert student.api == in_process.api
        for call in calls:
            got, expected = student.call(call), in_process.call(call)
            assert got.error is None and expected.error is None
            for field in ("AL", "probes"):
                if getattr(expected, field) is not None:
                    np.testing.assert_allclose(
                        getattr(got, field), getattr(expected, field), rtol=1e-12
                    )
            assert got.loss == expected.loss and got.mutated == expected.mutated
            assert len(got.gradients) == len(expected.gradients)
            for mine, theirs in zip(got.gradients, expected.gradients, strict=True):
                assert mine.keys() == theirs.keys()
                for key in mine:
                    np.testing.assert_allclose(mine[key], theirs[key], rtol=1e-12)
            if expected.params is not None:
                assert got.params is not None and got.params.keys() == expected.params.keys()


def test_run_plan_matches_in_process(reference_copy: Path) -> None:
    ids = {"api", "forward", "gradient_shapes", "gradient_values", "no_mutation", "update"}
    options = RunOptions(
        profile="grade",
        seed=11,
        max_examples=5,
        hidden_activations=("tanh",),
        losses=("mse", "cce"),
    )
    in_process = InProcessStudent(str(reference_copy), get_plugin_manager())
    expected = _run(in_process, ids, options)  # type: ignore[arg-type]
    with WorkerStudent(reference_copy, LIMITS) as student:
        got = _run(student, ids, options)
    assert [result.status for result in got] == ["passed"] * len(got)
    assert [(r.id, r.family, r.status, r.points, r.message) for r in got] == [
        (r.id, r.family, r.status, r.points, r.message) for r in expected
    ]


def test_correct_implementation_from_the_catalogue() -> None:
    path = IMPLEMENTATIONS / "correct_table.py"
    if not path.exists():
        pytest.skip("tests/implementations/correct_table.py is not there")
    with WorkerStudent(path, LIMITS) as student:
        results = _run(student, {"api", "gradient_values", "finite_differences"})
    assert results and all(result.status == "passed" for result in results), results


def test_submission_rules(tmp_path: Path) -> None:
    several = tmp_path / "several"
    several.mkdir()
    (several / "helpers.py").write_text("")
    (several / "other.py").write_text("")
    module, problem = find_module(several)
    assert module is None and problem is not None and "mlp.py" in problem
    (several / "mlp.py").write_text("")
    assert find_module(several) == (several / "mlp.py", None)
    single = tmp_path / "single"
    single.mkdir()
    (single / "anything.py").write_text("")
    assert find_module(single) == (single / "anything.py", None)
    # A notebook with the course's helper modules beside it is the module; mlp.py still wins.
    notebook = tmp_path / "notebook"
    notebook.mkdir()
    for name in ("dnn_utils.py", "testCases.py", "Week4.ipynb"):
        (notebook / name).write_text("")
    assert find_module(notebook) == (notebook / "Week4.ipynb", None)
    (notebook / "Draft.ipynb").write_text("")
    module, problem = find_module(notebook)
    assert module is None and problem is not None and "single notebook" in problem
    (notebook / "mlp.py").write_text("")
    assert find_module(notebook) == (notebook / "mlp.py", None)
    assert find_module(notebook / "Week4.ipynb") == (notebook / "Week4.ipynb", None)
    (notebook / "notes.txt").write_text("")
    assert find_module(notebook / "notes.txt")[1] == (
        "the submission notes.txt is not a .py file, a .ipynb notebook or a directory"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    with WorkerStudent(empty, LIMITS) as student:
        assert (
            student.api.import_error is not None
            and "no .py or .ipynb file" in student.api.import_error.summary
        )
        assert student.call(GRADIENT_CALL).error is not None
        assert student.termination is None


def test_submission_timeout() -> None:
    limits = Limits(**{**LIMITS.__dict__, "call_timeout": 30.0, "submission_timeout": 4.0})
    with WorkerStudent(HOSTILE / "infinite_loop.py", limits) as student:
        reply = student.call(GRADIENT_CALL)
        assert student.termination == "timeout"
        assert "total time limit" in _error(reply)


def test_describe_isolation_names_the_level_used() -> None:
    text = describe_isolation()
    assert "<- used" in text
    with WorkerStudent(HOSTILE / "leftovers.py", LIMITS) as student:
        assert student.isolation.split(" ")[0] in text.split("<- used")[0].split("\n")[-1]


@pytest.mark.parametrize("level", ["unshare", "plain"])
@pytest.mark.parametrize("name", ["leftovers", "fork_bomb", "infinite_loop", "escape"])
def test_fallback_levels(level: str, name: str, tmp_path: Path) -> None:
    if not machine().available(level):
        pytest.skip(f"{level} is not available here")
    submission = _with_target(tmp_path, name)
    student = WorkerStudent(submission, QUICK if name in TIMES_OUT else LIMITS, level=level)
    try:
        assert student.isolation.startswith(level)
        reply = student.call(GRADIENT_CALL)
        if name == "infinite_loop":
            timeout(student, reply)
        elif name == "fork_bomb" and re.search(r"uid \d", student.isolation):
            fork_bomb(student, reply)
        elif name == "fork_bomb":  # RLIMIT_NPROC binds no root process: only the cleanup counts
            assert student.termination is None
        else:
            healthy(student, reply)
        if name == "escape" and level == "unshare":
            attempts = student.call(FORWARD_CALL).AL
            assert attempts is not None and not attempts[0].any(), attempts
    finally:
        student.close()
    assert student.surviving_processes() == []


def test_cpu_limit() -> None:
    limits = Limits(**{**LIMITS.__dict__, "call_timeout": 30.0, "cpu_seconds": 1})
    with WorkerStudent(HOSTILE / "infinite_loop.py", limits) as student:
        reply = student.call(GRADIENT_CALL)
        assert student.termination == "cpu_limit", student.termination_detail
        assert "CPU time" in _error(reply)
    assert student.surviving_processes() == []


def test_output_is_capped_and_never_parsed() -> None:
    with WorkerStudent(HOSTILE / "fake_results.py", LIMITS) as student:
        student.call(GRADIENT_CALL)
    assert '"score": 100' in student.output_tail  # it was only ever kept as text
    with WorkerStudent(HOSTILE / "huge_output.py", LIMITS) as student:
        student.call(GRADIENT_CALL)
        sizes = [os.fstat(fd).st_size for fd in student._resources.outputs]
        assert sum(sizes) <= 2 * LIMITS.output_bytes


GRADER = """
import sys, time
from pathlib import Path
from bpcheck.grading.isolation import Limits, WorkerStudent
student = WorkerStudent(Path(sys.argv[1]), Limits(call_timeout=15), level=sys.argv[2])
assert student.api.usable, student.api
print(student._resources.marker, student._resources.uid, flush=True)
if sys.argv[1].endswith("infinite_loop.py"):  # be killed in the middle of a call
    import numpy as np
    from bpcheck._sandbox.calls import GradientCall
    one = np.ones((1, 1))
    student.call(GradientCall({"W1": one, "b1": one}, one, one, ("linear",), "mse"))
time.sleep(600)
"""


@pytest.mark.parametrize(
    "level, name",
    [(level, name) for level in ("bwrap", "unshare") for name in ("leftovers", "infinite_loop")]
    + [("plain", "nan_inf"), ("plain", "infinite_loop")],
)
def test_killing_the_grader_kills_its_workers(level: str, name: str) -> None:
    """A grader killed hard (SIGKILL, no cleanup) takes its workers with it."""
    if not machine().available(level):
        pytest.skip(f"{level} is not available here")
    grader = subprocess.Popen(
        [sys.executable, "-c", GRADER, str(HOSTILE / f"{name}.py"), level],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert grader.stdout is not None
        marker, uid = grader.stdout.readline().split()
        time.sleep(0.3)  # into the call
    finally:
        grader.kill()
        grader.wait()

    def alive() -> list[int]:
        return matching(
            lambda pid, info: (
                str(info[0]) == uid or has_marker(pid, f"BPCHECK_WORKER={marker}".encode())
            )
        )

    deadline = time.monotonic() + 5
    while alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive() == []


@pytest.mark.parametrize("level", ["bwrap", "unshare", "plain"])
def test_a_module_reads_its_own_data_files(level: str, tmp_path: Path) -> None:
    """A directory submission's module loads a data file by relative path and may
    write next to itself; only the worker's copy changes."""
    if not machine().available(level):
        pytest.skip(f"{level} is not available here")
    submission = tmp_path / "student"
    submission.mkdir()
    (submission / "scale.txt").write_text("3.0")
    (submission / "mlp.py").write_text(
        "import numpy as np\n"
        "SCALE = float(open('scale.txt').read())\n"
        "open('scratch.txt', 'w').write('mine')\n"
        "def forward(params, X, activations):\n"
        "    return SCALE * np.ones((1, 1)), None\n"
        "def backward(params, cache, Y, activations, loss):\n"
        "    return {}\n"
    )
    (submission / "helpers.py").write_text("")
    with WorkerStudent(submission, LIMITS, level=level) as student:
        assert student.api.usable, student.api
        AL = student.call(FORWARD_CALL).AL
    assert AL is not None and AL[0, 0] == 3.0
    assert sorted(path.name for path in submission.iterdir()) == [
        "helpers.py",
        "mlp.py",
        "scale.txt",
    ]


def test_a_batch_is_one_round_trip_and_answers_as_single_calls_do(
    reference_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bpcheck.grading.isolation import _protocol

    in_process = InProcessStudent(str(reference_copy), get_plugin_manager())
    calls: list[Call] = [
        GRADIENT_CALL,
        FORWARD_CALL,
        ProbeCall(PARAMS, X, ("relu", "linear"), (Probe("W1", 0, 1e-5),)),
        LossCall(np.abs(Y), np.abs(Y) / 2, "mse"),
        UpdateCall(PARAMS, {f"d{k}": np.ones_like(v) for k, v in PARAMS.items()}, 0.1),
    ]
    sent: list[object] = []
    real_send = _protocol.Channel.send
    monkeypatch.setattr(
        _protocol.Channel,
        "send",
        lambda self, tree, deadline, **how: (sent.append(tree), real_send(self, tree, deadline, **how)),
    )
    with WorkerStudent(reference_copy, LIMITS) as student:
        replies = student.call_many(calls)
    batches = [tree for tree in sent if tree["type"] == "batch"]  # after the go to import
    assert len(batches) == 1 and len(replies) == len(calls)
    for call, got in zip(calls, replies, strict=True):
        expected = in_process.call(call)
        assert got.error is None and got.mutated == expected.mutated == ()
        for field in ("AL", "probes", "loss"):
            if getattr(expected, field) is not None:
                np.testing.assert_allclose(getattr(got, field), getattr(expected, field), rtol=1e-12)


def test_a_batch_that_runs_out_of_time_names_its_limit() -> None:
    limits = Limits(**{**LIMITS.__dict__, "call_timeout": 0.5})
    with WorkerStudent(HOSTILE / "infinite_loop.py", limits) as student:
        replies = student.call_many([GRADIENT_CALL] * 3)
    assert student.termination == "timeout"
    assert "the time limit of 1.5 s for its 3 calls (0.5 s per call)" in student.termination_detail
    assert all("did not finish" in _error(reply) for reply in replies)
