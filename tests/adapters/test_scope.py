"""The assignment's scope: strategies draw inside it, and what it excludes is not applicable."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings

from bpcheck import ConfigError, RunOptions, get_plugin_manager
from bpcheck._running import collect_checks, plan
from bpcheck._scope import Scope, scope_from_settings
from bpcheck.adapters import Adapter
from bpcheck.adapters.declarative import settings_of
from bpcheck.checks import CheckContext, family_cases

FIXED = Scope(hidden_activations=("relu",), losses=("bce",), widths=(3, 4, 4, 1), hard_labels=True)
NARROW = Scope(hidden_activations=("tanh",), losses=("cce",), min_depth=2, max_depth=3, output_width=3, square_hidden=True, hard_labels=True)


@pytest.mark.parametrize("scope", [FIXED, NARROW], ids=["fixed", "constrained"])
def test_cases_are_drawn_only_inside_the_scope(scope: Scope) -> None:
    context = CheckContext(None, None, scope.families(), scope)  # type: ignore[arg-type]

    @settings(derandomize=True, max_examples=40, database=None)
    @given(family_cases(context))
    def inside(case: Any) -> None:
        assert scope.admits(case.architecture)
        assert set(np.unique(case.Y)) <= {0.0, 1.0}

    inside()


def _planned(options: RunOptions) -> dict[str, str]:
    return {p.name: p.not_applicable for p in plan(collect_checks(get_plugin_manager()), options)}


def test_worked_examples_are_not_applicable_to_a_fixed_three_layer_network() -> None:
    planned = _planned(RunOptions(adapter=Adapter("x", "functional", FIXED)))
    assert planned["worked_examples"].startswith("not applicable")
    assert planned["activation_gating[relu-bce]"] == ""


def test_single_layer_scopes_have_no_gating_check_but_keep_example_2() -> None:
    planned = _planned(RunOptions(adapter=Adapter("x", "functional", Scope(max_depth=1, losses=("bce",)))))
    assert planned["activation_gating"].startswith("not applicable")
    assert planned["worked_examples"] == ""


def test_a_check_outside_the_course_conventions_is_worth_nothing() -> None:
    scope = Scope(hidden_activations=("relu",), losses=("bce",), excluded_checks=("numerical_stability",))
    options = RunOptions(adapter=Adapter("dlai", "dlai", scope))
    [stability] = [p for p in plan(collect_checks(get_plugin_manager()), options) if p.check.id == "numerical_stability"]
    assert (stability.max_points, stability.family) == (0.0, None)
    assert "outside the course's conventions" in stability.not_applicable


def test_a_scope_table_overrides_the_adapter_scope() -> None:
    scope = scope_from_settings(Scope(hidden_activations=("relu",)), {"widths": [4, 3, 2], "hard_labels": True}, "f")
    assert (scope.widths, scope.depths, scope.hard_labels, scope.hidden_activations) == ((4, 3, 2), range(2, 3), True, ("relu",))


@pytest.mark.parametrize(
    ("table", "setting", "expected"),
    [
        ({"dpeth": 2}, "scope.dpeth", "did you mean 'scope.depth'?"),
        ({"depth": 0}, "scope.depth", "a whole number ≥ 1, or [min, max]"),
        ({"depth": [3, 2]}, "scope.depth", "min ≤ max"),
        ({"widths": [4]}, "scope.widths", "at least two whole numbers"),
        ({"output_activations": ["softplus"]}, "scope.output_activations", "a list of names from"),
        ({"square_hidden": "yes"}, "scope.square_hidden", "true or false"),
        ({"widths": [3, 1], "depth": 2}, "scope.widths", "as scope.depth says"),
        ({"output_width": 1, "output_activations": ["softmax"]}, "scope", "at least one network"),
    ],
)
def test_a_bad_scope_table_is_a_configuration_error(table: dict[str, Any], setting: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        scope_from_settings(Scope(), table, "pyproject.toml [tool.bpcheck]")
    assert raised.value.setting == setting and expected in str(raised.value)
    assert "pyproject.toml [tool.bpcheck]" in str(raised.value)


GOOD = {"forward": "forward", "backward": "backward"}


@pytest.mark.parametrize(
    ("table", "setting", "expected"),
    [
        ({**GOOD, "layuot": "batch_by_features"}, "adapter.layuot", "did you mean 'adapter.layout'?"),
        ({**GOOD, "bias": "(out,)"}, "adapter.bias", "column or row or flat or augmented or absent"),
        ({**GOOD, "labels": "onehot"}, "adapter.labels", "one_hot or indices"),
        ({**GOOD, "scale": 0}, "adapter.scale", "a number > 0"),
        ({**GOOD, "learning_rate": "1"}, "adapter.learning_rate", "a number > 0"),
        ({**GOOD, "forward_args": ["X", "weights"]}, "adapter.forward_args", "from X, params, activations"),
        ({**GOOD, "weight_key": "W"}, "adapter.weight_key", "{layer}"),
        ({**GOOD, "backward_returns": ["loss"]}, "adapter.backward_returns", "grads, or weight_gradients"),
        ({"backward": "b"}, "adapter.forward", "computes ŷ"),
        ({"forward": "f"}, "adapter.backward", "step for an in-place update"),
        ({**GOOD, "forward": ""}, "adapter.forward", "a non-empty string"),
    ],
)
def test_a_bad_declarative_table_is_a_configuration_error(table: dict[str, Any], setting: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings_of(table, "bpcheck.toml")
    assert raised.value.setting == setting and expected in str(raised.value)
    assert "bpcheck.toml" in str(raised.value)


def test_activations_outside_the_adapter_scope_are_a_configuration_error(tmp_path: Any) -> None:
    from bpcheck._options import CourseSettings, with_adapter
    from bpcheck.adapters import AdapterRequest
    from tests.adapters.table import COURSES

    options = replace(RunOptions(), losses=("mse",))
    with pytest.raises(ConfigError, match="some of the dlai adapter's scope"):
        with_adapter(options, str(COURSES / "dlai_deep.py"), CourseSettings(AdapterRequest("dlai")), get_plugin_manager())
