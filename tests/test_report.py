"""Reports: strict JSON, and Markdown a student can read."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from bpcheck import CheckResult, LayerRow, RunReport, get_plugin_manager
from bpcheck._report import write_atomically
from bpcheck.diagnosis._heatmap import available as heatmaps_available
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


@pytest.mark.parametrize(
    "returned",
    [
        "v + 0j",  # a complex step's .real forgotten
        "v.ravel()",  # dW flattened
        "v[..., None]",  # an extra axis
    ],
)
def test_a_report_is_written_whatever_array_backward_returns(tmp_path: Path, returned: str) -> None:
    student = tmp_path / "odd_student.py"
    student.write_text(
        "import numpy as np\n"
        "import bpcheck_reference as r\n"
        "forward = r.forward\n"
        "def backward(*args):\n"
        f"    return {{k: {returned} for k, v in r.backward(*args).items()}}\n"
    )
    results = run_checks(student, check_ids=["gradient_shapes"])
    assert {result.status for result in results} == {"failed"}
    report = RunReport("odd_student", 0, "student", "test", results)
    written = get_plugin_manager().hook.bpcheck_write_report(report=report, directory=tmp_path)
    names = {path.name for paths in written for path in paths}
    assert {"odd_student.md", "odd_student.json"} <= names
    json.loads((tmp_path / "odd_student.json").read_text())
    if heatmaps_available():  # the plots extra
        assert any(name.startswith("odd_student.heatmap.") for name in names)


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


def _drawable(name: str, family: str | None, mistake: str | None) -> CheckResult:
    """A failure with a 1×1 dW to draw, diagnosed as ``mistake``."""
    row = LayerRow(1, "dW1", "relu", [1, 1], [1, 1], 1.0, 1.0, None, [[2.0]], [[1.0]])
    diagnoses = [] if mistake is None else [dict(mistake=mistake, summary="s", layers=[1], activation="relu", evidence="", confidence="high", lesson="", hint="h")]
    return CheckResult(name, family, "claim", "failed", 0.0, 1.0, "m", {"summary": "1 → 1"}, [row], diagnoses=diagnoses)  # type: ignore[list-item]


def test_one_heatmap_per_distinct_diagnosis_named_by_pattern_an_earlier_ones_removed(
    tmp_path: Path,
) -> None:
    pytest.importorskip("matplotlib")
    manager = get_plugin_manager()

    def write(report: RunReport) -> list[str]:
        manager.hook.bpcheck_write_report(report=report, directory=tmp_path)
        return sorted(path.name for path in tmp_path.glob("*.png"))

    checks = [
        _drawable("gradient_values", "relu-mse", "output_delta_sign"),
        _drawable("finite_differences", "relu-mse", "output_delta_sign"),
        _drawable("activation_gating", "relu-mse", None),
    ]
    assert write(RunReport("mlp", 0, "grade", "0", checks)) == [
        "mlp.heatmap.activation_gating-relu-mse.png",
        "mlp.heatmap.gradient_values-relu-mse.png",
    ]
    partial = RunReport("mlp", 0, "grade", "0", checks[2:], partial=True)
    assert "mlp.partial.heatmap.activation_gating-relu-mse.png" in write(partial)
    assert write(RunReport("mlp", 0, "grade", "0", checks[:1])) == [
        "mlp.heatmap.gradient_values-relu-mse.png",  # the gating one is gone; the partial's stay
        "mlp.partial.heatmap.activation_gating-relu-mse.png",
    ]
    assert "](mlp.heatmap.gradient_values-relu-mse.png)" in (tmp_path / "mlp.md").read_text()
    other = tmp_path / "mlp.heatmap.x.heatmap.gradient_values-relu-mse.png"  # student mlp.heatmap.x's
    other.write_bytes(b"\x89PNG")
    write(RunReport("mlp", 0, "grade", "0", checks[:1]))
    assert other.exists()


def test_every_report_file_gets_the_mode_a_plain_open_gives(tmp_path: Path) -> None:
    """Not mkstemp's 0600: reports, summaries and pictures are all alike."""
    write_atomically(tmp_path / "a.md", "text")
    write_atomically(tmp_path / "b.png", b"\x89PNG")
    with open(tmp_path / "plain", "w"):
        pass
    modes = {stat.S_IMODE((tmp_path / name).stat().st_mode) for name in ("a.md", "b.png", "plain")}
    assert len(modes) == 1
