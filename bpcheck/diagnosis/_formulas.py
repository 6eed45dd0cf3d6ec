"""Every way of writing an activation's f′ that the catalogue knows, right or wrong.

The mutants inject them into the reference, and the derivative probe compares
a student's recovered f′ against them, quoting their text in messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import bpcheck_reference as reference
import numpy as np

from bpcheck._contract import Array

Function = Callable[[Array], Array]

#: The lesson's f′(z) for each activation, as text.
EXPECTED_TEXT = {
    "linear": "1",
    "relu": "1 if z > 0 else 0",
    "sigmoid": "σ(z)(1 − σ(z))",
    "tanh": "1 − tanh²(z)",
}

SYMBOL = {"linear": "linear", "relu": "ReLU", "sigmoid": "σ", "tanh": "tanh"}


@dataclass(frozen=True)
class Formula:
    """``text`` written for f′ of ``activation``; ``mistake`` is the catalogue id
    it amounts to, or "" for the correct derivative."""

    activation: str
    text: str
    mistake: str
    function: Function


def _f(name: str) -> Function:
    return reference.ACTIVATIONS[name][0]


def _prime(name: str) -> Function:
    derivative = reference.ACTIVATIONS[name][1]
    assert derivative is not None
    return derivative


_sigmoid, _tanh = _f("sigmoid"), _f("tanh")

#: Misformulas students write, by activation ("a wrong formula for one activation's f′").
_WRONG: dict[str, dict[str, Function]] = {
    "linear": {"z": lambda z: z},
    "relu": {"max(0, z)": lambda z: np.maximum(0.0, z), "sign(z)": np.sign},
    "sigmoid": {
        "σ(z)(1 + σ(z))": lambda z: _sigmoid(z) * (1 + _sigmoid(z)),
        "z(1 − z)": lambda z: z * (1 - z),
        "1 − σ²(z)": lambda z: 1 - _sigmoid(z) ** 2,
        "σ(z)": _sigmoid,
    },
    "tanh": {
        "1 − z²": lambda z: 1 - z**2,
        "1 − tanh(z)": lambda z: 1 - _tanh(z),
        "1 + tanh²(z)": lambda z: 1 + _tanh(z) ** 2,
        "tanh(z)(1 − tanh(z))": lambda z: _tanh(z) * (1 - _tanh(z)),
    },
}

HIDDEN = tuple(EXPECTED_TEXT)

#: Derivative mistakes whose f′ another one gives exactly, for one activation:
#: ReLU′ evaluated at a = ReLU(z) ≥ 0 with the convention ReLU′(0) = 1 is 1
#: everywhere, so on ReLU layers "f′ of the output" gives the same gradients as
#: "no f′ at all".
_SAME_GRADIENTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("missing_activation_derivative", "relu"): ("activation_derivative_of_output",),
}


def same_gradients(mistake: str, activations: tuple[str, ...]) -> tuple[str, ...]:
    """The other mistakes that give exactly ``mistake``'s gradients on layers of
    every one of ``activations`` (none when ``activations`` is empty)."""
    alike = [set(_SAME_GRADIENTS.get((mistake, activation), ())) for activation in activations]
    return tuple(sorted(set.intersection(*alike))) if alike else ()


@cache
def formulas(activation: str) -> tuple[Formula, ...]:
    """The correct f′ of ``activation`` first, then every known wrong one: none
    (missing_activation_derivative), f′(a) (activation_derivative_of_output),
    the misformulas, and another activation's f′ (wrong_activation_derivative)."""
    if activation not in EXPECTED_TEXT:
        return ()
    prime, f = _prime(activation), _f(activation)
    symbol = SYMBOL[activation]
    found = [
        Formula(activation, EXPECTED_TEXT[activation], "", prime),
        Formula(activation, "1 (no f′ at all)", "missing_activation_derivative", np.ones_like),
        Formula(
            activation,
            f"{symbol}′(a), with a = {symbol}(z)",
            "activation_derivative_of_output",
            lambda z: prime(f(z)),
        ),
    ]
    found += [
        Formula(activation, text, "wrong_activation_derivative", function)
        for text, function in _WRONG[activation].items()
    ]
    found += [
        Formula(
            activation,
            f"{SYMBOL[other]}′(z) = {EXPECTED_TEXT[other]}",
            "wrong_activation_derivative",
            _prime(other),
        )
        for other in HIDDEN
        if other not in (activation, "linear")
    ]
    return tuple(found)


def expected(activation: str) -> Formula | None:
    """The correct f′ of ``activation``; None for softmax (output layer only)."""
    known = formulas(activation)
    return known[0] if known else None
