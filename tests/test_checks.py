"""Checks whose claims need more than the implementation table shows."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from bpcheck import RunOptions
from tests.conftest import run_checks
from tests.implementations import HERE


def statuses(name: str, check_ids: list[str]) -> dict[str, set[str]]:
    results = run_checks(HERE / f"{name}.py", check_ids=check_ids)
    found: dict[str, set[str]] = {}
    for result in results:
        found.setdefault(result.id, set()).add(result.status)
    return found


def test_finite_differences_tell_a_forward_bug_from_a_backward_bug() -> None:
    consistent_but_wrong_forward = statuses(
        "buggy_forward_mismatch_3", ["forward", "gradient_values", "finite_differences"]
    )
    assert "failed" in consistent_but_wrong_forward["forward"]
    assert "failed" in consistent_but_wrong_forward["gradient_values"]
    assert consistent_but_wrong_forward["finite_differences"] == {"passed"}
    backward_bug = statuses("buggy_output_delta_sign_1", ["forward", "finite_differences"])
    assert backward_bug["forward"] == {"passed"}
    assert "failed" in backward_bug["finite_differences"]


@pytest.mark.parametrize(
    "name",
    ["buggy_missing_activation_derivative_1", "buggy_mse_missing_factor_two_1", "buggy_output_delta_sign_2"],
)
def test_worked_examples_catch_a_backward_bug(name: str) -> None:
    assert statuses(name, ["worked_examples"]) == {"worked_examples": {"failed"}}


def test_worked_examples_accept_both_relu_prime_of_zero_conventions() -> None:
    assert statuses("correct_relu_ge0", ["worked_examples"]) == {"worked_examples": {"passed"}}
    assert statuses("correct_table", ["worked_examples"]) == {"worked_examples": {"passed"}}


def test_float32_code_is_judged_at_1e_3_and_the_report_says_so() -> None:
    results = run_checks(HERE / "correct_float32.py", check_ids=["gradient_values"])
    assert all(result.status == "passed" for result in results)
    assert any("float32" in note for result in results for note in result.notes)


def test_activation_gating_names_the_leaking_unit() -> None:
    results = run_checks(HERE / "buggy_missing_activation_derivative_2.py", check_ids=["activation_gating"])
    failed = [result for result in results if result.status == "failed"]
    assert failed
    assert "unit" in failed[0].message and "f′(z)" in failed[0].message


def test_finite_differences_do_not_judge_where_the_loss_is_infinite() -> None:
    import numpy as np

    from bpcheck import Architecture, Case, InProcessStudent, get_plugin_manager
    from bpcheck.checks import FLOAT64, CheckContext
    from bpcheck.checks._differences import directional_differences, element_differences

    student = InProcessStudent("bpcheck_reference", get_plugin_manager())
    saturated = Case(
        Architecture((1, 1), ("sigmoid",), "bce"),
        {"W1": np.array([[1.0]]), "b1": np.array([[800.0]])},
        X=np.array([[1.0]]),
        Y=np.array([[0.0]]),
    )
    context = CheckContext(student, None, ())
    grads = {"dW1": np.array([[1.0]]), "db1": np.array([[1.0]])}
    with np.errstate(all="raise"):
        element = element_differences(context, saturated, FLOAT64, ["W1", "b1"])
        directional = directional_differences(context, saturated, FLOAT64, grads, np.ones((1, 1)))
    assert element.judgeable() == {}
    assert directional.wrong() == [] and directional.error("W1") is None


def test_a_check_id_declared_twice_is_a_plugin_error_naming_both_plugins() -> None:
    from bpcheck import PluginError, check, get_plugin_manager, hookimpl
    from bpcheck._running import collect_checks

    class CoursePlugin:
        @hookimpl
        def bpcheck_checks(self) -> list:  # type: ignore[type-arg]
            return [check("forward", claim="A clash.", points=1)(lambda context: None)]

    manager = get_plugin_manager([CoursePlugin()])
    with pytest.raises(PluginError) as raised:
        collect_checks(manager)
    message = str(raised.value)
    assert "hook: bpcheck_checks" in message
    assert "check id 'forward' is already declared by bpcheck.checks" in message


def test_a_student_who_only_forgot_f_prime_gets_no_stability_hint() -> None:
    """Bob's softmax is stable; his gradients are wrong everywhere, so
    numerical_stability cannot judge stability and must not hint at softmax."""
    results = run_checks(
        Path(__file__).parents[1] / "examples" / "course" / "bob.py", check_ids=["numerical_stability"]
    )
    statuses = {result.status for result in results}
    assert "not_judged" in statuses and statuses <= {"not_judged", "passed"}  # linear layers pass
    assert not any("hint" in result.message or "np.exp" in result.message for result in results)


#: A style whose textbook δ = dA·σ′ is unstable at saturated sigmoid outputs.
UNSTABLE_STYLE = (
    "dict_cache.per_example.columns.np_dot.float64.sigmoid_exp.clipped_textbook_delta."
    "relu_prime1.fprime_of_z.extra_dZ.separate_arrays.no_loss.with_update.mean_in_gradients."
    "max_shift.listed_layers.output_in_loop.with_biases"
)


@pytest.mark.parametrize("mistake", ["complex_forward", "forward_mismatch"])
def test_stability_is_not_judged_where_the_code_already_fails_at_ordinary_logits(
    mistake: str, tmp_path: Path
) -> None:
    """Whether the code raises there (complex_forward's backward does) or
    returns a wrong AL and gradients, its failure at large logits says nothing
    about stability: the unstable δ is for after that mistake is mended. The
    same style without the mistake fails. (A mistake a case can hide, as
    square layers hide an untransposed W, is judged on the cases that hide it.)"""
    from tests.styles import Student, Style, inject

    style = Style.parse(UNSTABLE_STYLE)
    found = {}
    for name, student in [("correct", Student(style)), (mistake, inject(mistake, style))]:
        assert student is not None
        path = tmp_path / f"{name}.py"
        path.write_text(student.source())
        results = run_checks(path, check_ids=["gradient_values", "numerical_stability"])
        found[name] = {r.status for r in results if r.id == "numerical_stability"}
        if name == mistake:
            failing = {r.name: r for r in results if r.status in ("failed", "error")}
            assert any(r.id == "gradient_values" for r in failing.values())
            for result in results:  # each says what of gradient_values' claim fails there
                if result.id == "numerical_stability" and result.status == "not_judged":
                    shown = failing[result.name.replace("numerical_stability", "gradient_values")]
                    assert f"checks ({shown.message.splitlines()[0]})" in result.message
    assert "failed" in found["correct"]
    assert found[mistake] <= {"not_judged", "passed"} and "not_judged" in found[mistake]


def test_stability_is_not_judged_for_what_keeps_gradient_values_from_judging(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Where gradient_values cannot judge the ordinary case (gradients that break
    the contract there), numerical_stability's failure at large logits is not
    judged either, for the same reason and pointing at the same check: not at
    gradient_values, which is not judged itself."""
    import dataclasses

    from bpcheck.checks import stability
    from bpcheck.checks._base import CheckNotJudged
    from tests.styles import Student, Style

    blocked = "not judged: backward() returns gradients that break the contract (see gradient_shapes[x])"

    def cannot_judge(context: object, case: object) -> None:
        raise CheckNotJudged(blocked)

    monkeypatch.setattr(
        stability, "gradient_values", dataclasses.replace(stability.gradient_values, body=cannot_judge)
    )
    path = tmp_path / "unstable.py"
    path.write_text(Student(Style.parse(UNSTABLE_STYLE)).source())
    results = run_checks(path, check_ids=["numerical_stability"])
    assert {r.status for r in results} <= {"not_judged", "passed"}
    assert all(r.message == blocked for r in results if r.status == "not_judged")
    assert any(r.status == "not_judged" for r in results)


def test_an_unstable_softmax_gets_the_hint() -> None:
    results = run_checks(HERE / "buggy_unstable_softmax_1.py", check_ids=["numerical_stability"])
    failed = [result for result in results if result.status == "failed"]
    assert failed and all("subtract each column's max" in result.message for result in failed)


@pytest.mark.parametrize(
    "name", ["buggy_transposed_weight_gradient_1", "buggy_bias_not_summed_over_batch_1"]
)
def test_a_shape_mistake_is_reported_once_by_gradient_shapes(name: str) -> None:
    results = run_checks(
        HERE / f"{name}.py", check_ids=["gradient_shapes", "gradient_values", "repeatable", "bias_batch_sum"]
    )
    assert any(r.id == "gradient_shapes" and r.status == "failed" for r in results)
    others = [r for r in results if r.id != "gradient_shapes"]
    judged_not = {r.id for r in others if r.status == "not_judged"}
    assert judged_not == {"gradient_values", "repeatable", "bias_batch_sum"}
    # On square layers a transposed dW has the right shape and wrong values: a value failure.
    assert not any("shape" in r.message for r in others if r.status == "failed")


@pytest.mark.parametrize(
    ("returned", "dtype", "mistake"),
    [
        ("np.rint(v).astype(int)", "int64", "integer_gradients"),
        ("v > 0", "bool", "integer_gradients"),
        ("v + 0j", "complex128", "complex_gradients"),  # right real parts
        ("v.astype(np.complex64)", "complex64", "complex_gradients"),
    ],
)
def test_gradients_not_real_floats_fail_gradient_shapes_named_by_their_dtype(
    tmp_path: Path, returned: str, dtype: str, mistake: str
) -> None:
    student = tmp_path / "typed.py"
    student.write_text(
        "import numpy as np\nimport bpcheck_reference as r\nforward = r.forward\n"
        "def backward(*args):\n"
        f"    return {{k: {returned} for k, v in r.backward(*args).items()}}\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no complex value cast to real on the way
        results = run_checks(student, check_ids=["gradient_shapes"])
    assert all(result.status == "failed" for result in results)
    assert f"dtype {dtype}; gradients must be real floating point" in results[0].message
    assert [d["mistake"] for d in results[0].diagnoses] == [mistake]


@pytest.mark.parametrize(
    ("returned", "named"),
    [
        ("AL + 0j", ["complex_forward"]),  # right values: only the dtype is wrong
        ("AL.astype(np.complex64)", ["complex_forward"]),
        ("2 * AL + 0j", ["complex_forward", "forward_mismatch"]),  # wrong values too
        ("2 * AL", ["forward_mismatch"]),
    ],
)
def test_a_complex_forward_pass_is_named_for_its_dtype_and_its_values_on_their_own(
    tmp_path: Path, returned: str, named: list[str]
) -> None:
    """A complex AL (a complex step left in forward) is complex_forward, with the
    gradients it makes complex not named again; forward_mismatch only when its
    real part is wrong too."""
    student = tmp_path / "complex_forward.py"
    student.write_text(
        "import numpy as np\nimport bpcheck_reference as r\n"
        "def forward(params, X, activations):\n"
        "    AL, cache = r.forward(params, X, activations)\n"
        f"    return {returned}, cache\n"
        "def backward(params, cache, Y, activations, loss):\n"
        "    grads = r.backward(params, cache, Y, activations, loss)\n"
        f"    return {{k: v + 0j for k, v in grads.items()}} if '0j' in {returned!r} else grads\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no complex value cast to real on the way
        results = run_checks(student, check_ids=["forward", "gradient_shapes"])
    assert all(result.status == "failed" for result in results if result.id == "forward")
    for result in results:
        if result.status == "failed":
            assert sorted(d["mistake"] for d in result.diagnoses) == named, result.name


def test_a_complex_forward_pass_is_named_where_backward_then_raises(tmp_path: Path) -> None:
    """Complex activations written into float gradient buffers make backward
    raise: the failures are named complex_forward, read off forward() alone."""
    student = tmp_path / "complex_buffers.py"
    student.write_text(
        "import numpy as np\nimport bpcheck_reference as r\n"
        "def forward(params, X, activations):\n"
        "    AL, cache = r.forward(params, X, activations)\n"
        "    return AL + 0j, cache\n"
        "def backward(params, cache, Y, activations, loss):\n"
        "    grads = {k: np.zeros(v.shape) for k, v in r.backward(params, cache, Y, activations, loss).items()}\n"
        "    grads['dW1'] += np.ones(grads['dW1'].shape) * 1j\n"
        "    return grads\n"
    )
    results = run_checks(student, check_ids=["forward", "gradient_shapes"])
    assert {result.status for result in results} == {"failed", "error"}
    for result in results:
        assert [d["mistake"] for d in result.diagnoses] == ["complex_forward"], result.name
        assert not any("could not diagnose" in note for note in result.notes)


def test_a_worked_example_at_a_kink_shows_no_finite_difference_figure(tmp_path: Path) -> None:
    """Problem 4 puts z = 0 into a ReLU on purpose: a ReLU′(0) of ½ (neither
    accepted convention) fails it, and its table leaves the finite-difference
    column empty and says why."""
    source = (HERE / "correct_relu_ge0.py").read_text()
    assert "return dA * (Z >= 0)" in source
    student = tmp_path / "half_at_zero.py"
    student.write_text(source.replace("return dA * (Z >= 0)", "return dA * np.where(Z == 0, 0.5, Z > 0)"))
    [result] = run_checks(student, check_ids=["worked_examples"])
    assert result.status == "failed" and "Problem 4" in result.message
    assert result.layers and all(row.error_vs_finite_differences is None for row in result.layers)
    assert any("kink" in note for note in result.notes)


def test_stability_is_not_judged_where_the_gradients_carry_state_over(tmp_path: Path) -> None:
    """The call at large logits comes after others on the same case: code whose
    gradients accumulate across calls fails there by what it carried over,
    whatever its δ. numerical_stability is then not judged, pointing at
    repeatable (before, it failed on the linear families, named nothing, and
    the stress corpus left the run unnamed); the accumulation is named."""
    from tests.styles import Style, inject
    from tests.styles._run import run

    style = Style.parse(UNSTABLE_STYLE.replace("with_biases", "no_biases"))
    student = inject("gradient_accumulates_across_calls", style)
    assert student is not None
    options = RunOptions(
        profile="grade", seed=0, max_examples=10, hidden_activations=("linear",), losses=("bce", "cce")
    )
    outcome = run(student, tmp_path, options)
    stability = [r for r in outcome.report.checks if r.id == "numerical_stability"]
    assert stability and all(r.status == "not_judged" for r in stability)
    assert all("what repeatable[" in r.message for r in stability)
    assert outcome.naming == "named right", outcome.named
