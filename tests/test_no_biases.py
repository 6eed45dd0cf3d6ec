"""Networks without biases (z = W a): the checks that once moved a bias to make
their case (a dead unit, large logits, a kink-free ReLU) do it through the
weights, and still fail the mistakes they target; nothing asks for a db."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import bpcheck_reference as reference
import numpy as np
import pytest

from bpcheck import Architecture, Case, InProcessStudent, RunOptions, RunReport, get_plugin_manager
from bpcheck._errors import ConfigError
from bpcheck._scope import Scope, scope_from_settings
from bpcheck.checks.gating import SATURATED, gated_case
from bpcheck.checks.stability import LARGE_LOGIT, amplification, large_logit_case
from bpcheck.diagnosis import BUILTIN_MISTAKES, diagnose
from bpcheck.strategies import repair_kinks
from tests.adapters.table import COURSES, Course, courses, run
from tests.styles import Student, Style
from tests.styles._run import run as run_style

CORRECT = COURSES / "functional_no_biases.py"
OPTIONS = RunOptions(profile="grade", seed=0, max_examples=8)


def edited(tmp_path: Path, *replacements: dict[str, str], module: Path = CORRECT) -> Path:
    """``module`` (the correct bias-free one) with each of ``replacements`` made
    in turn, as tmp_path/student.py."""
    source = module.read_text()
    for made in replacements:
        for old, new in made.items():
            assert old in source, old
            source = source.replace(old, new)
    path = tmp_path / "student.py"
    path.write_text(source)
    return path


def graded(tmp_path: Path, replacements: dict[str, str], families: tuple[str, str]) -> RunReport:
    """The correct bias-free module with ``replacements`` made, graded on one family."""
    path = edited(tmp_path, replacements)
    course = Course(path, "functional", None, scope={"biases": False}, families=((families[0],), (families[1],)))
    return run(course, OPTIONS)


def status(report: RunReport, check: str) -> set[str]:
    return {result.status for result in report.checks if result.id == check}


def case_of(widths: tuple[int, ...], activations: tuple[str, ...], loss: str, batch: int, seed: int = 0) -> Case:
    rng = np.random.default_rng(seed)
    architecture = Architecture(widths, activations, loss, biases=False)
    params = {f"W{l}": rng.normal(0, 1, (widths[l], widths[l - 1])) for l in range(1, len(widths))}
    X = rng.normal(0, 1, (widths[0], batch))
    Y = np.eye(widths[-1])[:, rng.integers(0, widths[-1], batch)] if loss == "cce" else rng.integers(0, 2, (widths[-1], batch)).astype(float)
    return repair_kinks(Case(architecture, params, X, Y))


def test_the_reference_without_biases_is_z_equals_w_a_and_owes_no_db() -> None:
    case = case_of((3, 4, 2), ("tanh", "softmax"), "cce", 5)
    AL, cache = reference.forward(case.params, case.X, case.architecture.activations)
    assert np.allclose(cache["Z1"], case.params["W1"] @ case.X)
    grads = reference.backward(case.params, cache, case.Y, case.architecture.activations, "cce")
    assert set(grads) == {"dW1", "dW2"} == {f"d{name}" for name in case.architecture.parameter_shapes()}


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_a_unit_is_gated_through_its_weights(activation: str) -> None:
    case = case_of((3, 4, 4, 1), (activation, activation, "sigmoid"), "bce", 3)
    gated = gated_case(case)
    assert gated is not None and set(gated.params) == set(case.params)
    _, cache = reference.forward(gated.params, gated.X, gated.architecture.activations)
    Z = np.concatenate([cache["Z1"], cache["Z2"]])
    dead = np.all(Z < 0, axis=1) if activation == "relu" else np.all(np.abs(Z) > SATURATED, axis=1)
    assert dead.any()


@pytest.mark.parametrize(
    "X",
    [
        [[1.0, -1.0]],  # one input, examples of both signs: no w makes w·x < 0 for both
        [[1.0, 1e-3], [1.0, -1e-3]],  # only with terms 1000 × their sum, which float32 rounds off
    ],
)
def test_a_batch_no_weights_can_gate_well_is_passed_over(X: list[list[float]]) -> None:
    inputs = np.array(X)
    case = case_of((inputs.shape[0], 1, 1), ("relu", "sigmoid"), "bce", inputs.shape[1])
    assert gated_case(Case(case.architecture, case.params, inputs, case.Y)) is None


@pytest.mark.parametrize(("output", "loss"), [("softmax", "cce"), ("sigmoid", "bce")])
def test_large_logits_come_from_scaled_output_weights(output: str, loss: str) -> None:
    case = case_of((3, 4, 2), ("relu", output), loss, 3)
    large = large_logit_case(case)
    _, cache = reference.forward(large.params, large.X, large.architecture.activations)
    assert np.isclose(np.abs(cache["Z2"]).max(), LARGE_LOGIT)
    ratio = large.params["W2"] / case.params["W2"]
    assert np.allclose(ratio, ratio.flat[0]) and ratio.flat[0] > 1
    assert np.array_equal(large.params["W1"], case.params["W1"])


def test_the_correct_module_earns_every_check_that_applies(tmp_path: Path) -> None:
    report = graded(tmp_path, {}, ("relu", "cce"))
    ran = {result.id for result in report.checks if result.status == "passed"}
    assert {"activation_gating", "numerical_stability", "bias_batch_sum", "finite_differences"} <= ran
    assert report.score == report.max_score
    [examples] = [result for result in report.checks if result.id == "worked_examples"]
    assert examples.status == "skipped" and "no biases" in examples.message


def test_a_softmax_without_max_subtraction_fails_numerical_stability(tmp_path: Path) -> None:
    report = graded(tmp_path, {"np.exp(z - z.max(axis=0, keepdims=True))": "np.exp(z)"}, ("relu", "cce"))
    assert status(report, "numerical_stability") == {"failed"}
    assert status(report, "gradient_values") == {"passed"}
    assert "unstable_softmax" in {entry["mistake"] for entry in report.diagnoses}


def test_the_textbook_bce_delta_fails_numerical_stability(tmp_path: Path) -> None:
    textbook = "delta = (AL - Y) / (AL * (1 - AL)) / M * F[activations[-1]][1](cache[f\"Z{L}\"])"
    report = graded(tmp_path, {"delta = (AL - Y) / M": textbook}, ("tanh", "bce"))
    assert status(report, "numerical_stability") == {"failed"}
    assert "unstable_output_delta" in {entry["mistake"] for entry in report.diagnoses}


def test_a_relu_derivative_of_one_fails_activation_gating_and_is_named(tmp_path: Path) -> None:
    report = graded(tmp_path, {"(z > 0).astype(float)": "np.ones_like(z)"}, ("relu", "mse"))
    assert status(report, "activation_gating") == {"failed"}
    [gating] = [result for result in report.checks if result.id == "activation_gating"]
    assert "|dW" in gating.message and "|db" not in gating.message
    assert "missing_activation_derivative" in {entry["mistake"] for entry in report.diagnoses}


def test_a_scope_says_biases_true_or_false() -> None:
    scope = scope_from_settings(Scope(), {"biases": False}, "pyproject.toml [tool.bpcheck]")
    assert not scope.biases and "no biases" in scope.describe()
    assert not scope.admits(Architecture((1, 1), ("linear",), "mse"))
    assert scope.admits(Architecture((1, 1), ("linear",), "mse", biases=False))
    with pytest.raises(ConfigError, match="scope.biases.*true or false"):
        scope_from_settings(Scope(), {"biases": "no"}, "pyproject.toml [tool.bpcheck]")


@pytest.mark.parametrize(
    ("stem", "biases", "expected"),
    [
        ("dlai_deep", False, "true: the dlai adapter runs only networks with biases"),
        ("declarative_no_biases", True, 'false: the declarative adapter runs only networks without biases (its table says bias = "absent")'),
    ],
)
def test_a_scope_the_adapter_cannot_run_is_a_configuration_error(stem: str, biases: bool, expected: str) -> None:
    [course] = [c for c in courses() if c.path.stem == stem]
    overridden = dataclasses.replace(course, scope={**(course.scope or {}), "biases": biases})
    with pytest.raises(ConfigError, match="scope.biases") as raised:
        overridden.options(OPTIONS)
    assert expected in str(raised.value)


#: (the mistake made in the correct bias-free module, the family, the mistake named)
MISTAKES = [
    ({"delta @ cache[f\"A{l - 1}\"].T": "cache[f\"A{l - 1}\"] @ delta.T"}, ("relu", "mse"), "transposed_weight_gradient"),
    ({"delta = (AL - Y) / M": "delta = (Y - AL) / M"}, ("tanh", "cce"), "output_delta_sign"),
    ({"delta = 2 * (AL - Y) / M": "delta = (AL - Y) / M"}, ("sigmoid", "mse"), "mse_missing_factor_two"),
    ({"delta = (AL - Y) / M": "delta = AL - Y"}, ("relu", "bce"), "batch_mean_missing"),
    ({"lambda z: 1 - np.tanh(z) ** 2": "lambda z: 1 - z ** 2"}, ("tanh", "mse"), "wrong_activation_derivative"),
    ({"(params[f\"W{l}\"].T @ delta)": "(params[f\"W{l - 1}\"].T @ delta)"}, ("relu", "mse"), "wrong_layer_in_recurrence"),
]


@pytest.mark.parametrize(("replacements", "family", "mistake"), MISTAKES, ids=[m for _, _, m in MISTAKES])
def test_a_classic_mistake_without_biases_is_caught_and_named(
    tmp_path: Path, replacements: dict[str, str], family: tuple[str, str], mistake: str
) -> None:
    report = graded(tmp_path, replacements, family)
    assert report.status == "failed"
    assert mistake in {str(entry["mistake"]) for entry in report.diagnoses}, report.diagnoses


#: Other correct habits, each made in the correct bias-free module.
HABITS = {
    # zero bias gradients and dA keys returned anyway: extra keys are ignored
    "extra keys": {'        grads[f"dW{l}"] = delta @ cache[f"A{l - 1}"].T': (
        '        grads[f"dW{l}"] = delta @ cache[f"A{l - 1}"].T\n'
        '        grads[f"db{l}"] = np.zeros((delta.shape[0], 1))\n'
        '        grads[f"dA{l - 1}"] = params[f"W{l}"].T @ delta'
    )},
    # a cache that is a list of (A_prev, Z) pairs, as deeplearning.ai's caches are
    "list cache": {
        '    cache = {"A0": X}': "    cache = []",
        '        cache[f"Z{l}"], cache[f"A{l}"] = Z, A': "        cache.append((A_prev, Z))",
        "        Z = params[f\"W{l}\"] @ A\n": "        A_prev = A\n        Z = params[f\"W{l}\"] @ A\n",
        "    AL = cache[f\"A{L}\"]": (
            "    cache = {**{f\"A{l}\": a for l, (a, _) in enumerate(cache)},"
            " **{f\"Z{l}\": z for l, (_, z) in enumerate(cache, start=1)}}\n"
            "    AL = forward(params, cache[\"A0\"], activations)[0]\n    cache[f\"A{L}\"] = AL"
        ),
    },
    # the forward in float32, the backward with the float64 parameters
    "float32 forward": {"        Z = params[f\"W{l}\"] @ A\n": "        Z = params[f\"W{l}\"].astype(np.float32) @ A.astype(np.float32)\n"},
}


@pytest.mark.parametrize("habit", HABITS)
@pytest.mark.parametrize("family", [("relu", "cce"), ("tanh", "bce"), ("sigmoid", "mse")], ids="-".join)
def test_other_correct_habits_without_biases_get_full_marks(tmp_path: Path, habit: str, family: tuple[str, str]) -> None:
    report = graded(tmp_path, HABITS[habit], family)
    assert [(r.name, r.message) for r in report.checks if r.status not in ("passed", "skipped")] == []
    assert report.score == report.max_score


def test_a_wrong_forward_pass_is_named_with_its_first_wrong_layer(tmp_path: Path) -> None:
    """Cutting the network after each layer, to find the first wrong one, takes
    only the parameters a network without biases has (there is no b1 to take)."""
    report = graded(tmp_path, {'"tanh": (np.tanh,': '"tanh": (np.sin,'}, ("tanh", "mse"))
    assert status(report, "forward") == {"failed"}
    named = [entry for entry in report.diagnoses if entry["mistake"] == "forward_mismatch"]
    assert named and all(entry["layers"] == [1] for entry in named), report.diagnoses
    assert not any("could not diagnose" in note for result in report.checks for note in result.notes)


GRADIENT = 'grads[f"dW{l}"] = delta @ cache[f"A{l - 1}"].T'
FLOAT32 = COURSES / "functional_no_biases_float32.py"
FLOAT32_GRADIENT = 'grads[f"dW{l}"] += delta @ a[f"A{l - 1}"].T'
LINEAR = '"linear": (lambda z: z, lambda z: np.ones_like(z)),'
ONE_LAYER_MSE = [case_of((1, 1), ("linear",), "mse", 1), case_of((2, 2), ("sigmoid",), "mse", 3)]
ONE_LAYER_CCE = [case_of((2, 3), ("softmax",), "cce", 3)]


def _scaled(gradient: str, factor: str, layer: str = "1") -> dict[str, str]:
    return {gradient: gradient.replace(" delta", f" ({factor} if l == {layer} else 1.0) * delta", 1)}


#: (module, the mistake made in it, one-layer cases, the mistake named there)
ONE_TENSOR = {
    "dW1 times 0.5": (CORRECT, _scaled(GRADIENT, "0.5"), ONE_LAYER_MSE, "scaled_gradient_tensor"),
    "dWL times 0.5": (CORRECT, _scaled(GRADIENT, "0.5", "L"), ONE_LAYER_MSE, "scaled_gradient_tensor"),
    "dW1 times -1": (CORRECT, _scaled(GRADIENT, "-1.0"), ONE_LAYER_MSE + ONE_LAYER_CCE, "scaled_gradient_tensor"),
    "mse without its 2": (CORRECT, {"delta = 2 * (AL - Y) / M": "delta = (AL - Y) / M"}, ONE_LAYER_MSE, "mse_missing_factor_two"),
    "y minus y-hat": (CORRECT, {"(AL - Y)": "(Y - AL)"}, ONE_LAYER_MSE + ONE_LAYER_CCE, "output_delta_sign"),
    # a second mistake, in the recurrence, shows on two layers only: the first is still named
    "mse without its 2, W untransposed": (
        CORRECT,
        {"delta = 2 * (AL - Y) / M": "delta = (AL - Y) / M", 'params[f"W{l}"].T @ delta': 'params[f"W{l}"] @ delta'},
        ONE_LAYER_MSE,
        "mse_missing_factor_two",
    ),
    # a power of M is not a uniform factor, even where the cases' batches are the same
    "dWL times M": (CORRECT, _scaled(GRADIENT, "M", "L"), [case_of((1, 1), ("linear",), "mse", 4)], "batch_mean_missing"),
    # code whose hidden layers are ReLU whatever it is asked (as many course classes are)
    # is run with a relu hidden layer: the ones it computes wrongly forward are passed over
    "dW1 times -1, ReLU hidden layers only": (
        CORRECT,
        {
            **_scaled(GRADIENT, "-1.0"),
            "else F[name][0](": 'else F[name if l == len(activations) else "relu"][0](',
            "* F[activations[l - 2]][1](": '* F["relu"][1](',
        },
        ONE_LAYER_CCE,
        "scaled_gradient_tensor",
    ),
    # code that has no linear activation is run with a tanh hidden layer instead
    "dW1 times 0.5, no linear": (CORRECT, {**_scaled(GRADIENT, "0.5"), LINEAR: ""}, ONE_LAYER_MSE[1:], "scaled_gradient_tensor"),
    "float32, dW1 times 0.5": (FLOAT32, _scaled(FLOAT32_GRADIENT, "0.5"), ONE_LAYER_MSE, "scaled_gradient_tensor"),
    "float32, mse without its 2": (
        FLOAT32, {"delta = 2 * (AL - Y[:, m : m + 1]) / M": "delta = (AL - Y[:, m : m + 1]) / M"}, ONE_LAYER_MSE, "mse_missing_factor_two",
    ),
}


@pytest.mark.parametrize(
    ("mistake", "case"),
    [(mistake, case) for mistake, (_, _, cases, _) in ONE_TENSOR.items() for case in cases],
    ids=[f"{mistake}-{case.describe()}" for mistake, (_, _, cases, _) in ONE_TENSOR.items() for case in cases],
)
def test_on_one_gradient_tensor_a_factor_of_one_tensor_is_told_from_a_factor_of_all(tmp_path: Path, mistake: str, case: Case) -> None:
    """On a one-layer network without biases, dW1 is every gradient: dW1 halved
    and the mse gradient without its 2 give the same numbers there. A case with
    a hidden layer added tells them apart, and the finding says so."""
    module, replacements, _, named = ONE_TENSOR[mistake]
    path = edited(tmp_path, replacements, module=module)
    records = diagnose("gradient_values", case, "", InProcessStudent(str(path), get_plugin_manager()), BUILTIN_MISTAKES)
    assert [(record["mistake"], record["confidence"]) for record in records] == [(named, "high")]
    if named == "scaled_gradient_tensor":
        hidden = "tanh" if LINEAR in replacements else "relu" if "ReLU hidden" in mistake else "linear"
        assert f" {hidden} → " in records[0]["evidence"], records[0]["evidence"]
        assert "alone is" in records[0]["evidence"]


@pytest.mark.parametrize("case", ONE_LAYER_MSE + ONE_LAYER_CCE, ids=lambda case: case.describe())
def test_gradients_rounded_to_integers_are_not_a_tensor_scaled_by_zero(tmp_path: Path, case: Case) -> None:
    """Rounded to integers, a gradient whose entries are below 1 is all zeros: 0 ×
    the reference's, which is not a constant factor on that tensor."""
    path = edited(tmp_path, {GRADIENT: GRADIENT.replace("= delta", "= (delta") + ").astype(int)"})
    records = diagnose("gradient_shapes", case, "", InProcessStudent(str(path), get_plugin_manager()), BUILTIN_MISTAKES)
    assert [record["mistake"] for record in records] == ["integer_gradients"]


SIGMOID_PRIME = "lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2"
#: (the mistake made in the correct bias-free module, the mistake named on one sigmoid hidden layer)
ONE_HIDDEN_LAYER = {
    "σ′ doubled": ({SIGMOID_PRIME: SIGMOID_PRIME.replace("np.exp(-z) /", "2 * np.exp(-z) /", 1)}, "wrong_activation_derivative"),
    "dW1 doubled": (_scaled(GRADIENT, "2.0"), "scaled_gradient_tensor"),
}


@pytest.mark.parametrize("mistake", ONE_HIDDEN_LAYER)
def test_without_biases_an_f_prime_times_c_is_told_from_dw1_times_c(tmp_path: Path, mistake: str) -> None:
    """With one hidden layer and no biases, σ′ written twice too large and dW1
    doubled both make dW1 alone 2 × the reference's. With the hidden layer
    doubled, the f′ scales dW2 by 2 and dW1 by 4, the scaled tensor dW1 alone."""
    replacements, named = ONE_HIDDEN_LAYER[mistake]
    case = case_of((2, 3, 2), ("sigmoid", "linear"), "mse", 3)
    records = diagnose("gradient_values", case, "", InProcessStudent(str(edited(tmp_path, replacements)), get_plugin_manager()), BUILTIN_MISTAKES)
    assert [record["mistake"] for record in records] == [named]


#: (a mistake of ONE_TENSOR or ONE_HIDDEN_LAYER, the case it is told apart on)
TOLD_APART = {
    "dW1 times 0.5": ONE_LAYER_MSE[1],
    "mse without its 2": ONE_LAYER_MSE[1],
    "σ′ doubled": case_of((2, 3, 2), ("sigmoid", "linear"), "mse", 3),
    "dW1 doubled": case_of((2, 3, 2), ("sigmoid", "linear"), "mse", 3),
}


@pytest.mark.parametrize("habit", HABITS)
@pytest.mark.parametrize("mistake", TOLD_APART)
def test_a_factor_on_one_tensor_is_told_apart_whatever_the_correct_habits(tmp_path: Path, habit: str, mistake: str) -> None:
    """The deeper cases that tell one scaled tensor from a uniform factor or a
    scaled f′ see the gradients as the contract keys them: extra keys returned,
    a list cache or a float32 forward change nothing of what is named."""
    if mistake in ONE_HIDDEN_LAYER:
        replacements, named = ONE_HIDDEN_LAYER[mistake]
    else:
        _, replacements, _, named = ONE_TENSOR[mistake]
    path = edited(tmp_path, HABITS[habit], replacements)
    records = diagnose("gradient_values", TOLD_APART[mistake], "", InProcessStudent(str(path), get_plugin_manager()), BUILTIN_MISTAKES)
    assert [record["mistake"] for record in records] == [named]


def test_float32_round_off_that_the_backward_pass_amplifies_is_no_instability(tmp_path: Path) -> None:
    """Found by the false-alarm campaign (seed 10000): without biases, large logits
    come from output weights scaled up (W3 entries near 1e4 here), and in the
    recurrence below them the sums cancel, so a float32 forward's round-off
    reaches dW1 as a relative error of 0.1 on correct code. numerical_stability
    allows each gradient the round-off its backward pass amplifies."""
    style = Style.parse(
        "dict_cache.per_example.batch_first.einsum.float32_forward.sigmoid_exp.fused_delta."
        "relu_prime0.fprime_of_z.extra_dA.separate_arrays.with_loss.with_update."
        "mean_in_gradients.logsumexp.listed_layers.output_in_loop.no_biases"
    )
    options = RunOptions(profile="grade", seed=10000, hidden_activations=("relu",), losses=("cce",))
    outcome = run_style(Student(style), tmp_path, options)
    assert [(result.name, result.message) for result in outcome.false_alarms] == []


def test_the_round_off_a_backward_pass_amplifies_is_large_where_its_sums_cancel() -> None:
    """dW3 = δ³ a²ᵀ has nothing to cancel; dW1 sums W2ᵀ (W3ᵀ δ³) over units whose
    terms cancel to a thousandth of their size."""
    W2 = np.array([[1.0], [-1.0], [-1.0], [-1.0], [-1.0], [1.0], [1.340215]])
    W3 = np.array([[-3366.945921, -4244.367668, 3350.771741, 2441.290823, 721.087719, -6364.88033, -200.097521],
                   [4756.231717, -9195.119359, -3130.327337, -13005.342084, -8821.101854, -12598.415584, -1608.144336]])  # fmt: skip
    case = Case(
        Architecture((1, 1, 7, 2), ("relu", "relu", "softmax"), "cce", biases=False),
        {"W1": np.array([[0.368644]]), "W2": W2, "W3": W3},
        np.array([[-1.267446, 0.271264]]),
        np.eye(2),
    )
    factors = amplification(case, 1e-2)
    assert factors["dW3"] < 10 < 1000 < factors["dW1"]
