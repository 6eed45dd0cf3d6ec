"""The style axes and :class:`Style`, one value of every axis.

Every axis is independent of the others: any combination of values is a
correct student by construction. Values are unique across axes, so a style's
id (its values joined by dots) can be read back by :meth:`Style.parse`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import astuple, dataclass, fields, replace
from math import prod


@dataclass(frozen=True)
class Axis:
    """One way correct students differ: its ``values``, and what each means."""

    name: str
    values: tuple[str, ...]
    meaning: str


AXES: tuple[Axis, ...] = (
    Axis(
        "cache",
        ("dict_cache", "tuple_cache", "layer_list", "objects"),
        'what forward returns as its cache: {"A0", "Z1", "A1", ...}; a tuple (Zs, As) of '
        "lists; a list of ((A_prev, W, b), Z) per layer, as in deeplearning.ai; a list of "
        "Layer objects",
    ),
    Axis(
        "traversal",
        ("vectorised", "per_example", "recursive"),
        "backward over the whole batch in a layer loop; one example at a time, summing "
        "outer products; a recursive function per layer",
    ),
    Axis(
        "layout",
        ("columns", "batch_first"),
        "internal arrays (n, M) as in the lesson, or (M, n) with transposes at the edges",
    ),
    Axis("matmul", ("operator", "np_dot", "einsum"), "products written with @, np.dot or np.einsum"),
    Axis(
        "dtype",
        ("float64", "float32", "float32_forward", "float32_backward"),
        "float64 throughout; float32 throughout; forward in float32 and backward with the "
        "float64 params and Y (float64 gradients carrying float32 error); forward in float64 "
        "and backward casting everything to float32",
    ),
    Axis(
        "sigmoid",
        ("sigmoid_exp", "sigmoid_tanh", "sigmoid_logaddexp"),
        "σ(z) as 1 / (1 + exp(−z)), as (1 + tanh(z/2)) / 2, or as exp(−logaddexp(0, −z))",
    ),
    Axis(
        "output_delta",
        ("fused_delta", "textbook_delta", "clipped_textbook_delta"),
        "δ⁽ᴸ⁾ = ŷ − y for bce and cce; or the textbook ∂L/∂ŷ times σ′ or the softmax "
        "Jacobian, with ŷ unclipped or clipped to [1e-12, 1 − 1e-12] (right in exact "
        "arithmetic, inf/nan or 0 once the outputs saturate: see Style.unstable_outputs)",
    ),
    Axis("relu_prime_at_zero", ("relu_prime0", "relu_prime1"), "ReLU′(0) = 0 (z > 0) or 1 (z >= 0)"),
    Axis(
        "derivative_from",
        ("fprime_of_z", "fprime_of_a"),
        "σ′ and tanh′ computed from z, or from the cached output a (a(1 − a), 1 − a²)",
    ),
    Axis(
        "extra_keys",
        ("no_extras", "extra_dA", "extra_dZ"),
        "backward returns only dW and db (dW alone without biases); also dA0 … dA(L−1); "
        "also dZ1 … dZL (batch-shaped)",
    ),
    Axis(
        "storage",
        ("separate_arrays", "buffer_views"),
        "each gradient its own array, or views into one freshly allocated flat buffer",
    ),
    Axis("compute_loss", ("with_loss", "no_loss"), "the optional compute_loss present or absent"),
    Axis("update", ("with_update", "no_update"), "the optional update present or absent"),
    Axis(
        "batch_mean",
        ("mean_in_delta", "mean_in_gradients"),
        "the 1/M applied once in δ⁽ᴸ⁾, or in every dW and db",
    ),
    Axis(
        "softmax",
        ("max_shift", "logsumexp"),
        "softmax stabilised by subtracting the max, or computed as exp(z − logsumexp(z))",
    ),
    Axis(
        "indexing",
        ("numbered_layers", "listed_layers"),
        'layers by number l, looping range(L, 0, -1) over keys f"W{l}"; or by list '
        "position i, looping reversed(range(L))",
    ),
    Axis(
        "output_layer",
        ("output_in_loop", "output_peeled"),
        "the output layer's gradients inside the layer loop, or written out before it",
    ),
    Axis(
        "biases",
        ("with_biases", "no_biases"),
        "z = W a + b with a db per layer; or a network without biases, z = W a, whose code "
        "reads no b and writes no db (run in the bias-free scope, scope.biases = false)",
    ),
)

_AXIS_OF_VALUE = {value: axis.name for axis in AXES for value in axis.values}
assert len(_AXIS_OF_VALUE) == sum(len(axis.values) for axis in AXES), "axis values must be unique"


@dataclass(frozen=True)
class Style:
    """A correct student's habits: one value of every axis in :data:`AXES`."""

    cache: str
    traversal: str
    layout: str
    matmul: str
    dtype: str
    sigmoid: str
    output_delta: str
    relu_prime_at_zero: str
    derivative_from: str
    extra_keys: str
    storage: str
    compute_loss: str
    update: str
    batch_mean: str
    softmax: str
    indexing: str
    output_layer: str
    biases: str

    def __post_init__(self) -> None:
        for axis in AXES:
            value = getattr(self, axis.name)
            if value not in axis.values:
                raise ValueError(f"{axis.name}={value!r}; choose from {', '.join(axis.values)}")

    @property
    def id(self) -> str:
        """The values, dot-separated, in the order of :data:`AXES`."""
        return ".".join(astuple(self))

    @classmethod
    def parse(cls, text: str) -> Style:
        """The style whose :attr:`id` is ``text`` (values in any order, every axis once)."""
        given: dict[str, str] = {}
        for value in text.split("."):
            if value not in _AXIS_OF_VALUE:
                raise ValueError(f"{value!r} is not a value of any style axis")
            given[_AXIS_OF_VALUE[value]] = value
        missing = [axis.name for axis in AXES if axis.name not in given]
        if missing:
            raise ValueError(f"{text!r} gives no value for {', '.join(missing)}")
        return cls(**given)

    def values(self) -> dict[str, str]:
        """Axis name → value."""
        return {field.name: getattr(self, field.name) for field in fields(self)}

    @property
    def has_biases(self) -> bool:
        """Whether the network has biases: params hold bℓ and backward returns dbℓ."""
        return self.biases == "with_biases"

    @property
    def unstable_outputs(self) -> bool:
        """Whether δ⁽ᴸ⁾ is the textbook derivative, which turns inf/nan (or 0 when
        clipped) once the outputs saturate to exactly 0 or 1: such a style is
        correct everywhere except ``numerical_stability`` on :attr:`unstable_losses`,
        which must fail and be named ``unstable_output_delta``."""
        return self.output_delta != "fused_delta"

    @property
    def unstable_losses(self) -> tuple[str, ...]:
        """The losses on which ``numerical_stability`` saturates this style's
        outputs, so that a textbook δ⁽ᴸ⁾ fails there (none for a fused one):
        bce; and cce too without biases, where the check makes its large logits
        by scaling the output weights, which saturates softmax (with biases it
        shifts every softmax logit by the same amount, which leaves ŷ unchanged)."""
        if not self.unstable_outputs:
            return ()
        return ("bce",) if self.has_biases else ("bce", "cce")

    def __str__(self) -> str:
        return self.id


assert [field.name for field in fields(Style)] == [axis.name for axis in AXES]


def style_count(axes: tuple[Axis, ...] = AXES) -> int:
    """How many styles the product of ``axes`` holds."""
    return prod(len(axis.values) for axis in axes)


def all_styles(axes: tuple[Axis, ...] = AXES) -> Iterator[Style]:
    """The product of ``axes``, in a fixed order (the last axis varies fastest)."""
    for values in itertools.product(*(axis.values for axis in axes)):
        yield Style(*values)


def style_at(index: int, axes: tuple[Axis, ...] = AXES) -> Style:
    """The ``index``-th style of :func:`all_styles`, without enumerating the ones before."""
    if not 0 <= index < style_count(axes):
        raise IndexError(f"style index {index} is outside 0..{style_count(axes) - 1}")
    values = []
    for axis in reversed(axes):
        index, position = divmod(index, len(axis.values))
        values.append(axis.values[position])
    return Style(*reversed(values))


def restricted(values: Iterable[str]) -> tuple[Axis, ...]:
    """:data:`AXES` keeping, on each axis that any of ``values`` belongs to, only
    those values: values of one axis are alternatives, of different axes all required."""
    kept: dict[str, list[str]] = {}
    for value in values:
        if value not in _AXIS_OF_VALUE:
            raise ValueError(f"{value!r} is not a value of any style axis")
        kept.setdefault(_AXIS_OF_VALUE[value], []).append(value)
    return tuple(
        replace(axis, values=tuple(v for v in axis.values if v in kept[axis.name]))
        if axis.name in kept
        else axis
        for axis in AXES
    )
