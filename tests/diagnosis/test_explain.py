"""The mutant search: injected mistakes are found, the reference explains itself, noise is not explained."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bpcheck import strategies
from bpcheck._contract import Case
from bpcheck.checks import reference_gradients
from bpcheck.diagnosis._explain import Observation, explain, replay
from bpcheck.diagnosis._mutants import Injection, mutant_deltas
from bpcheck.diagnosis._views import VIEWS

TOLERANCE = 1e-6
QUICK = settings(max_examples=25, derandomize=True, deadline=None)


def square_cases(**kwargs: object) -> st.SearchStrategy[Case]:
    """Cases with every width 3 and a batch of 3, so that no mistake is invisible by size."""
    return strategies.cases(
        architecture=strategies.architectures(min_width=3, max_width=3, **kwargs),  # type: ignore[arg-type]
        batch_size=st.just(3),
    )


def predicted(
    case: Case,
    injection: Injection,
    weight_view: str = "δ aᵀ",
    bias_view: str = "δ summed over the batch",
) -> dict:
    """The gradients of the reference with ``injection`` made, formed with those views;
    assumed to differ from the reference's (a mistake can be invisible on a case)."""
    deltas = mutant_deltas(case, (injection,))
    grads = {}
    for layer, delta in deltas.delta.items():
        A = deltas.cache[f"A{layer - 1}"]
        grads[f"dW{layer}"] = VIEWS[weight_view].form(delta, A)
        grads[f"db{layer}"] = VIEWS[bias_view].form(delta, A)
    _, expected = reference_gradients(case)
    assume(
        any(
            grads[key].shape != value.shape or not np.allclose(grads[key], value, atol=1e-9)
            for key, value in expected.items()
        )
    )
    return grads


def nonzero_reference(case: Case) -> dict:
    """The reference's gradients, assuming they are not all zero (e.g. every output ReLU dead)."""
    _, grads = reference_gradients(case)
    assume(max(float(np.abs(value).max()) for value in grads.values()) > 1e-3)
    return grads


def named(case: Case, grads: dict) -> list[dict]:
    return [explanation.mistakes() for explanation in explain(Observation(case, grads), TOLERANCE)]


def ids(case: Case, grads: dict) -> set[frozenset[str]]:
    """The distinct sets of mistake ids of the simplest explanations."""
    return {frozenset(mistakes) for mistakes in named(case, grads)}


@QUICK
@given(square_cases())
def test_the_reference_is_explained_by_no_mistake(case: Case) -> None:
    _, grads = reference_gradients(case)
    assert named(case, grads) == [{}]


@QUICK
@given(
    square_cases(min_depth=2, hidden_activations=["sigmoid", "tanh"]),
    st.sampled_from(
        [
            "missing_activation_derivative",
            "activation_derivative_of_output",
            "wrong_layer_in_recurrence",
            "gradient_not_propagated",
        ]
    ),
)
def test_a_mistake_injected_in_every_hidden_layer_is_found(case: Case, mistake: str) -> None:
    assert ids(case, predicted(case, Injection(mistake))) == {frozenset([mistake])}


@QUICK
@given(square_cases(min_depth=3, hidden_activations=["tanh"]))
def test_a_mistake_at_one_layer_is_placed_at_that_layer(case: Case) -> None:
    found = named(case, predicted(case, Injection("missing_activation_derivative", 1)))
    assert found == [{"missing_activation_derivative": (1,)}]


@pytest.mark.parametrize(
    ("factor", "mistake"),
    [(-1.0, "output_delta_sign"), (3.0, "batch_mean_missing"), (1 / 3, "batch_mean_applied_twice")],
)
@QUICK
@given(case=square_cases(losses=["bce", "cce"]))
def test_a_uniform_factor_names_its_mistake(case: Case, factor: float, mistake: str) -> None:
    grads = nonzero_reference(case)
    assert ids(case, {key: factor * value for key, value in grads.items()}) == {
        frozenset([mistake])
    }


@QUICK
@given(square_cases(losses=["mse"]))
def test_half_the_gradient_with_mse_is_the_missing_factor_two(case: Case) -> None:
    grads = nonzero_reference(case)
    assert ids(case, {key: value / 2 for key, value in grads.items()}) == {
        frozenset(["mse_missing_factor_two"])
    }


@QUICK
@given(square_cases(), st.sampled_from(["a δᵀ", "a δᵀ reshaped to W's shape"]))
def test_a_transposed_weight_gradient_is_found(case: Case, view: str) -> None:
    assert ids(case, predicted(case, Injection("none"), weight_view=view)) == {
        frozenset(["transposed_weight_gradient"])
    }


@QUICK
@given(
    square_cases(),
    st.sampled_from(
        [
            "δ with the batch axis kept",
            "δ of the first example only",
            "δ summed over the units (axis 0) instead of the batch",
        ]
    ),
)
def test_a_bias_gradient_not_summed_over_the_batch_is_found(case: Case, view: str) -> None:
    assert ids(case, predicted(case, Injection("none"), bias_view=view)) == {
        frozenset(["bias_not_summed_over_batch"])
    }


@QUICK
@given(square_cases(), st.integers(0, 2**16))
def test_gradients_unrelated_to_the_reference_are_not_explained(case: Case, seed: int) -> None:
    rng = np.random.default_rng(seed)
    _, grads = reference_gradients(case)
    assert named(case, {key: rng.normal(size=value.shape) for key, value in grads.items()}) == []


@QUICK
@given(square_cases(min_depth=2, hidden_activations=["tanh"]))
def test_an_explanation_replays_on_another_case_only_if_it_is_the_same_mistake(case: Case) -> None:
    first = predicted(case, Injection("missing_activation_derivative"))
    explanation = explain(Observation(case, first), TOLERANCE)[0]
    other = strategies.repair_kinks(case.with_params({k: v * 1.5 for k, v in case.params.items()}))
    assert replay(
        explanation,
        Observation(other, predicted(other, Injection("missing_activation_derivative"))),
        TOLERANCE,
    )
    assert (
        replay(
            explanation,
            Observation(other, predicted(other, Injection("gradient_not_propagated"))),
            TOLERANCE,
        )
        is None
    )
