"""The student contract as data: activations, losses, their valid pairings,
and the plain value types (architecture, family, case) the harness passes around."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[Any]

HIDDEN_ACTIVATIONS: tuple[str, ...] = ("linear", "relu", "sigmoid", "tanh")
LOSSES: tuple[str, ...] = ("mse", "bce", "cce")
#: Which output activations each loss may be paired with (the lesson's conventions).
OUTPUT_ACTIVATIONS: dict[str, tuple[str, ...]] = {
    "mse": ("linear", "relu", "sigmoid", "tanh"),
    "bce": ("sigmoid",),
    "cce": ("softmax",),
}
#: The smallest output layer each loss makes sense with.
MIN_OUTPUT_WIDTH: dict[str, int] = {"mse": 1, "bce": 1, "cce": 2}


def gradient_name(parameter: str) -> str:
    """The key a student's ``backward`` uses for a parameter's gradient: W2 -> dW2."""
    return f"d{parameter}"


@dataclass(frozen=True)
class Architecture:
    """A network: ``widths`` = (n0, n1, ..., nL), one activation per layer, and a loss.

    ``biases``: whether each layer has a bias bℓ (the lesson's z = W a + b). A
    network without biases (z = W a) has no bℓ among its parameters and no dbℓ
    among the gradients a student owes.
    """

    widths: tuple[int, ...]
    activations: tuple[str, ...]
    loss: str
    biases: bool = True

    def __post_init__(self) -> None:
        if len(self.widths) != len(self.activations) + 1:
            raise ValueError(
                f"widths={self.widths} needs exactly one more entry than "
                f"activations={self.activations}"
            )

    @property
    def depth(self) -> int:
        return len(self.activations)

    def parameter_shapes(self) -> dict[str, tuple[int, int]]:
        shapes: dict[str, tuple[int, int]] = {}
        for layer in range(1, self.depth + 1):
            shapes[f"W{layer}"] = (self.widths[layer], self.widths[layer - 1])
            if self.biases:
                shapes[f"b{layer}"] = (self.widths[layer], 1)
        return shapes

    def describe(self) -> str:
        """``2 → 3 relu → 1 linear, mse``: readable in a failure message
        (``…, mse, no biases`` for a network without them)."""
        layers = " → ".join(
            f"{width} {activation}" for width, activation in zip(self.widths[1:], self.activations, strict=True)
        )
        return f"{self.widths[0]} → {layers}, {self.loss}" + ("" if self.biases else ", no biases")


@dataclass(frozen=True, order=True)
class Family:
    """A network family: the hidden-layer activation and the loss.

    Checks are parametrized by family so that a student earns partial credit for
    the families they got right. ``output`` is the output activation the loss
    implies; mse families draw theirs from every valid one.
    """

    hidden: str
    loss: str

    @property
    def id(self) -> str:
        return f"{self.hidden}-{self.loss}"

    @property
    def output_activations(self) -> tuple[str, ...]:
        return OUTPUT_ACTIVATIONS[self.loss]


def all_families(
    hidden_activations: tuple[str, ...] = HIDDEN_ACTIVATIONS, losses: tuple[str, ...] = LOSSES
) -> list[Family]:
    return [Family(hidden, loss) for hidden in hidden_activations for loss in losses]


@dataclass(frozen=True, eq=False)
class Case:
    """One concrete input to the student's functions: a network, its parameters,
    a batch X of shape (n0, M) and targets Y of shape (nL, M)."""

    architecture: Architecture
    params: dict[str, Array] = field(repr=False)
    X: Array = field(repr=False)
    Y: Array = field(repr=False)

    @property
    def batch_size(self) -> int:
        return int(self.X.shape[1])

    def with_batch(self, X: Array, Y: Array) -> Case:
        return Case(self.architecture, self.params, X, Y)

    def with_params(self, params: dict[str, Array]) -> Case:
        return Case(self.architecture, params, self.X, self.Y)

    def describe(self) -> str:
        return f"{self.architecture.describe()}; batch of {self.batch_size}"

    def arrays(self) -> dict[str, Array]:
        """All arrays of the case, by name, in a stable order (for reports)."""
        return {**self.params, "X": self.X, "Y": self.Y}

    def size(self) -> int:
        return sum(int(np.size(value)) for value in self.arrays().values())
