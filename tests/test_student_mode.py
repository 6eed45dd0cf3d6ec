"""Student mode (``bpcheck check``, ``pytest --student``) against what hangs, what is
interrupted, and what names no module: issue 10, item 7."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bpcheck import get_plugin_manager
from bpcheck._cli import main
from bpcheck._sandbox.calls import ForwardCall
from bpcheck._student import InProcessStudent

HOSTILE = Path(__file__).parent / "grading" / "hostile"
QUICK = ["--examples", "2", "--activations", "relu", "--losses", "mse", "--seed", "1"]


def test_an_infinite_loop_is_a_timeout_naming_the_limit_and_later_calls_do_not_wait(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    code = main(["check", str(HOSTILE / "infinite_loop.py"), "--timeout", "0.5", "--report-dir", str(tmp_path), *QUICK])
    assert code == 1 and time.monotonic() - started < 60
    report = json.loads((tmp_path / "infinite_loop.json").read_text())
    messages = [check["message"] for check in report["checks"] if check["status"] != "passed"]
    assert any("did not finish within the time limit of 0.5 s per call" in text for text in messages)
    assert report["status"] == "failed"


def test_a_swallowed_timeout_comes_again(tmp_path: Path) -> None:
    stubborn = tmp_path / "stubborn.py"
    stubborn.write_text(
        "def forward(params, X, activations):\n"
        "    for _ in range(3):\n"
        "        try:\n"
        "            while True:\n"
        "                pass\n"
        "        except BaseException:\n"
        "            pass\n"
        "    return X, X\n"
        "def backward(params, cache, Y, activations, loss):\n"
        "    return {}\n"
    )
    import numpy as np

    student = InProcessStudent(str(stubborn), get_plugin_manager(), timeout=0.2)
    reply = student.call(ForwardCall({"W1": np.ones((1, 1))}, np.ones((1, 1)), ("linear",)))
    assert reply.error is None  # it outlived three alarms, then returned: the reply stands
    assert student.termination is None


@pytest.mark.parametrize("spec", ["mlpp", "missing.py", "."])
def test_a_module_that_cannot_be_found_or_a_directory_is_a_usage_error(
    spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlp.py").write_text("")
    assert main(["check", spec, "--report-dir", "reports"]) == 4
    error = capsys.readouterr().err
    assert "STUDENT (from the command line)" in error and repr(spec) in error
    assert str(tmp_path) in error
    if spec == "mlpp":
        assert "did you mean 'mlp'?" in error
    assert not (tmp_path / "reports").exists()


def test_ctrl_c_writes_no_report_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(HOSTILE / "keyboard_interrupt.py"), "--report-dir", str(tmp_path / "r"), *QUICK])
    assert code == 2
    assert "interrupted: no report written" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_under_pytest_a_missing_module_is_a_usage_error_and_ctrl_c_writes_no_report(
    pytester: pytest.Pytester,
) -> None:
    missing = pytester.runpytest("--student=mlpp", "-p", "no:cacheprovider")
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    missing.stderr.fnmatch_lines(["*--student (from the command line, --student)*'mlpp'*"])
    interrupted = pytester.runpytest_subprocess(  # in-process, the interrupt would reach us
        f"--student={HOSTILE / 'keyboard_interrupt.py'}",
        "--bpcheck-examples=2",
        "--bpcheck-activations=relu",
        "--bpcheck-losses=mse",
        "-p",
        "no:cacheprovider",
    )
    assert interrupted.ret == pytest.ExitCode.INTERRUPTED
    interrupted.stdout.fnmatch_lines(["*interrupted: no report written*"])
    assert not (pytester.path / "reports").exists()


def test_a_student_traceback_starts_at_the_students_own_code(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import numpy\n\ndef helper():\n    raise ValueError('mine')\n\nhelper()\n")
    student = InProcessStudent(str(broken), get_plugin_manager())
    error = student.api.import_error
    assert error is not None and "ValueError: mine" in error.traceback
    frames = [line for line in error.traceback.splitlines() if line.strip().startswith("File ")]
    assert frames and all(str(broken) in frame for frame in frames), frames


def test_a_module_whose_attributes_raise_is_an_import_error_as_in_the_worker(tmp_path: Path) -> None:
    """Adapting a module reads its attributes, which student code can make raise."""
    module = tmp_path / "mlp.py"
    module.write_text("def __getattr__(name):\n    raise RuntimeError('no ' + name)\n")
    student = InProcessStudent(str(module), get_plugin_manager())
    assert student.api.import_error is not None
    assert student.api.import_error.summary == f"importing {module} raised RuntimeError: no forward"
