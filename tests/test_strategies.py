"""bpcheck.strategies: argument validation, the cases bugs need, kink repair, valid targets."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import bpcheck_reference as reference
from bpcheck import Architecture, Case, strategies

DETERMINISTIC = settings(derandomize=True, database=None, deadline=None)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: strategies.architectures(min_depth="x"), "Expected int but got min_depth='x' (type=str)"),
        (lambda: strategies.architectures(min_depth=3, max_depth=2), "min_depth=3 is larger than max_depth=2"),
        (lambda: strategies.architectures(min_depth=0), "min_depth=0 must be at least 1"),
        (lambda: strategies.architectures(max_width=1.5), "Expected int but got max_width=1.5 (type=float)"),
        (lambda: strategies.architectures(min_width=True), "Expected int but got min_width=True (type=bool)"),
        (lambda: strategies.architectures(hidden_activations=["swish"]), "contains unknown 'swish'"),
        (lambda: strategies.architectures(hidden_activations="relu"), "Expected a sequence of names"),
        (lambda: strategies.architectures(hidden_activations=["softmax"]), "contains unknown 'softmax'"),
        (lambda: strategies.architectures(losses=[]), "losses=[] is empty"),
        (lambda: strategies.architectures(losses=["hinge"]), "contains unknown 'hinge'"),
        (lambda: strategies.architectures(losses=["cce"], max_width=1), "no valid output layer"),
        (lambda: strategies.architectures(losses=["bce"], output_activations=["linear"]), "no valid output layer"),
        (lambda: strategies.batch_sizes(min_size=0), "min_size=0 must be at least 1"),
        (lambda: strategies.batch_sizes(min_size=5, max_size=4), "min_size=5 is larger than max_size=4"),
        (lambda: strategies.targets("cce", 1, 3), "width=1 must be at least 2"),
        (lambda: strategies.targets("mae", 2, 3), "contains unknown 'mae'"),
        (lambda: strategies.parameters((2, 3)), "Expected Architecture but got architecture=(2, 3)"),
        (lambda: strategies.cases(architecture=Architecture((1, 1), ("linear",), "mse")), "Expected a strategy"),
        (lambda: strategies.cases(kink_margin=-1), "kink_margin=-1 must be a number ≥ 0"),
        (lambda: strategies.architectures(biases="no"), "Expected bool but got biases='no' (type=str)"),
    ],
)
def test_bad_arguments_are_rejected_with_a_formula(make: Any, message: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        strategy = make()
        strategy.validate()
    assert message in str(raised.value)


def draws(strategy: st.SearchStrategy[Any], count: int = 300) -> list[Any]:
    seen: list[Any] = []

    @settings(DETERMINISTIC, max_examples=count)
    @given(strategy)
    def collect(value: Any) -> None:
        seen.append(value)

    collect()
    return seen


def test_defaults_draw_depth_1_to_4_widths_1_to_8_batches_1_to_8() -> None:
    cases = draws(strategies.cases())
    assert {case.architecture.depth for case in cases} == {1, 2, 3, 4}
    assert min(min(case.architecture.widths) for case in cases) == 1
    assert max(max(case.architecture.widths) for case in cases) == 8
    assert {case.batch_size for case in cases} == set(range(1, 9))


def test_the_cases_bugs_need_come_up_regularly() -> None:
    cases = draws(strategies.cases())
    square = sum(len(set(case.architecture.widths)) == 1 for case in cases)
    deep = sum(case.architecture.depth >= 3 for case in cases)
    batched = sum(case.batch_size >= 2 for case in cases)
    assert square >= 0.2 * len(cases)
    assert deep >= 0.2 * len(cases)
    assert batched >= 0.5 * len(cases)


def test_an_instructor_can_restrict_activations_and_losses() -> None:
    cases = draws(strategies.cases(architecture=strategies.architectures(hidden_activations=["tanh"], losses=["cce"])))
    for case in cases:
        assert set(case.architecture.activations[:-1]) <= {"tanh"}
        assert case.architecture.activations[-1] == "softmax"
        assert case.architecture.widths[-1] >= 2


@DETERMINISTIC
@given(strategies.cases(architecture=strategies.architectures(hidden_activations=["relu"], output_activations=["relu", "linear"], losses=["mse"])))
def test_relu_pre_activations_keep_clear_of_the_kink(case: Any) -> None:
    _, cache = reference.forward(case.params, case.X, case.architecture.activations)
    for layer, activation in enumerate(case.architecture.activations, start=1):
        if activation == "relu":
            assert np.abs(cache[f"Z{layer}"]).min() >= strategies.DEFAULT_KINK_MARGIN * (1 - 1e-9)


@DETERMINISTIC
@given(strategies.cases())
def test_shapes_and_targets_respect_the_contract_and_the_loss(case: Any) -> None:
    for name, shape in case.architecture.parameter_shapes().items():
        assert case.params[name].shape == shape
    assert case.X.shape == (case.architecture.widths[0], case.batch_size)
    assert case.Y.shape == (case.architecture.widths[-1], case.batch_size)
    if case.architecture.loss == "bce":
        assert np.all((case.Y >= 0) & (case.Y <= 1))
    if case.architecture.loss == "cce":
        assert np.all(case.Y >= 0)
        np.testing.assert_allclose(case.Y.sum(axis=0), 1.0)


def test_kink_repair_moves_only_biases_that_need_it() -> None:
    architecture = Architecture((1, 2, 1), ("relu", "linear"), "mse")
    params = {
        "W1": np.array([[1.0], [1.0]]),
        "b1": np.array([[0.01], [3.0]]),
        "W2": np.ones((1, 2)),
        "b2": np.zeros((1, 1)),
    }
    case = strategies.repair_kinks(
        __import__("bpcheck").Case(architecture, params, np.array([[0.0, 1.0]]), np.zeros((1, 2))), margin=0.05
    )
    assert case.params["b1"][1, 0] == 3.0
    assert abs(case.params["b1"][0, 0]) >= 0.05 and abs(case.params["b1"][0, 0] - 0.01) <= 0.05


def test_networks_without_biases_have_no_b_and_no_relu_kink() -> None:
    """Kink repair moves weights where there is no bias, and a case it cannot
    clear (a unit whose inputs are all about 0, so that no capped change of
    weight moves it) is not drawn: every ReLU pre-activation is at least the
    margin from 0, but where a dead layer below gives it inputs of exactly 0."""
    drawn = draws(
        strategies.cases(
            architecture=strategies.architectures(hidden_activations=["relu"], min_depth=2, biases=False)
        ),
        count=150,
    )
    assert all(not case.architecture.biases and set(case.params) == {f"W{l}" for l in range(1, case.architecture.depth + 1)} for case in drawn)
    repaired = 0
    for case in drawn:
        _, cache = reference.forward(case.params, case.X, case.architecture.activations)
        for layer, activation in enumerate(case.architecture.activations, start=1):
            if activation != "relu":
                continue
            Z, dead_below = cache[f"Z{layer}"], np.all(cache[f"A{layer - 1}"] == 0, axis=0)
            near = np.abs(Z) < strategies.DEFAULT_KINK_MARGIN * (1 - 1e-9)
            assert not np.any(near & ~dead_below), (case.describe(), Z)  # repaired, or not drawn
            repaired += int(np.any(np.abs(Z) < 1.0))
    assert repaired > 20  # the margin was tested, not passed by luck


def test_kink_repair_without_biases_changes_the_fewest_weights_by_the_least() -> None:
    X = np.array([[1.0, 2.0, -1.0], [0.5, 0.0, 1.0]])
    W1 = np.array([[0.02, 0.3], [1.0, 2.0]])  # unit 0: z = 0.17, 0.04, 0.28 (0.04 near the kink)
    case = Case(Architecture((2, 2, 1), ("relu", "linear"), "mse", biases=False), {"W1": W1, "W2": np.ones((1, 2))}, X, np.zeros((1, 3)))
    repaired = strategies.repair_kinks(case)
    changed = repaired.params["W1"] - W1
    assert np.count_nonzero(changed) == 1 and 0 < np.abs(changed).max() <= strategies.MAX_WEIGHT_SHIFT
    assert np.all(np.abs(repaired.params["W1"] @ X) >= strategies.DEFAULT_KINK_MARGIN * (1 - 1e-9))
    assert np.array_equal(repaired.params["W2"], case.params["W2"])
