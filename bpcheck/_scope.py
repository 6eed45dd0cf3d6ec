"""The assignment's scope: which networks a course's code can run.

A :class:`Scope` bounds what the strategies draw (depth, each layer's
activation, widths, the loss and the labels) and what the checks and the
lesson's worked examples may ask. Each adapter carries its course's standard
scope; a course narrows or overrides it in configuration
(:func:`scope_from_settings`). Anything a scope excludes is "not applicable":
it is left out of the maximum score, never scored 0.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from bpcheck._contract import (
    HIDDEN_ACTIVATIONS,
    LOSSES,
    MIN_OUTPUT_WIDTH,
    OUTPUT_ACTIVATIONS,
    Architecture,
    Family,
    all_families,
)
from bpcheck._errors import ConfigError

#: Every output activation some loss allows.
OUTPUTS: tuple[str, ...] = tuple(sorted({name for loss in LOSSES for name in OUTPUT_ACTIVATIONS[loss]}))


@dataclass(frozen=True)
class Scope:
    """The networks an assignment covers. Every field is plain data.

    ``hidden_activations`` and ``losses`` make the families; the output
    activation is one the loss allows, limited to ``output_activations`` when
    given. Depth runs ``min_depth``..``max_depth``; ``widths`` fixes every
    layer's size (n0, …, nL) and so the depth, ``output_width`` only the last,
    ``square_hidden`` makes every hidden layer as wide as the first;
    otherwise widths run 1..``max_width``. ``hard_labels`` draws 0/1 and
    one-hot targets only (courses whose labels are class indices or 0/1).
    ``excluded_checks`` are checks outside the course's conventions.
    ``regularised``: the course's API takes an L2 regularisation strength
    (CS231n's ``reg``), so that the ``regularisation`` check applies.
    ``biases``: False for a course whose networks have none (z = W a): the
    strategies then draw no bℓ, no dbℓ is asked for, and the checks that
    judge only biases are not applicable.
    """

    hidden_activations: tuple[str, ...] = HIDDEN_ACTIVATIONS
    losses: tuple[str, ...] = LOSSES
    output_activations: tuple[str, ...] | None = None
    min_depth: int = 1
    max_depth: int = 4
    widths: tuple[int, ...] | None = None
    max_width: int = 8
    output_width: int | None = None
    square_hidden: bool = False
    hard_labels: bool = False
    excluded_checks: tuple[str, ...] = ()
    regularised: bool = False
    biases: bool = True

    def outputs_for(self, loss: str) -> tuple[str, ...]:
        """The output activations this scope draws for ``loss``."""
        allowed = OUTPUT_ACTIVATIONS[loss]
        if self.output_activations is None:
            return allowed
        return tuple(name for name in allowed if name in self.output_activations)

    @property
    def depths(self) -> range:
        if self.widths is not None:
            return range(len(self.widths) - 1, len(self.widths))
        return range(self.min_depth, self.max_depth + 1)

    def families(self) -> tuple[Family, ...]:
        """Hidden activation × loss, each loss kept only when some output layer fits it.

        A scope of single-layer networks has no hidden layer: one family per loss."""
        hidden = self.hidden_activations if self.depths.stop > 2 else self.hidden_activations[:1]
        return tuple(family for family in all_families(hidden, self.losses) if self._output_fits(family.loss))

    def _output_fits(self, loss: str) -> bool:
        width = self.widths[-1] if self.widths is not None else self.output_width
        least = MIN_OUTPUT_WIDTH[loss]
        fits = width >= least if width is not None else self.max_width >= least
        return fits and bool(self.outputs_for(loss))

    def admits(self, architecture: Architecture) -> bool:
        """Whether ``architecture`` is a network this scope could have drawn
        (hidden layers may also be linear, as in the lesson's examples)."""
        widths, activations = architecture.widths, architecture.activations
        hidden_ok = set(activations[:-1]) <= set(self.hidden_activations) | {"linear"}
        if self.widths is not None:
            widths_ok = widths == self.widths
        else:
            widths_ok = max(widths) <= self.max_width and (
                self.output_width is None or widths[-1] == self.output_width
            )
            if self.square_hidden and len(widths) > 2:
                widths_ok = widths_ok and len(set(widths[1:-1])) == 1
        return (
            architecture.biases == self.biases
            and architecture.depth in self.depths
            and architecture.loss in self.losses
            and activations[-1] in self.outputs_for(architecture.loss)
            and hidden_ok
            and widths_ok
        )

    def narrowed(self, hidden_activations: tuple[str, ...], losses: tuple[str, ...]) -> Scope:
        """This scope with only the given activations and losses (in this scope's order)."""
        return replace(
            self,
            hidden_activations=tuple(a for a in self.hidden_activations if a in hidden_activations),
            losses=tuple(loss for loss in self.losses if loss in losses),
        )

    def describe(self) -> str:
        """One line: ``relu hidden layers, sigmoid output; bce; depth 1–4, widths ≤ 8``."""
        outputs = sorted({name for loss in self.losses for name in self.outputs_for(loss)})
        if self.widths is not None:
            shape = "widths " + "-".join(map(str, self.widths))
        else:
            depth = self.depths
            shape = f"depth {depth.start}" + (f"–{depth.stop - 1}" if len(depth) > 1 else "")
            shape += f", widths ≤ {self.max_width}"
            if self.output_width is not None:
                shape += f", {self.output_width} output unit{'s' if self.output_width != 1 else ''}"
            if self.square_hidden:
                shape += ", square hidden layers"
        parts = [
            f"{'/'.join(self.hidden_activations)} hidden layers, {'/'.join(outputs)} output",
            "/".join(self.losses),
            shape,
        ]
        if self.hard_labels:
            parts.append("hard labels")
        if not self.biases:
            parts.append("no biases")
        if self.regularised:
            parts.append("L2 regularisation")
        if self.excluded_checks:
            parts.append("not applicable: " + ", ".join(self.excluded_checks))
        return "; ".join(parts)


# ------------------------------------------------------------ configuration

#: The keys of a ``[scope]`` table and what each must be.
SCOPE_KEYS: dict[str, str] = {
    "depth": "a whole number ≥ 1, or [min, max]",
    "widths": "a list of at least two whole numbers ≥ 1 (n0, …, nL)",
    "max_width": "a whole number ≥ 1",
    "output_width": "a whole number ≥ 1",
    "square_hidden": "true or false",
    "output_activations": f"a list of names from {', '.join(OUTPUTS)}",
    "hard_labels": "true or false",
    "excluded_checks": "a list of check ids",
    "biases": "true or false (false: the networks have no biases, z = W a)",
}


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _scope_value(key: str, value: Any, source: str) -> dict[str, Any]:
    """The Scope fields that ``key = value`` sets; a ConfigError if it is invalid."""
    bad = ConfigError(f"scope.{key}", source, SCOPE_KEYS[key], value)
    if key == "depth":
        bounds = [value, value] if _whole(value) else value
        if not (isinstance(bounds, list) and len(bounds) == 2 and all(map(_whole, bounds))):
            raise bad
        if bounds[0] > bounds[1]:
            raise ConfigError(f"scope.{key}", source, "[min, max] with min ≤ max", value)
        return {"min_depth": bounds[0], "max_depth": bounds[1]}
    if key == "widths":
        if not (isinstance(value, list) and len(value) >= 2 and all(map(_whole, value))):
            raise bad
        return {"widths": tuple(value)}
    if key in ("max_width", "output_width"):
        if not _whole(value):
            raise bad
        return {key: value}
    if key in ("square_hidden", "hard_labels", "biases"):
        if not isinstance(value, bool):
            raise bad
        return {key: value}
    if not (isinstance(value, list) and value and all(isinstance(item, str) for item in value)):
        raise bad
    if key == "output_activations" and not set(value) <= set(OUTPUTS):
        raise bad
    return {key: tuple(value)}


def scope_from_settings(base: Scope, settings: Mapping[str, Any], source: str) -> Scope:
    """``base`` with a configuration's ``[scope]`` table applied: each key
    overrides the adapter's standard value. Unknown keys and bad values are
    configuration errors naming the key, ``source``, what was expected and what arrived."""
    changes: dict[str, Any] = {}
    for key, value in settings.items():
        if key not in SCOPE_KEYS:
            close = difflib.get_close_matches(key, SCOPE_KEYS, n=1)
            hint = f"did you mean 'scope.{close[0]}'? " if close else ""
            raise ConfigError(
                f"scope.{key}", source, f"a known key ({hint}known: {', '.join(SCOPE_KEYS)})", key
            )
        changes |= _scope_value(key, value, source)
    scope = replace(base, **changes)
    if scope.widths is not None and "depth" in settings and len(scope.widths) - 1 not in range(
        scope.min_depth, scope.max_depth + 1
    ):
        raise ConfigError(
            "scope.widths", source, f"{scope.min_depth}–{scope.max_depth} layers, as scope.depth says", list(scope.widths)
        )
    if not scope.families():
        raise ConfigError(
            "scope", source, "a scope with at least one network in it", scope.describe()
        )
    return scope

