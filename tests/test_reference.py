"""The reference replays the lesson's worked examples and agrees with finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

import bpcheck_reference as reference
from bpcheck import strategies
from bpcheck._numerics import CENTRAL, finite_difference_probes, finite_differences, relative_error
from bpcheck.checks.examples import EXAMPLE_1, EXAMPLE_2, PROBLEM_4


def gradients(example):  # type: ignore[no-untyped-def]
    case = example.case
    activations = case.architecture.activations
    AL, cache = reference.forward(case.params, case.X, activations)
    return AL, reference.backward(case.params, cache, case.Y, activations, case.architecture.loss)


def test_example_1_forward_and_backward_give_the_lessons_numbers() -> None:
    AL, grads = gradients(EXAMPLE_1)
    assert AL.item() == 7.0
    assert reference.compute_loss(AL, EXAMPLE_1.case.Y, "mse") == 9.0
    assert {key: value.item() for key, value in grads.items()} == {
        "dW2": -12.0,
        "db2": -6.0,
        "dW1": -18.0,
        "db1": -18.0,
    }


def test_example_2_single_sigmoid_neuron_with_bce() -> None:
    AL, grads = gradients(EXAMPLE_2)
    assert AL.item() == pytest.approx(0.7311, abs=1e-4)
    assert reference.compute_loss(AL, EXAMPLE_2.case.Y, "bce") == pytest.approx(1.313, abs=1e-3)
    assert grads["dW1"].item() == pytest.approx(1.4622, abs=1e-4)
    assert grads["db1"].item() == pytest.approx(0.7311, abs=1e-4)


def test_problem_4_uses_relu_prime_of_zero_equal_to_zero() -> None:
    _, grads = gradients(PROBLEM_4)
    np.testing.assert_allclose(grads["db3"].ravel(), [0.5, -0.3])
    np.testing.assert_allclose(grads["db2"].ravel(), [0.8, 0.0, 0.0])


def test_example_3_shapes_for_a_64_to_128_layer_with_batch_32() -> None:
    rng = np.random.default_rng(0)
    params = {"W1": rng.normal(size=(128, 64)), "b1": np.zeros((128, 1))}
    X, Y = rng.normal(size=(64, 32)), rng.normal(size=(128, 32))
    AL, cache = reference.forward(params, X, ["tanh"])
    grads = reference.backward(params, cache, Y, ["tanh"], "mse")
    assert cache["Z1"].shape == (128, 32)
    assert grads["dW1"].shape == (128, 64)
    assert grads["db1"].shape == (128, 1)


def test_problem_5_all_linear_network_collapses_to_one_affine_map() -> None:
    rng = np.random.default_rng(1)
    params = {"W1": rng.normal(size=(4, 3)), "b1": rng.normal(size=(4, 1))}
    params |= {"W2": rng.normal(size=(2, 4)), "b2": rng.normal(size=(2, 1))}
    X = rng.normal(size=(3, 5))
    AL, _ = reference.forward(params, X, ["linear", "linear"])
    W_eff, b_eff = params["W2"] @ params["W1"], params["W2"] @ params["b1"] + params["b2"]
    np.testing.assert_allclose(AL, W_eff @ X + b_eff)


@settings(max_examples=150, derandomize=True, deadline=None, database=None)
@given(strategies.cases())
def test_reference_gradients_match_central_differences(case) -> None:  # type: ignore[no-untyped-def]
    activations, loss = case.architecture.activations, case.architecture.loss
    _, cache = reference.forward(case.params, case.X, activations)
    analytic = reference.backward(case.params, cache, case.Y, activations, loss)
    epsilon = 1e-5
    losses = []
    for probe in finite_difference_probes(case.params, CENTRAL, epsilon):
        params = {name: value.copy() for name, value in case.params.items()}
        params[probe.parameter].flat[probe.index] += probe.delta
        losses.append(reference.compute_loss(reference.forward(params, case.X, activations)[0], case.Y, loss))
    numeric = finite_differences(case.params, np.array(losses), CENTRAL, epsilon)
    for key, value in analytic.items():
        assert relative_error(value, numeric[key]) < 1e-6, key


def test_update_is_a_gradient_step_that_leaves_its_inputs_alone() -> None:
    params = {"W1": np.ones((2, 2)), "b1": np.zeros((2, 1))}
    grads = {"dW1": np.full((2, 2), 2.0), "db1": np.ones((2, 1))}
    new = reference.update(params, grads, 0.5)
    np.testing.assert_array_equal(new["W1"], np.zeros((2, 2)))
    np.testing.assert_array_equal(new["b1"], np.full((2, 1), -0.5))
    np.testing.assert_array_equal(params["W1"], np.ones((2, 2)))


def test_softmax_and_sigmoid_stay_finite_for_logits_of_a_thousand() -> None:
    softmax, _ = reference.ACTIVATIONS["softmax"]
    sigmoid, _ = reference.ACTIVATIONS["sigmoid"]
    z = np.array([[1000.0, -1000.0], [999.0, -1001.0]])
    assert np.all(np.isfinite(softmax(z)))
    np.testing.assert_allclose(softmax(z).sum(axis=0), 1.0)
    np.testing.assert_array_equal(sigmoid(np.array([1000.0, -1000.0])), [1.0, 0.0])


@pytest.mark.filterwarnings("error")  # no complex value cast to real
def test_relative_error_counts_imaginary_parts_and_matches_numpys_norm() -> None:
    rng = np.random.default_rng(0)
    got, expected = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    numpy_figure = np.linalg.norm(got - expected) / (np.linalg.norm(got) + np.linalg.norm(expected))
    assert relative_error(got, expected) == pytest.approx(numpy_figure, rel=1e-12)
    assert relative_error(got + 0j, got) == 0.0
    shifted = got + 1j * expected
    complex_figure = np.linalg.norm(shifted - got) / (np.linalg.norm(shifted) + np.linalg.norm(got))
    assert relative_error(shifted, got) == pytest.approx(complex_figure, rel=1e-12)
    assert relative_error(got, -got) == pytest.approx(1.0)
