"""Turn raw option values into :class:`~bpcheck._running.RunOptions`, saying
where a bad value came from."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pluggy

from bpcheck._contract import HIDDEN_ACTIVATIONS, LOSSES
from bpcheck._errors import ConfigError
from bpcheck._profiles import PROFILES
from bpcheck._running import RunOptions
from bpcheck.adapters import AUTO, AdapterRequest, StudentSource, choose_adapter


@dataclass(frozen=True)
class RawOption:
    """An option value as given, and where it came from ("--bpcheck-seed", "pytest.ini")."""

    value: object
    source: str


def _names(setting: str, raw: RawOption, allowed: tuple[str, ...]) -> tuple[str, ...]:
    value = raw.value
    names = [part.strip() for part in value.split(",")] if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)) or not names or any(n not in allowed for n in names):
        raise ConfigError(setting, raw.source, f"a comma-separated subset of {','.join(allowed)}", value)
    return tuple(names)


def _count(setting: str, raw: RawOption) -> int:
    try:
        number = int(str(raw.value))
    except ValueError:
        raise ConfigError(setting, raw.source, "a whole number", raw.value) from None
    if number < 0:
        raise ConfigError(setting, raw.source, "a whole number ≥ 0", raw.value)
    return number


def call_timeout(raw: RawOption | None, default: float) -> float:
    """Seconds per call into student code: a number > 0 (``default`` when not given)."""
    if raw is None:
        return default
    try:
        seconds = float(str(raw.value))
    except ValueError:
        raise ConfigError("timeout", raw.source, "a number of seconds > 0", raw.value) from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError("timeout", raw.source, "a number of seconds > 0", raw.value)
    return seconds


def run_options(given: Mapping[str, RawOption | None]) -> RunOptions:
    """Validate ``profile``, ``seed``, ``max_examples``, ``activations`` and ``losses``.

    Missing values get defaults: profile "student"; seed random for the
    student profile and 0 for grade (so grading is reproducible);
    every activation and loss.
    """
    profile = given.get("profile")
    profile_name = str(profile.value) if profile is not None else "student"
    if profile is not None and profile_name not in PROFILES:
        raise ConfigError("profile", profile.source, " or ".join(PROFILES), profile.value)
    seed = given.get("seed")
    examples = given.get("max_examples")
    activations = given.get("activations")
    losses = given.get("losses")
    if seed is None:
        seed_value = 0 if profile_name == "grade" else random.randrange(10**6)
    else:
        seed_value = _count("seed", seed)
    max_examples = _count("max_examples", examples) if examples is not None else None
    if max_examples == 0:  # no example would check nothing, and pass
        assert examples is not None
        raise ConfigError("max_examples", examples.source, "a whole number ≥ 1", examples.value)
    return RunOptions(
        profile=profile_name,
        seed=seed_value,
        max_examples=max_examples,
        hidden_activations=_names("activations", activations, HIDDEN_ACTIVATIONS)
        if activations is not None
        else HIDDEN_ACTIVATIONS,
        losses=_names("losses", losses, LOSSES) if losses is not None else LOSSES,
    )


# ------------------------------------------------------------------ adapters


@dataclass(frozen=True)
class CourseSettings:
    """How a course's code is talked to: the adapter asked for, and the
    ``[scope]`` table that overrides its standard scope (from ``scope_source``)."""

    request: AdapterRequest = AdapterRequest()
    scope: Mapping[str, Any] | None = None
    scope_source: str = ""


def course_settings(
    flag: RawOption | None, configured: Mapping[str, RawOption]
) -> CourseSettings:
    """The adapter request and scope from ``flag`` (``--bpcheck-adapter``,
    ``--adapter`` or the ini value) and a configuration file's entries
    (``adapter``: a name, or the declarative ``[tool.bpcheck.adapter]``
    table; ``scope.KEY``: the scope table). The flag wins; naming
    "declarative" uses the file's table."""
    table = configured.get("adapter")
    chosen = flag or table
    request = AdapterRequest()
    if chosen is not None:
        value = chosen.value
        if isinstance(value, Mapping):
            request = AdapterRequest("declarative", dict(value), chosen.source)
        elif isinstance(value, str) and value.strip():
            name = value.strip()
            if name == "declarative" and table is not None and isinstance(table.value, Mapping):
                request = AdapterRequest(name, dict(table.value), table.source)
            else:
                request = AdapterRequest(name, None, chosen.source)
        else:
            raise ConfigError(
                "adapter", chosen.source, f"an adapter's name, {AUTO}, or an [adapter] table", value
            )
    scope = {key.split(".", 1)[1]: option.value for key, option in configured.items() if key.startswith("scope.")}
    source = next((option.source for key, option in configured.items() if key.startswith("scope.")), "")
    return CourseSettings(request, scope or None, source)


def with_adapter(
    options: RunOptions,
    spec: str | StudentSource,
    settings: CourseSettings,
    manager: pluggy.PluginManager,
) -> RunOptions:
    """``options`` with the adapter chosen for student ``spec`` (see
    :func:`~bpcheck.adapters.choose_adapter`); a ConfigError when the
    activations and losses asked for leave nothing of its scope."""
    adapter = choose_adapter(spec, settings.request, manager, settings.scope, settings.scope_source)
    chosen = replace(options, adapter=adapter)
    if not chosen.scope:
        raise ConfigError(
            "activations and losses",
            "the options",
            f"some of the {adapter.name} adapter's scope ({adapter.scope.describe()})",
            f"{','.join(options.hidden_activations)} and {','.join(options.losses)}",
        )
    return chosen
