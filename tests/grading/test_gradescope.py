"""``bpcheck gradescope`` end to end, in a simulated ``/autograder`` layout:
``source/`` (the course's configuration), ``submission/`` and ``results/``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bpcheck._cli import main
from tests.grading.test_grade import BUGGY

#: The course's rubric: update required for 5 points, worked examples hidden until
#: the due date, the whole result hidden; two families, few examples.
SOURCE = """\
[tool.bpcheck]
activations = ["relu"]
losses = ["mse", "cce"]
max_examples = 3

[tool.bpcheck.points]
update = 5
gradient_values = 20

[tool.bpcheck.visibility]
worked_examples = "after_due_date"

[tool.bpcheck.gradescope]
visibility = "hidden"
"""
#: The built-in checks' points, with the rubric above.
TOTAL = 5 + 10 + 10 + 20 + 15 + 10 + 10 + 5 + 5 + 5 + 10 + 5 + 30


def test_results_json_totals_the_assignment_and_follows_the_visibilities(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    autograder = tmp_path / "autograder"
    for folder in ("source", "submission", "results"):
        (autograder / folder).mkdir(parents=True)
    (autograder / "source" / "pyproject.toml").write_text(SOURCE)
    shutil.copy(BUGGY, autograder / "submission" / "mlp.py")
    monkeypatch.chdir(autograder / "source")  # run_autograder: cd /autograder/source && bpcheck gradescope
    results = autograder / "results" / "results.json"
    arguments = ["--submission", str(autograder / "submission"), "--results", str(results)]
    assert main(["gradescope", *arguments]) == 0

    data = json.loads(results.read_text())
    tests = data["tests"]
    assert sum(test["max_score"] for test in tests) == pytest.approx(TOTAL)
    assert data["score"] == pytest.approx(sum(test["score"] for test in tests))
    assert 0 < data["score"] < TOTAL
    assert data["visibility"] == "hidden"
    visibility = {test["name"]: test["visibility"] for test in tests}
    assert visibility.pop("worked_examples") == "after_due_date"
    assert set(visibility.values()) == {"visible"}
    failed = [test for test in tests if test["status"] == "failed"]
    assert failed and all(test["score"] == 0 for test in failed)
    assert any("your δ misses f′(z)" in test["output"] for test in failed)
    assert {test["name"] for test in tests if test["name"].startswith("gradient_values")} == {
        "gradient_values[relu-mse]",
        "gradient_values[relu-cce]",
    }
