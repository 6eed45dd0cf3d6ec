"""Reports: strict JSON, and Markdown a student can read."""

from __future__ import annotations

import json
from pathlib import Path

from bpcheck import RunReport, get_plugin_manager
from tests.conftest import run_checks
from tests.implementations import HERE


def test_report_json_is_strict_json_even_when_a_student_returns_nan(tmp_path: Path) -> None:
    student = tmp_path / "nan_student.py"
    student.write_text(
        "import numpy as np\n"
        "import bpcheck_reference as r\n"
        "forward = r.forward\n"
        "def backward(*args):\n"
        "    return {k: v * np.nan for k, v in r.backward(*args).items()}\n"
    )
    results = run_checks(student, check_ids=["gradient_shapes", "gradient_values"])
    statuses = {(result.id, result.status) for result in results}
    assert statuses == {("gradient_shapes", "failed"), ("gradient_values", "not_judged")}
    for result in results:
        json.dumps(result.to_json(), allow_nan=False)


def test_the_markdown_report_leads_with_the_score_and_explains_each_failure(tmp_path: Path) -> None:
    results = run_checks(HERE / "buggy_output_delta_sign_1.py", check_ids=["api", "gradient_values"])
    report = RunReport("delta", 3, "grade", "0.1.0", results)
    manager = get_plugin_manager()
    written = [path for paths in manager.hook.bpcheck_write_report(report=report, directory=tmp_path) for path in paths]
    markdown = (tmp_path / "delta.md").read_text()
    assert {"delta.json", "delta.md"} <= {path.name for path in written}
    assert markdown.startswith("# bpcheck report: delta")
    assert f"**Score: {report.score:g} / {report.max_score:g}**" in markdown
    assert "| api " in markdown and "rel. error vs finite differences" in markdown
    assert "Reproduce: `pytest --student=" in markdown
    assert json.loads((tmp_path / "delta.json").read_text())["score"] == report.score


def test_the_reproduce_command_is_shell_quoted_whatever_the_file_is_called(tmp_path: Path) -> None:
    import shlex

    student = tmp_path / "it's my mlp; rm -rf ~.py"
    student.write_text((HERE / "buggy_output_delta_sign_1.py").read_text())
    [result, *_] = [r for r in run_checks(student, check_ids=["gradient_values"]) if r.reproduce]
    words = shlex.split(result.reproduce)
    assert words[:2] == ["pytest", f"--student={student}"]
    assert words[-2:] == ["-k", result.name]
