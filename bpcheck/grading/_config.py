"""A course's grading configuration: read, validated, and overridden by flags.

The configuration lives in ``bpcheck.toml`` (top-level keys) or in the
``[tool.bpcheck]`` table of ``pyproject.toml``; ``bpcheck.toml`` wins when a
directory has both. Every key is optional::

    activations = ["relu", "tanh"]  # hidden activations the assignment covers
    losses = ["mse", "cce"]         # losses it covers
    seed = 0                        # Hypothesis seed: same seed, same score
    max_examples = 100              # examples per check (default: the grade profile's)
    jobs = 2                        # submissions graded at once (default: the cores available)
    scheduler = "tcp://10.0.0.5:8786"  # grade on this dask.distributed cluster instead
    adapter = "auto"                # the course adapter: auto, functional, dlai, cs231n, nielsen
                                    # (or a [adapter] table: the declarative adapter;
                                    # --adapter on the command line wins)

    [scope]                         # overrides the adapter's standard scope (docs/adapters/)
    depth = [2, 3]                  # also widths, max_width, output_width, square_hidden,
                                    # output_activations, hard_labels, excluded_checks

    [limits]                        # per worker; the fields of grading.Limits
    call_timeout = 30               # seconds per call into student code
    submission_timeout = 600        # seconds per submission
    memory_mb = 1024                # also cpu_seconds, file_size_mb, open_files,
                                    # processes, output_bytes, disk_mb

    [points]                        # check id = its points (split across families)
    gradient_values = 30

    [visibility]                    # check id = Gradescope visibility of its tests
    worked_examples = "after_due_date"

    [gradescope]
    visibility = "visible"          # of the whole result

Unknown keys are errors, with a did-you-mean. Every error names the key,
where its value came from, what was expected and what arrived.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import os
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bpcheck._errors import ConfigError
from bpcheck._manager import get_plugin_manager
from bpcheck._options import CourseSettings, RawOption, course_settings, run_options, with_adapter
from bpcheck._running import RunOptions
from bpcheck.adapters import StudentSource
from bpcheck.grading.isolation import Limits

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 has no tomllib; tomli is its source
    import tomli as tomllib

CONFIG_FILE = "bpcheck.toml"
PYPROJECT = "pyproject.toml"
#: Gradescope's visibilities, for one test or a whole result.
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")

_SCALARS = ("activations", "losses", "seed", "max_examples", "jobs", "adapter", "scheduler")
_TABLES = ("limits", "points", "visibility", "gradescope", "scope")
_GRADESCOPE_KEYS = ("visibility",)


@dataclass(frozen=True)
class GradingConfig:
    """Everything a grading run is set up with, validated.

    ``options`` always use the grade profile (derandomized, no example
    database). ``course`` is the adapter asked for and the scope table, applied
    to each submission once its source has chosen the adapter. ``visibility`` maps check ids to a Gradescope visibility;
    checks not listed are "visible". ``source`` says where the file came
    from, for the start-of-run banner. ``scheduler`` is the address of a
    dask.distributed scheduler to grade on (None: this machine, ``jobs`` at
    once), and ``scheduler_source`` where it was given.
    """

    options: RunOptions = field(default_factory=lambda: RunOptions(profile="grade"))
    limits: Limits = field(default_factory=Limits)
    jobs: int = field(default_factory=lambda: available_cores())
    visibility: tuple[tuple[str, str], ...] = ()
    result_visibility: str = "visible"
    source: str = "the defaults"
    course: CourseSettings = field(default_factory=CourseSettings)
    scheduler: str | None = None
    scheduler_source: str = ""

    def visibility_of(self, check_id: str) -> str:
        return dict(self.visibility).get(check_id, "visible")

    def fingerprint(self) -> str:
        """A hash of what a graded result depends on besides the submission and
        bpcheck's version: the run options (rubric included) and the limits.
        ``jobs``, the scheduler and visibilities change no result, so they are left out."""
        data = {
            "options": dataclasses.asdict(self.options),
            "limits": dataclasses.asdict(self.limits),
            "course": dataclasses.asdict(self.course),
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container or
    ``taskset`` may narrow), not the machine's count."""
    return len(os.sched_getaffinity(0))


def find_config(directory: Path) -> Path | None:
    """``bpcheck.toml`` in ``directory``, else its ``pyproject.toml`` if that has a
    ``[tool.bpcheck]`` table, else None."""
    candidate = directory / CONFIG_FILE
    if candidate.is_file():
        return candidate
    pyproject = directory / PYPROJECT
    if pyproject.is_file() and "bpcheck" in _parse(pyproject).get("tool", {}):
        return pyproject
    return None


def load_config(
    path: Path | None,
    overrides: Mapping[str, RawOption],
    check_ids: Collection[str],
) -> GradingConfig:
    """Read ``path`` (None: defaults only), apply ``overrides`` on top, validate.

    ``overrides`` are keyed like the file's keys, tables flattened with a dot
    ("seed", "limits.memory_mb"); an ``adapter`` override names an adapter
    ("declarative" takes the file's ``[adapter]`` table). ``check_ids`` are
    the ids ``points`` and ``visibility`` may name. Raises
    :class:`ConfigError` for anything invalid, the adapter's name, its
    declarative table and the scope included (see :func:`check_course`).
    """
    from_file: dict[str, RawOption] = _read(path) if path is not None else {}
    raw = {**from_file, **overrides}
    options = run_options(
        {
            "profile": RawOption("grade", "bpcheck grade"),
            "seed": raw.get("seed"),
            "max_examples": raw.get("max_examples"),
            "activations": raw.get("activations"),
            "losses": raw.get("losses"),
        }
    )
    limit_types: dict[str, type[int | float]] = {
        limit.name: float if isinstance(limit.default, float) else int
        for limit in dataclasses.fields(Limits)
    }
    limits: dict[str, Any] = {  # each converted to its field's type
        name: limit_types[name](_positive(f"limits.{name}", option, limit_types[name]))
        for name, option in _entries(raw, "limits", limit_types)
    }
    gradescope = dict(_entries(raw, "gradescope", _GRADESCOPE_KEYS))
    course = course_settings(overrides.get("adapter"), from_file)
    check_course(options, course)
    return GradingConfig(
        options=dataclasses.replace(options, points=_points(raw, check_ids)),
        limits=Limits(**limits),
        jobs=int(_positive("jobs", raw["jobs"], int)) if "jobs" in raw else available_cores(),
        visibility=tuple(
            (name, _visibility(f"visibility.{name}", option))
            for name, option in _entries(raw, "visibility", check_ids)
        ),
        result_visibility=(
            _visibility("gradescope.visibility", gradescope["visibility"])
            if "visibility" in gradescope
            else GradingConfig.result_visibility
        ),
        source=str(path) if path is not None else GradingConfig.source,
        course=course,
        scheduler=_address("scheduler", raw["scheduler"]) if "scheduler" in raw else None,
        scheduler_source=raw["scheduler"].source if "scheduler" in raw else "",
    )


def check_course(options: RunOptions, course: CourseSettings) -> None:
    """Raise now, before any submission is graded, the :class:`ConfigError`
    that choosing the adapter would raise for every submission: a name no
    adapter answers to, a declarative table with an unknown key or a bad
    value, a ``[scope]`` table that does not parse, or (a named adapter) a
    scope that ``activations`` and ``losses`` leave empty. Whether the scope
    fits each submission's adapter is known only once its source chose it."""
    with_adapter(options, StudentSource(""), course, get_plugin_manager())


def course_entries(directory: Path) -> dict[str, RawOption]:
    """The ``adapter`` and ``scope.*`` entries of the configuration file found
    in ``directory`` (none without one), for ``pytest --student`` and ``bpcheck check``."""
    path = find_config(directory)
    entries = _read(path) if path is not None else {}
    return {key: option for key, option in entries.items() if key == "adapter" or key.startswith("scope.")}


# ---------------------------------------------------------------- the file


def _parse(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except OSError as error:
        raise ConfigError(
            "the configuration file", str(path), "a readable TOML file", str(error)
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("the configuration file", str(path), "valid TOML", str(error)) from None


def _read(path: Path) -> dict[str, RawOption]:
    """The file's keys, each with where it came from; tables flattened to ``table.key``."""
    document = _parse(path)
    if path.name == PYPROJECT:
        table = document.get("tool", {}).get("bpcheck")
        source = f"{path} [tool.bpcheck]"
        if not isinstance(table, dict):
            raise ConfigError("tool.bpcheck", str(path), "a [tool.bpcheck] table", table)
    else:
        table, source = document, str(path)
    raw: dict[str, RawOption] = {}
    for key, value in table.items():
        _expect_key("", key, _SCALARS + _TABLES, source)
        if key not in _TABLES:
            raw[key] = RawOption(value, source)
            continue
        if not isinstance(value, dict):
            raise ConfigError(key, source, f"a table ([{key}])", value)
        raw |= {f"{key}.{name}": RawOption(entry, source) for name, entry in value.items()}
    return raw


def _expect_key(table: str, name: str, known: Collection[str], source: str) -> None:
    """``name``, a key of ``table`` ("" for the top level), must be one of ``known``."""
    if name in known:
        return
    prefix = f"{table}." if table else ""
    setting = prefix + name
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {prefix + close[0]!r}? " if close else ""
    raise ConfigError(
        setting, source, f"a known key ({hint}known: {', '.join(sorted(known))})", setting
    )


def _entries(
    raw: Mapping[str, RawOption], table: str, known: Collection[str]
) -> list[tuple[str, RawOption]]:
    """The ``table.name`` entries of ``raw`` as (name, option), every name checked against ``known``."""
    entries = []
    for key, option in sorted(raw.items()):
        if key.startswith(f"{table}."):
            name = key.split(".", 1)[1]
            _expect_key(table, name, known, option.source)
            entries.append((name, option))
    return entries


# ---------------------------------------------------------------- values


def _positive(setting: str, raw: RawOption, kind: type[int | float]) -> float:
    """A finite number > 0 (a whole one for ``int``); strings from the command line parse."""
    value = raw.value
    expected = "a whole number > 0" if kind is int else "a number of seconds > 0"
    if isinstance(value, str):
        try:
            value = kind(value)
        except ValueError:
            raise ConfigError(setting, raw.source, expected, raw.value) from None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
        or (kind is int and value != int(value))
    ):
        raise ConfigError(setting, raw.source, expected, raw.value)
    return value


def _points(
    raw: Mapping[str, RawOption], check_ids: Collection[str]
) -> tuple[tuple[str, float], ...]:
    points = []
    for name, option in _entries(raw, "points", check_ids):
        value = option.value
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            raise ConfigError(f"points.{name}", option.source, "a number of points ≥ 0", value)
        points.append((name, float(value)))
    return tuple(points)


def _address(setting: str, raw: RawOption) -> str:
    """A scheduler's address: ``tcp://HOST:PORT`` (or another Dask protocol's), or ``HOST:PORT``."""
    value = raw.value
    if not isinstance(value, str) or ":" not in value.strip() or value.strip().endswith(":"):
        raise ConfigError(setting, raw.source, "a Dask scheduler's address, tcp://HOST:PORT", value)
    return value.strip()


def _visibility(setting: str, raw: RawOption) -> str:
    if raw.value not in VISIBILITIES:
        raise ConfigError(setting, raw.source, f"one of {', '.join(VISIBILITIES)}", raw.value)
    return str(raw.value)
