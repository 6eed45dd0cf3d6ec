"""Explain a student's gradients as the reference with known mistakes injected.

An :class:`Explanation` is a replayable mutant: injections into δ (see
:mod:`._mutants`), the view each gradient was formed with (see :mod:`._views`),
and uniform scale factors (the sign of the output δ, the factor 2 of mse, the
1/M of the batch mean). :func:`explain` finds the explanations with the fewest
mistakes that reproduce every gradient the student returned, to within the
tolerance; :func:`replay` tests one on another case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from itertools import combinations, product

import bpcheck_reference as reference

from bpcheck._contract import Array, Case
from bpcheck._numerics import ScaledErrors, best_fit_scale, relative_error
from bpcheck.checks._base import reference_gradients
from bpcheck.diagnosis._mutants import (
    OUTPUT_MISTAKES,
    Deltas,
    Injection,
    mutant_deltas,
    single_injections,
)
from bpcheck.diagnosis._views import VIEWS, View, free_scales, views_of


@dataclass(frozen=True)
class Observation:
    """The gradients a student returned for ``case`` (only the keys present)."""

    case: Case
    gradients: Mapping[str, Array]

    @cached_property
    def cache(self) -> dict[str, Array]:
        """The reference's forward cache for ``case``, shared by every mutant tried on it."""
        case = self.case
        return reference.forward(case.params, case.X, case.architecture.activations)[1]


@dataclass(frozen=True)
class Knobs:
    """Uniform factors: ``sign`` (y − ŷ), ``half`` (mse without its 2), and the
    power of M on the dW and db gradients (+1: 1/M missing, −1: applied twice)."""

    sign: bool = False
    half: bool = False
    weight_power: int = 0
    bias_power: int = 0

    def factor(self, key: str, batch: int) -> float:
        power = self.weight_power if key.startswith("dW") else self.bias_power
        return (-1.0 if self.sign else 1.0) * (0.5 if self.half else 1.0) * float(batch) ** power

    def mistakes(self, keys: list[str]) -> dict[str, set[int]]:
        found: dict[str, set[int]] = {}
        layers = {int(key[2:]) for key in keys}
        if self.sign:
            found["output_delta_sign"] = {max(layers)}
        if self.half:
            found["mse_missing_factor_two"] = {max(layers)}
        for power, kind in ((self.weight_power, "dW"), (self.bias_power, "db")):
            if power:
                mistake = "batch_mean_missing" if power > 0 else "batch_mean_applied_twice"
                found.setdefault(mistake, set()).update(
                    int(key[2:]) for key in keys if key.startswith(kind)
                )
        return found


@dataclass(frozen=True)
class Option:
    """One way a gradient is reproduced: the view, the name of its free factor,
    and whether only its layout (not its values) differs from the parameter's shape."""

    view: str
    scale: str = ""
    reshaped: bool = False

    @property
    def mistake(self) -> str:
        return "wrong_gradient_shape" if self.reshaped else VIEWS[self.view].mistake


@dataclass(frozen=True)
class KeyMatch:
    """How one gradient is reproduced: every option that fits, the lesson's way
    first. A small case often cannot tell views apart (one unit, one example);
    a second case narrows the options down."""

    key: str
    options: tuple[Option, ...]


@dataclass(frozen=True)
class Explanation:
    injections: tuple[Injection, ...]
    knobs: Knobs
    matches: tuple[KeyMatch, ...]
    effective: frozenset[tuple[str, int]]

    @property
    def uniform(self) -> bool:
        """Whether it is one factor on every gradient (a sign flip, mse without
        its 2) and nothing else: no injection, no power of M, each gradient
        formed in the lesson's way."""
        knobs, options = self.knobs, [match.options[0] for match in self.matches]
        return (
            not self.injections
            and knobs.weight_power == knobs.bias_power == 0
            and all(not option.mistake and not option.scale for option in options)
        )

    def mistakes(self) -> dict[str, tuple[int, ...]]:
        """Each mistake the explanation makes, with the layers it shows at."""
        found = self.knobs.mistakes([match.key for match in self.matches])
        for mistake, layer in self.effective:
            found.setdefault(mistake, set()).add(layer)
        for match in self.matches:
            if match.options[0].mistake:
                found.setdefault(match.options[0].mistake, set()).add(int(match.key[2:]))
        return {mistake: tuple(sorted(layers)) for mistake, layers in found.items()}


def _knob_choices(case: Case) -> list[Knobs]:
    """Combinations of scale factors that can show on ``case``, fewest mistakes first."""
    powers = (0, 1, -1) if case.batch_size > 1 else (0,)
    halves = (False, True) if case.architecture.loss == "mse" else (False,)
    choices = [
        Knobs(sign, half, weight, bias)
        for sign, half, weight, bias in product((False, True), halves, powers, powers)
    ]
    return sorted(choices, key=lambda knobs: len(knobs.mistakes(["dW1", "db1"])))


@dataclass(frozen=True)
class _Fit:
    """A view whose prediction, times some factor, reproduces ``got``."""

    view: View
    predicted: Array
    reshaped: bool
    errors: ScaledErrors


def _fits(key: str, got: Array, deltas: Deltas, tolerance: float) -> list[_Fit]:
    layer = int(key[2:])
    delta, A = deltas.delta[layer], deltas.cache[f"A{layer - 1}"]
    fits = []
    for view in views_of(key):
        predicted = view.form(delta, A)
        reshaped = predicted.shape != got.shape
        if reshaped and (predicted.size != got.size or view.mistake):
            continue
        predicted = predicted.reshape(got.shape)
        scale = best_fit_scale(got, predicted)
        if relative_error(got, (scale or 0.0) * predicted) <= tolerance:
            fits.append(_Fit(view, predicted, reshaped, ScaledErrors(got, predicted)))
    return fits


def _choose(
    key: str, fits: list[_Fit], knobs: Knobs, case: Case, tolerance: float
) -> KeyMatch | None:
    target = knobs.factor(key, case.batch_size)
    units = case.architecture.widths[int(key[2:])]
    options = []
    for fit in fits:
        scales = free_scales(case.batch_size, units) if fit.view.free else {"": 1.0}
        options += [
            Option(fit.view.name, name, fit.reshaped)
            for name, extra in scales.items()
            if fit.errors.within(target * extra, tolerance)
        ]
    return KeyMatch(key, tuple(options)) if options else None


def _explain_with(
    observation: Observation, injections: tuple[Injection, ...], tolerance: float
) -> list[Explanation]:
    """The explanations with the fewest mistakes that use ``injections``."""
    case = observation.case
    deltas = mutant_deltas(case, injections, observation.cache)
    if injections and len({mistake for mistake, _ in deltas.effective}) < len(injections):
        return []  # some injection changes nothing here: a smaller hypothesis covers it
    fits = {key: _fits(key, got, deltas, tolerance) for key, got in observation.gradients.items()}
    if any(not fit for fit in fits.values()):
        return []
    found = []
    for knobs in _knob_choices(case):
        matches = [
            _choose(key, fit, knobs, case, tolerance)
            for key, fit in fits.items()
        ]
        if all(match is not None for match in matches):
            found.append(
                Explanation(injections, knobs, tuple(m for m in matches if m), deltas.effective)
            )
    return _fewest(found)


def _fewest(explanations: list[Explanation]) -> list[Explanation]:
    if not explanations:
        return []
    least = min(len(explanation.mistakes()) for explanation in explanations)
    return [explanation for explanation in explanations if len(explanation.mistakes()) == least]


def explain(observation: Observation, tolerance: float) -> list[Explanation]:
    """The explanations with the fewest mistakes reproducing ``observation``.

    Single injections are tried, then pairs when nothing simpler explains it.
    An empty list when none does; ``[Explanation with no mistakes]`` when the
    reference itself does (the student is right on this case).
    """
    if not observation.gradients:
        return []
    case = observation.case
    found = _explain_with(observation, (), tolerance)
    if found and not found[0].mistakes():
        return found[:1]
    singles = list(single_injections(case))
    for single in singles:
        found = _fewest(found + _explain_with(observation, (single,), tolerance))
    if found and len(found[0].mistakes()) <= 1:
        return found
    everywhere = [
        single for single in singles if single.layer is None or single.mistake in OUTPUT_MISTAKES
    ]
    for pair in combinations(everywhere, 2):
        if pair[0].mistake != pair[1].mistake or pair[0].variant != pair[1].variant:
            found = _fewest(found + _explain_with(observation, pair, tolerance))
    return found


def _reproduces(
    option: Option, knobs: Knobs, key: str, got: Array, deltas: Deltas, case: Case, tolerance: float
) -> bool:
    layer = int(key[2:])
    predicted = VIEWS[option.view].form(deltas.delta[layer], deltas.cache[f"A{layer - 1}"])
    if predicted.size != got.size or (predicted.shape != got.shape and not option.reshaped):
        return False
    extra = free_scales(case.batch_size, case.architecture.widths[layer])[option.scale]
    expected = knobs.factor(key, case.batch_size) * extra * predicted.reshape(got.shape)
    return relative_error(got, expected) <= tolerance


def replay(
    explanation: Explanation, observation: Observation, tolerance: float
) -> Explanation | None:
    """``explanation`` narrowed to the options that also reproduce ``observation``
    (another case, the same activations and loss), or None when it does not."""
    case = observation.case
    deltas = mutant_deltas(case, explanation.injections, observation.cache)
    known = {match.key: match for match in explanation.matches}
    narrowed = []
    for key, got in observation.gradients.items():
        match = known.get(key, KeyMatch(key, (Option(views_of(key)[0].name),)))
        options = tuple(
            option
            for option in match.options
            if _reproduces(option, explanation.knobs, key, got, deltas, case, tolerance)
        )
        if not options:
            return None
        narrowed.append(KeyMatch(key, options))
    return replace(explanation, matches=tuple(narrowed))


def one_scaled(observation: Observation, tolerance: float) -> tuple[str, float] | None:
    """(key, c) when exactly one of the gradients is c ≠ 0 times the reference's,
    to within ``tolerance``, and every other one is right; None otherwise."""
    expected = reference_gradients(observation.case)[1]
    grads = observation.gradients
    wrong = [
        key
        for key, value in expected.items()
        if key not in grads
        or grads[key].shape != value.shape
        or not relative_error(grads[key], value) <= tolerance
    ]
    if len(wrong) != 1:
        return None
    key = wrong[0]
    if key not in grads or grads[key].shape != expected[key].shape:
        return None
    factor = best_fit_scale(grads[key], expected[key])
    if not factor or not relative_error(grads[key], factor * expected[key]) <= tolerance:
        return None  # no factor, or 0: a gradient of zeros is not a scaled one
    return key, factor
