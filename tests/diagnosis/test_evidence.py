"""What the evidence sees when it calls a student again: state, in-place changes, the forward pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bpcheck import Case, InProcessStudent, get_plugin_manager
from bpcheck._contract import Architecture
from bpcheck.diagnosis import Evidence
from bpcheck.diagnosis._cases import variant_case
from tests.conftest import REFERENCE_SOURCE
from tests.diagnosis.table import OWN
from tests.implementations import HERE as SHARED


def case(
    activations: tuple[str, ...] = ("tanh", "linear"), loss: str = "mse", seed: int = 0
) -> Case:
    rng = np.random.default_rng(seed)
    widths = (2, 3, 2)
    params = {
        f"{kind}{layer}": rng.normal(size=(widths[layer], widths[layer - 1] if kind == "W" else 1))
        for layer in (1, 2)
        for kind in "Wb"
    }
    Y = rng.normal(size=(2, 3)) if loss == "mse" else np.eye(2)[:, [0, 1, 1]]
    return Case(Architecture(widths, activations, loss), params, rng.normal(size=(2, 3)), Y)


def evidence(path: Path, check: str = "gradient_values", on: Case | None = None) -> Evidence:
    return Evidence(check, on or case(), "", InProcessStudent(str(path), get_plugin_manager()))


def test_correct_code_is_stateless_unchanged_and_agrees_with_the_reference() -> None:
    seen = evidence(REFERENCE_SOURCE)
    assert seen.forward == "ok"
    assert seen.accumulation is None and seen.mutated == ()
    assert seen.values is not None and seen.values.agrees


def test_a_running_sum_is_an_accumulation_whose_increment_is_the_fresh_gradient() -> None:
    seen = evidence(OWN / "buggy_gradient_accumulates_across_calls_recursive.py")
    assert seen.accumulation is not None
    assert seen.values is not None and seen.values.agrees


def test_y_changed_in_place_is_not_mistaken_for_a_running_sum() -> None:
    seen = evidence(SHARED / "buggy_inputs_mutated_1.py")
    assert seen.accumulation is None
    assert "Y" in seen.mutated


def test_a_forward_pass_without_the_max_subtraction_overflows_only_at_large_logits() -> None:
    large = case(("relu", "softmax"), "cce")
    params = dict(large.params)
    params["b2"] = params["b2"] + 1000.0
    assert (
        evidence(OWN / "buggy_unstable_softmax_modules.py", on=large.with_params(params)).forward
        == "overflow"
    )
    assert evidence(OWN / "buggy_unstable_softmax_modules.py", on=large).forward == "ok"
    assert evidence(REFERENCE_SOURCE, on=large.with_params(params)).forward == "ok"


def test_a_wrong_forward_pass_hides_the_gradients() -> None:
    seen = evidence(OWN / "buggy_forward_mismatch_modules.py", on=case(("sigmoid", "linear")))
    assert seen.forward == "mismatch"
    assert seen.gradients is None and seen.values is None


def test_the_second_case_is_two_units_wider_everywhere_with_a_batch_larger_than_any_width() -> None:
    original = case()
    variant = variant_case(original)
    assert variant.architecture.widths == (4, 5, 4)
    assert variant.architecture.activations == original.architecture.activations
    assert variant.batch_size == 6


def test_a_wrong_forward_pass_hidden_by_saturated_outputs_shows_on_the_second_case() -> None:
    saturated = case(("relu", "sigmoid"), "mse")
    params = dict(saturated.params)
    params["b2"] = params["b2"] + np.array([[1000.0], [-1000.0]])
    seen = evidence(SHARED / "buggy_forward_mismatch_3.py", on=saturated.with_params(params))
    assert seen.forward == "mismatch"
    assert seen.forward_case is seen.second_case
