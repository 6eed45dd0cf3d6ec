"""End-to-end runs of ``pytest --student=...`` through pytester."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REFERENCE_SOURCE
from tests.implementations import HERE

BOB = Path(__file__).parents[1] / "examples" / "course" / "bob.py"

QUICK = ["--bpcheck-examples=5", "--bpcheck-activations=relu", "--bpcheck-losses=mse,cce", "-p", "no:cacheprovider"]


@pytest.fixture
def student(pytester: pytest.Pytester) -> Path:
    path = pytester.path / "mymlp.py"
    path.write_text(REFERENCE_SOURCE.read_text())
    return path


@pytest.fixture
def buggy(pytester: pytest.Pytester) -> Path:
    path = pytester.path / "buggy.py"
    path.write_text((HERE / "buggy_missing_activation_derivative_1.py").read_text())
    return path


def test_a_correct_module_by_name_passes_with_a_full_score_and_writes_reports(
    pytester: pytest.Pytester, student: Path
) -> None:
    result = pytester.runpytest("--student=mymlp", "-rs", *QUICK)
    # regularisation applies only where the course's API takes reg: not here
    result.assert_outcomes(passed=len(_item_ids(pytester, "--student=mymlp")) - 1, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED *not applicable: the course's API takes no L2 strength (reg)*"])
    assert result.ret == 0
    report = json.loads((pytester.path / "reports" / "mymlp.json").read_text())
    assert report["score"] == report["max_score"] > 0
    assert report["status"] == "passed"
    assert {"student", "seed", "bpcheck_version", "checks", "diagnoses", "schema"} <= set(report)
    first = report["checks"][0]
    assert {"id", "family", "status", "points", "max_points", "message", "counterexample"} <= set(first)
    assert (pytester.path / "reports" / "mymlp.md").read_text().startswith("# bpcheck report: mymlp")


def test_the_header_prints_the_student_and_the_seed(pytester: pytest.Pytester, student: Path) -> None:
    result = pytester.runpytest("--student=mymlp.py", "--bpcheck-seed=4242", "--collect-only", *QUICK)
    result.stdout.fnmatch_lines(["bpcheck *: student mymlp.py, profile student, seed 4242*"])


def test_one_item_per_check_and_family_with_readable_ids(pytester: pytest.Pytester, student: Path) -> None:
    ids = _item_ids(pytester, "--student=mymlp")
    assert "bpcheck::api" in ids
    assert "bpcheck::gradient_values[relu-mse]" in ids
    assert "bpcheck::activation_gating[relu-cce]" in ids
    assert "bpcheck::numerical_stability[relu-mse]" not in ids  # stability needs bce or cce


def _item_ids(pytester: pytest.Pytester, *args: str) -> list[str]:
    result = pytester.runpytest(*args, "--collect-only", "-q", *QUICK)
    return [line for line in result.outlines if line.startswith("bpcheck::")]


def test_a_failing_check_shows_the_counterexample_table_and_command_without_harness_traceback(
    pytester: pytest.Pytester, buggy: Path
) -> None:
    result = pytester.runpytest("--student=buggy.py", "--bpcheck-seed=7", "-k", "gradient_values", *QUICK)
    assert result.ret == 1
    text = result.stdout.str()
    assert "Minimal counterexample:" in text
    assert "rel. error vs finite differences" in text
    assert "Reproduce with: pytest --student=buggy.py --bpcheck-profile=student --bpcheck-seed=7" in text
    assert "bpcheck/_running.py" not in text and "Traceback" not in text


def test_the_reproduce_command_reproduces_the_failure(pytester: pytest.Pytester, buggy: Path) -> None:
    first = pytester.runpytest("--student=buggy.py", "--bpcheck-seed=11", "-k", "gradient_values[relu-mse]", *QUICK)
    again = pytester.runpytest("--student=buggy.py", "--bpcheck-seed=11", "-k", "gradient_values[relu-mse]", *QUICK)
    assert first.ret == again.ret == 1
    pick = lambda result: [line for line in result.outlines if line.startswith("Minimal counterexample")]  # noqa: E731
    assert pick(first) == pick(again) != []


def test_the_students_own_traceback_is_shown_when_their_code_raises(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        raising="""
        def forward(params, X, activations):
            return helper(X), None

        def helper(X):
            raise ValueError("shapes do not line up")

        def backward(params, cache, Y, activations, loss):
            return {}
        """
    )
    result = pytester.runpytest("--student=raising.py", "-k", "forward", *QUICK)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*forward() raised ValueError: shapes do not line up*", "*Your code raised:*", "*in helper*"])
    assert "bpcheck/_sandbox" not in result.stdout.str()


def test_a_module_that_cannot_be_imported_fails_api_and_says_why(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(broken="def forward(:\n")
    result = pytester.runpytest("--student=broken.py", "-k", "api", *QUICK)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*importing broken.py raised SyntaxError*"])


def test_junitxml_and_x_work(pytester: pytest.Pytester, buggy: Path) -> None:
    result = pytester.runpytest("--student=buggy.py", "-x", "--junitxml=out.xml", *QUICK)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*stopping after 1 failures*"])
    xml = (pytester.path / "out.xml").read_text()
    assert 'name="api"' in xml
    assert 'name="gradient_values[relu-mse]"' in xml and "<failure" in xml


def test_without_student_the_plugin_does_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_own="def test_one():\n    assert True\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert not any(line.startswith("bpcheck ") for line in result.outlines)
    assert not (pytester.path / "reports").exists()


def test_ini_twins_configure_the_run(pytester: pytest.Pytester, student: Path) -> None:
    pytester.makeini("[pytest]\nbpcheck_student = mymlp\nbpcheck_seed = 99\nbpcheck_activations = tanh\nbpcheck_losses = bce\n")
    result = pytester.runpytest("--collect-only", "-q", "-p", "no:cacheprovider")
    assert "bpcheck::gradient_values[tanh-bce]" in result.outlines
    assert not any("relu" in line for line in result.outlines)


@pytest.mark.parametrize(
    "args, ini, message",
    [
        (["--bpcheck-seed=abc"], "", "seed (from the command line, --bpcheck-seed): expected a whole number; got 'abc'"),
        (["--bpcheck-profile=fast"], "", "profile (from the command line, --bpcheck-profile): expected student or grade; got 'fast'"),
        ([], "bpcheck_losses = hinge\n", "[bpcheck_losses]): expected a comma-separated subset of mse,bce,cce; got 'hinge'"),
        (["--bpcheck-examples=0"], "", "max_examples (from the command line, --bpcheck-examples): expected a whole number ≥ 1; got '0'"),
    ],
)
def test_a_bad_option_says_where_it_came_from(
    pytester: pytest.Pytester, student: Path, args: list[str], ini: str, message: str
) -> None:
    pytester.makeini("[pytest]\n" + ini)
    result = pytester.runpytest("--student=mymlp", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


def test_a_conftest_plugin_can_contribute_a_check(pytester: pytest.Pytester, student: Path) -> None:
    pytester.makeconftest(
        """
        import bpcheck

        @bpcheck.check("course_extra", claim="A course's own check.", points=1, per_family=False)
        def course_extra(context):
            bpcheck.checks.expect(False, "the course's own check failed")

        @bpcheck.hookimpl
        def bpcheck_checks():
            return [course_extra]
        """
    )
    result = pytester.runpytest("--student=mymlp", "-k", "course_extra", *QUICK)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*the course's own check failed*"])


def test_xdist_runs_the_same_items_with_the_controllers_seed(pytester: pytest.Pytester, buggy: Path) -> None:
    pytest.importorskip("xdist")
    result = pytester.runpytest("--student=buggy.py", "-n", "2", "--bpcheck-seed=5", *QUICK)
    assert result.ret == 1
    report = json.loads((pytester.path / "reports" / "buggy.json").read_text())
    assert report["seed"] == 5
    ids = _item_ids(pytester, "--student=buggy.py")
    assert [f"bpcheck::{c['id']}" + (f"[{c['family']}]" if c["family"] else "") for c in report["checks"]] == ids
    # Both workers found the one mistake: the controller still shows it in full once.
    assert sum(line.startswith("Minimal counterexample:") for line in result.outlines) == 1


def test_with_student_only_the_checks_run_unless_test_paths_are_named(
    pytester: pytest.Pytester, student: Path
) -> None:
    pytester.makepyfile(test_own="def test_mine():\n    assert True\n")
    only_checks = pytester.runpytest("--student=mymlp", "--collect-only", "-q", *QUICK)
    assert "bpcheck::api" in only_checks.outlines
    assert not any("test_mine" in line for line in only_checks.outlines)
    both = pytester.runpytest("--student=mymlp", "test_own.py", "--collect-only", "-q", *QUICK)
    assert "test_own.py::test_mine" in both.outlines


def test_a_conftest_plugin_can_contribute_a_mistake_that_gets_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        decay="""
        import bpcheck_reference as r
        forward = r.forward

        def backward(params, cache, Y, activations, loss):
            grads = r.backward(params, cache, Y, activations, loss)
            return {k: v + 0.1 * params[k[1:]] if k.startswith("dW") else v for k, v in grads.items()}
        """
    )
    pytester.makeconftest(
        """
        import numpy as np
        from bpcheck import Finding, Mistake, hookimpl

        def weight_decay(evidence):
            if not evidence.gradients or evidence.case is None:
                return None
            extra = evidence.gradients["dW1"] - evidence.expected["dW1"]
            if np.allclose(extra, 0.1 * evidence.case.params["W1"]):
                return Finding("dW1 is the reference's plus 0.1 × W1.", layers=(1,))
            return None

        @hookimpl
        def bpcheck_mistakes():
            return [Mistake("weight_decay_in_gradient", "your dW includes weight decay",
                            "explained", "drop the decay", "Week 3", weight_decay)]
        """
    )
    result = pytester.runpytest("--student=decay.py", "-k", "gradient_values", *QUICK)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*weight_decay_in_gradient*"])


def test_one_mistake_shows_once_in_full_and_the_run_ends_with_its_diagnosis(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's failing example, run as a student runs it (every family, the
    student profile): under 150 lines, the diagnosis and its fix in the last 40,
    each failure's short-summary line its diagnosis."""
    for variable in ("CI", "BUILD_NUMBER"):  # pytest prints whole messages there: see below
        monkeypatch.delenv(variable, raising=False)
    result = pytester.runpytest(
        f"--student={BOB}", "--bpcheck-seed=3", "--bpcheck-examples=5", "-p", "no:cacheprovider",
        "-W", "ignore::pytest.PytestAssertRewriteWarning",  # an editable install's, not ours
    )
    assert result.ret == 1
    lines = result.outlines
    failed = sum(line.startswith("FAILED bpcheck::") for line in lines)
    assert failed > 10 and len(lines) < 150, len(lines)
    headline = "FAILED bpcheck::gradient_values[relu-mse] - Layer 1 (relu): your δ mi"
    assert any(line.startswith(headline) for line in lines)
    assert sum(line.startswith("Minimal counterexample:") for line in lines) == 1
    assert sum(line.startswith("Same diagnosis as ") for line in lines) == failed - 1
    last = "\n".join(lines[-40:])
    assert "your δ misses f′(z). [missing_activation_derivative; " in last
    assert "Fix: Multiply W.T @ delta element-wise by f′(z" in last
    assert last.index("Fix:") < last.index("gradient_values ") < last.index("reports: ")
    assert lines[-1].startswith("=") and "failed" in lines[-1]


@pytest.mark.parametrize(("verbose", "ci"), [("-v", ""), ("-vv", ""), ("-v", "true")], ids=["v", "vv", "v-on-CI"])
def test_v_shows_every_failure_in_full(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, buggy: Path, verbose: str, ci: str
) -> None:
    """Each failure in full, once each: under -vv, and on a CI system (``CI``
    set, a course's autograder), pytest's short summary prints each failure's
    whole message, which must then be its one line, not the block again."""
    monkeypatch.delenv("BUILD_NUMBER", raising=False)
    monkeypatch.setenv("CI", ci)
    result = pytester.runpytest("--student=buggy.py", verbose, "-k", "gradient_values", *QUICK)
    failed = sum(line.startswith("FAILED bpcheck::") for line in result.outlines)
    assert failed == 2
    assert sum(line.startswith("Minimal counterexample:") for line in result.outlines) == failed


def test_a_k_run_writes_a_partial_report_beside_the_full_one_and_says_so(
    pytester: pytest.Pytester, buggy: Path
) -> None:
    reports = pytester.path / "reports"
    pytester.runpytest("--student=buggy.py", *QUICK)
    full = (reports / "buggy.json").read_text()
    result = pytester.runpytest("--student=buggy.py", "-k", "gradient_values", *QUICK)
    assert (reports / "buggy.json").read_text() == full
    assert json.loads(full)["partial"] is False
    partial = json.loads((reports / "buggy.partial.json").read_text())
    assert partial["partial"] is True
    assert {check["id"] for check in partial["checks"]} == {"gradient_values"}
    assert "**Partial run**" in (reports / "buggy.partial.md").read_text()
    result.stdout.fnmatch_lines(["partial run: only 2 of the planned checks ran (-k, -x)*"])


def test_a_module_that_cannot_be_imported_fails_once_and_skips_the_rest_pointing_at_api(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(broken="def forward(:\n")
    result = pytester.runpytest("--student=broken.py", "-rfEs", *QUICK)
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1 and outcomes["skipped"] > 10
    result.stdout.fnmatch_lines(["FAILED bpcheck::api*", "*not run: the module cannot be used (see the api check)*"])
