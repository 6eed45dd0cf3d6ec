"""The ``bpcheck`` command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bpcheck._cli import main
from tests.implementations import HERE

QUICK = ["--examples", "5", "--activations", "relu", "--losses", "mse", "--seed", "1"]


def test_check_exits_0_for_correct_code_and_writes_reports(reference_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(reference_copy), "--report-dir", str(tmp_path / "out"), *QUICK])
    assert code == 0
    output = capsys.readouterr().out
    report = json.loads((tmp_path / "out" / "reference_student.json").read_text())
    assert report["status"] == "passed" and report["seed"] == 1
    assert report["score"] == report["max_score"] > 0
    assert f"score {report['score']:g}/{report['max_score']:g} (passed)" in output


def test_check_exits_1_and_prints_the_failure_for_buggy_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    buggy = HERE / "buggy_missing_activation_derivative_1.py"
    code = main(["check", str(buggy), "--report-dir", str(tmp_path), *QUICK])
    assert code == 1
    output = capsys.readouterr().out
    assert "Minimal counterexample:" in output
    assert "activation_gating" in output


def test_a_configuration_error_is_not_blamed_on_the_student(reference_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(reference_copy), "--losses", "hinge"])
    assert code == 4
    error = capsys.readouterr().err
    assert "configuration error (not a problem with the student's code)" in error
    assert "losses (from the command line, --losses)" in error


def test_init_copies_the_starter_module_and_readme(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path / "hw")]) == 0
    names = sorted(path.name for path in (tmp_path / "hw").iterdir())
    assert names == ["README.md", "mlp.py"]
    assert "raise NotImplementedError" in (tmp_path / "hw" / "mlp.py").read_text()


def test_init_never_overwrites_a_students_work(tmp_path: Path) -> None:
    (tmp_path / "mlp.py").write_text("# my work\n")
    main(["init", str(tmp_path)])
    assert (tmp_path / "mlp.py").read_text() == "# my work\n"


def test_the_untouched_template_fails_api_free_checks_with_not_implemented(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["init", str(tmp_path)])
    code = main(["check", str(tmp_path / "mlp.py"), "--report-dir", str(tmp_path / "r"), *QUICK])
    assert code == 1
    report = json.loads((tmp_path / "r" / "mlp.json").read_text())
    statuses = {result["id"]: result["status"] for result in report["checks"]}
    assert statuses["api"] == "passed"
    assert statuses["update"] == "skipped"
    assert "forward() raised NotImplementedError" in capsys.readouterr().out


def test_init_imports_none_of_the_harness(tmp_path: Path) -> None:
    """What made it slow: NumPy, Hypothesis and the checks, to copy two files."""
    code = (
        "import sys; from bpcheck._cli import main; "
        f"main(['init', {str(tmp_path)!r}]); "
        "print(sorted({'numpy', 'hypothesis', 'bpcheck.checks', 'pytest'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "[]"
    assert (tmp_path / "mlp.py").is_file()


def test_check_ends_with_the_diagnosis_and_the_table_of_checks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["check", str(HERE / "buggy_missing_activation_derivative_1.py"), "--report-dir", str(tmp_path), *QUICK])
    output = capsys.readouterr().out
    assert output.count("Minimal counterexample:") == 1
    tail = output[output.rindex("Minimal counterexample:") :]
    assert tail.index("[missing_activation_derivative; ") < tail.index("Fix: ") < tail.index("activation_gating ")
