"""The grading configuration: where it is found, what it sets, and how a bad one is reported."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bpcheck import ConfigError, get_plugin_manager
from bpcheck._options import RawOption
from bpcheck._running import collect_checks, plan
from bpcheck.grading._config import GradingConfig, find_config, load_config

CHECK_IDS = [declared.id for declared in collect_checks(get_plugin_manager())]

FULL = """\
activations = ["relu", "tanh"]
losses = "mse,cce"
seed = 7
max_examples = 12
jobs = 2

[limits]
call_timeout = 2.5
memory_mb = 512
processes = 8

[points]
api = 0
gradient_values = 40

[visibility]
worked_examples = "after_due_date"

[gradescope]
visibility = "after_published"
"""


def load(
    directory: Path, text: str, name: str = "bpcheck.toml", **overrides: object
) -> GradingConfig:
    path = directory / name
    path.write_text(text)
    given = {
        key: RawOption(value, f"the command line, --{key}") for key, value in overrides.items()
    }
    return load_config(path, given, CHECK_IDS)


def test_without_a_file_grading_uses_the_grade_profile_seed_zero_and_the_default_limits() -> None:
    config = load_config(None, {}, CHECK_IDS)
    assert config == GradingConfig()
    assert (config.options.profile, config.options.seed, config.options.points) == ("grade", 0, ())
    assert config.source == "the defaults"


def test_every_key_of_a_full_file_is_applied(tmp_path: Path) -> None:
    config = load(tmp_path, FULL)
    assert config.options.hidden_activations == ("relu", "tanh")
    assert config.options.losses == ("mse", "cce")
    assert (config.options.seed, config.options.max_examples, config.jobs) == (7, 12, 2)
    assert (config.limits.call_timeout, config.limits.memory_mb, config.limits.processes) == (
        2.5,
        512,
        8,
    )
    assert dict(config.options.points) == {"api": 0.0, "gradient_values": 40.0}
    assert config.visibility_of("worked_examples") == "after_due_date"
    assert config.visibility_of("api") == "visible"
    assert config.result_visibility == "after_published"


def test_the_rubric_sets_the_points_each_check_plans_with(tmp_path: Path) -> None:
    config = load(tmp_path, FULL)
    planned = plan(collect_checks(get_plugin_manager()), config.options)
    total = {
        name: sum(p.max_points for p in planned if p.check.id == name)
        for name in ("api", "gradient_values")
    }
    assert total == pytest.approx({"api": 0.0, "gradient_values": 40.0})


def test_pyproject_tool_bpcheck_is_read_and_bpcheck_toml_wins_over_it(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'course'\n")
    assert find_config(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text("[tool.bpcheck]\nseed = 3\n")
    assert find_config(tmp_path) == tmp_path / "pyproject.toml"
    assert load_config(find_config(tmp_path), {}, CHECK_IDS).options.seed == 3
    (tmp_path / "bpcheck.toml").write_text("seed = 4\n")
    assert find_config(tmp_path) == tmp_path / "bpcheck.toml"


def test_command_line_flags_override_the_file(tmp_path: Path) -> None:
    overrides = {"seed": "9", "jobs": "1", "limits.call_timeout": "0.5", "limits.memory_mb": "256"}
    config = load(tmp_path, FULL, **overrides)
    assert (config.options.seed, config.jobs) == (9, 1)
    assert (config.limits.call_timeout, config.limits.memory_mb) == (0.5, 256)
    assert config.limits.processes == 8  # from the file, not overridden


BAD_CONFIGS = [
    ("pionts = 3", "pionts", "did you mean 'points'?"),
    ("points = 5", "points", "a table ([points])"),
    ("seed = -1", "seed", "a whole number ≥ 0"),
    ("seed = 1.5", "seed", "a whole number"),
    ("max_examples = 'many'", "max_examples", "a whole number"),
    ("jobs = 0", "jobs", "a whole number > 0"),
    ("jobs = true", "jobs", "a whole number > 0"),
    ("jobs = 1.5", "jobs", "a whole number > 0"),
    ("activations = ['relu', 'swish']", "activations", "subset of linear,relu,sigmoid,tanh"),
    ("losses = []", "losses", "subset of mse,bce,cce"),
    (
        "[points]\ngradient_value = 3",
        "points.gradient_value",
        "did you mean 'points.gradient_values'?",
    ),
    ("[points]\napi = -1", "points.api", "a number of points ≥ 0"),
    ("[points]\napi = '5'", "points.api", "a number of points ≥ 0"),
    ("[points]\napi = inf", "points.api", "a number of points ≥ 0"),
    (
        "[visibility]\napi = 'secret'",
        "visibility.api",
        "one of visible, hidden, after_due_date, after_published",
    ),
    ("[visibility]\nap = 'hidden'", "visibility.ap", "did you mean 'visibility.api'?"),
    ("[limits]\nmemory = 10", "limits.memory", "did you mean 'limits.memory_mb'?"),
    ("[limits]\ncall_timeout = 0", "limits.call_timeout", "a number of seconds > 0"),
    ("[limits]\ncall_timeout = nan", "limits.call_timeout", "a number of seconds > 0"),
    ("[limits]\nopen_files = 1.5", "limits.open_files", "a whole number > 0"),
    ("[gradescope]\nvisibility = 'public'", "gradescope.visibility", "one of visible, hidden"),
    (
        "[gradescope]\nvisible = 'hidden'",
        "gradescope.visible",
        "did you mean 'gradescope.visibility'?",
    ),
    ("seed = ", "the configuration file", "valid TOML"),
]


@pytest.mark.parametrize(("text", "setting", "expected"), BAD_CONFIGS)
def test_a_bad_configuration_names_the_key_the_file_what_was_expected_and_what_arrived(
    tmp_path: Path, text: str, setting: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text + "\n")
    error = caught.value
    assert error.setting == setting
    assert error.source == str(tmp_path / "bpcheck.toml")
    assert expected in str(error)
    assert "got" in str(error)


def test_errors_in_pyproject_name_its_tool_bpcheck_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, "[tool.bpcheck]\njobs = 'all'\n", name="pyproject.toml")
    assert caught.value.source == f"{tmp_path / 'pyproject.toml'} [tool.bpcheck]"


def test_a_pyproject_given_explicitly_must_have_a_tool_bpcheck_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"expected a \[tool.bpcheck\] table"):
        load(tmp_path, "[project]\nname = 'course'\n", name="pyproject.toml")


def test_a_missing_configuration_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="a readable TOML file"):
        load_config(tmp_path / "nope.toml", {}, CHECK_IDS)


def test_the_fingerprint_follows_what_changes_results_and_only_that(tmp_path: Path) -> None:
    config = load(tmp_path, FULL)
    same = dataclasses.replace(config, jobs=1, visibility=(), result_visibility="hidden")
    assert same.fingerprint() == config.fingerprint()
    for changed in (
        dataclasses.replace(config, options=dataclasses.replace(config.options, seed=8)),
        dataclasses.replace(config, options=dataclasses.replace(config.options, points=())),
        dataclasses.replace(config, limits=dataclasses.replace(config.limits, memory_mb=100)),
    ):
        assert changed.fingerprint() != config.fingerprint()
