"""The reference backward pass with known mistakes injected, at one layer or all.

A mutant only changes how δ is computed (the output δ, the f′ factor, the W of
the recurrence, or a hidden δ left at zero). How each dW and db is then formed
from δ is a *view* (``δ aᵀ`` or ``a δᵀ``; db summed over the batch, or not),
and uniform scale factors (sign, 2, 1/M) are fitted afterwards; see
:mod:`bpcheck.diagnosis._explain`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import bpcheck_reference as reference
import numpy as np

from bpcheck._contract import Array, Case
from bpcheck.diagnosis._formulas import Formula, formulas

#: Mistakes in the f′ factor of δ, injected with a formula from :func:`formulas`.
DERIVATIVE_MISTAKES = (
    "missing_activation_derivative",
    "activation_derivative_of_output",
    "wrong_activation_derivative",
)


#: Mistakes in the output layer's δ, or in how it is sent down: tried in pairs
#: with the mistakes injected everywhere.
OUTPUT_MISTAKES = (
    "output_activation_derivative_applied_twice",
    "output_derivative_missing_in_recurrence",
    "softmax_diagonal_derivative",
)

#: Mistakes in what the recurrence sends down, injected at one layer or all.
RECURRENCE_MISTAKES = (
    "wrong_layer_in_recurrence",
    "untransposed_weight_in_recurrence",
    "gradient_not_propagated",
)


@dataclass(frozen=True)
class Injection:
    """One mistake in the computation of δ: at ``layer`` only, or everywhere it
    applies when ``layer`` is None. ``variant`` picks the formula text of a
    derivative mistake, or the form of a doubled output derivative."""

    mistake: str
    layer: int | None = None
    variant: str = ""

    def at(self, layer: int) -> bool:
        return self.layer is None or self.layer == layer


@dataclass(frozen=True)
class Deltas:
    """δ⁽ˡ⁾ of every layer under some injections, the forward cache, and the
    (mistake, layer) pairs where an injection changed δ on this case."""

    delta: dict[int, Array]
    cache: dict[str, Array]
    effective: frozenset[tuple[str, int]]


def _changed(mutated: Array, correct: Array) -> bool:
    return mutated.shape != correct.shape or not np.allclose(
        mutated, correct, rtol=1e-9, atol=1e-12
    )


class _Mutant:
    """One backward pass of the reference under ``injections``."""

    def __init__(
        self, case: Case, injections: tuple[Injection, ...], cache: dict[str, Array] | None
    ) -> None:
        self.case, self.injections, self.cache = case, injections, cache
        self.effective: set[tuple[str, int]] = set()

    def injected(self, mistake: str, layer: int) -> Injection | None:
        return next((i for i in self.injections if i.mistake == mistake and i.at(layer)), None)

    def choose(self, mistake: str, layer: int, correct: Array, mutated: Array) -> Array:
        if _changed(mutated, correct):
            self.effective.add((mistake, layer))
        return mutated

    def derivative(self, layer: int, Z: Array) -> Array:
        """f_ℓ′(z⁽ˡ⁾), or the formula a derivative injection puts in its place."""
        activation = self.case.architecture.activations[layer - 1]
        known = formulas(activation)
        correct = known[0].function(Z)
        for formula in known[1:]:
            injection = self.injected(formula.mistake, layer)
            if injection is not None and injection.variant in ("", formula.text):
                return self.choose(formula.mistake, layer, correct, formula.function(Z))
        return correct

    def output_delta(self, cache: dict[str, Array]) -> Array:
        architecture, Y = self.case.architecture, self.case.Y
        L, M = architecture.depth, Y.shape[1]
        AL, ZL = cache[f"A{L}"], cache[f"Z{L}"]
        if architecture.loss == "mse":
            return reference.loss_gradient(AL, Y, "mse") * self.derivative(L, ZL)
        delta = (AL - Y) / M
        if self.injected("softmax_diagonal_derivative", L) and architecture.loss == "cce":
            return self.choose("softmax_diagonal_derivative", L, delta, -Y * (1 - AL) / M)
        injection = self.injected("output_activation_derivative_applied_twice", L)
        if injection is None:
            return delta
        return self.choose(injection.mistake, L, delta, _DOUBLED[injection.variant](delta, AL))

    def propagated(self, delta: Array, cache: dict[str, Array]) -> Array:
        """The output δ as it is sent down the recurrence: δ⁽ᴸ⁾ itself, or ∂L/∂ŷ
        without the output's f′ when that mistake is injected."""
        architecture = self.case.architecture
        L = architecture.depth
        mistake = "output_derivative_missing_in_recurrence"
        if architecture.loss != "mse" or not self.injected(mistake, L - 1):
            return delta
        return self.choose(mistake, L - 1, delta, reference.loss_gradient(cache[f"A{L}"], self.case.Y, "mse"))

    def back(self, layer: int, delta: Array) -> Array:
        """(W⁽ˡ⁾)ᵀ δ⁽ˡ⁾, sent to layer ℓ − 1, or what a recurrence mistake sends instead."""
        params, below = self.case.params, layer - 1
        back = params[f"W{layer}"].T @ delta
        if self.injected("wrong_layer_in_recurrence", below) and _fits(
            params[f"W{below}"].T, delta, back
        ):
            return self.choose("wrong_layer_in_recurrence", below, back, params[f"W{below}"].T @ delta)
        if self.injected("untransposed_weight_in_recurrence", below) and _fits(
            params[f"W{layer}"], delta, back
        ):
            return self.choose(
                "untransposed_weight_in_recurrence", below, back, params[f"W{layer}"] @ delta
            )
        return back

    def run(self) -> Deltas:
        params, architecture = self.case.params, self.case.architecture
        cache = self.cache
        if cache is None:
            _, cache = reference.forward(params, self.case.X, architecture.activations)
        delta = self.output_delta(cache)
        deltas = {architecture.depth: delta}
        delta = self.propagated(delta, cache)
        for layer in range(architecture.depth, 1, -1):
            below = layer - 1
            delta = self.back(layer, delta) * self.derivative(below, cache[f"Z{below}"])
            if self.injected("gradient_not_propagated", below):
                delta = self.choose("gradient_not_propagated", below, delta, np.zeros_like(delta))
            deltas[below] = delta
        return Deltas(deltas, cache, frozenset(self.effective))


def _fits(W_T: Array, delta: Array, back: Array) -> bool:
    return W_T.shape[1] == delta.shape[0] and W_T.shape[0] == back.shape[0]


def _softmax_jacobian_product(delta: Array, AL: Array) -> Array:
    """Jᵀ δ for the softmax Jacobian J = diag(s) − s sᵀ, column by column."""
    return AL * (delta - np.sum(AL * delta, axis=0, keepdims=True))


#: The clean ŷ − y multiplied once more by the output derivative.
_DOUBLED: dict[str, Callable[[Array, Array], Array]] = {
    "f′(z) element-wise": lambda delta, AL: delta * AL * (1 - AL),
    "the softmax Jacobian": _softmax_jacobian_product,
}


def mutant_deltas(
    case: Case, injections: tuple[Injection, ...] = (), cache: dict[str, Array] | None = None
) -> Deltas:
    """δ⁽ˡ⁾ for every layer of ``case`` with ``injections`` made (none: the reference's);
    ``cache`` is the reference's forward cache for ``case``, when already computed."""
    return _Mutant(case, injections, cache).run()


def _derivative_injections(case: Case) -> Iterator[Injection]:
    """Each derivative mistake everywhere (a wrong formula: one per formula), then per layer."""
    architecture = case.architecture
    layers = list(range(1, architecture.depth))
    if architecture.loss == "mse":
        layers.append(architecture.depth)
    written = [
        (layer, formula)
        for layer in layers
        for formula in formulas(architecture.activations[layer - 1])[1:]
    ]
    everywhere = {
        (formula.mistake, formula.text if formula.mistake == "wrong_activation_derivative" else "")
        for _, formula in written
    }
    yield from (Injection(mistake, None, variant) for mistake, variant in sorted(everywhere))
    yield from (Injection(formula.mistake, layer, formula.text) for layer, formula in written)


def single_injections(case: Case) -> Iterator[Injection]:
    """Every one-mistake injection that can change δ on ``case``'s network:
    everywhere, and at each layer alone."""
    architecture = case.architecture
    hidden = range(1, architecture.depth)
    yield from _derivative_injections(case)
    for mistake in RECURRENCE_MISTAKES:
        if architecture.depth > 1:
            yield Injection(mistake)
            yield from (Injection(mistake, layer) for layer in hidden)
    if architecture.depth > 1 and architecture.loss == "mse":
        yield Injection("output_derivative_missing_in_recurrence", architecture.depth - 1)
    if architecture.loss == "cce":
        yield Injection("softmax_diagonal_derivative", architecture.depth)
    if architecture.loss != "mse":
        variants = _DOUBLED if architecture.activations[-1] == "softmax" else list(_DOUBLED)[:1]
        yield from (
            Injection("output_activation_derivative_applied_twice", architecture.depth, variant)
            for variant in variants
        )


def formula_of(case: Case, injection: Injection, layer: int) -> Formula | None:
    """The formula a derivative injection put at ``layer`` of ``case``."""
    for formula in formulas(case.architecture.activations[layer - 1])[1:]:
        if formula.mistake == injection.mistake and injection.variant in ("", formula.text):
            return formula
    return None
