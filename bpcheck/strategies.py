"""Hypothesis strategies for networks, batches and whole test cases.

Each strategy validates its arguments first and then composes simple
strategies, in the manner of :mod:`hypothesis.extra.numpy`. Keyword arguments
left as None are derived from the others, as each docstring explains.

Parameters and data are drawn from a seeded NumPy generator rather than
element by element: Hypothesis then shrinks the *architecture and batch* to
the smallest failing network, and the seed to 0, which is what a
counterexample for backprop needs, and drawing stays fast.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import bpcheck_reference as reference
from bpcheck._contract import (
    HIDDEN_ACTIVATIONS,
    LOSSES,
    MIN_OUTPUT_WIDTH,
    OUTPUT_ACTIVATIONS,
    Architecture,
    Array,
    Case,
)

__all__ = ["architectures", "batch_sizes", "cases", "parameters", "repair_kinks", "targets"]

#: Default margin that every ReLU pre-activation keeps from the kink at 0.
DEFAULT_KINK_MARGIN = 0.1


# ------------------------------------------------------------------ validation


def _check_int(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgument(f"Expected int but got {name}={value!r} (type={type(value).__name__})")


def _check_bounds(lower_name: str, lower: int, upper_name: str, upper: int, least: int) -> None:
    _check_int(lower_name, lower)
    _check_int(upper_name, upper)
    if lower < least:
        raise InvalidArgument(f"{lower_name}={lower} must be at least {least}")
    if lower > upper:
        raise InvalidArgument(f"{lower_name}={lower} is larger than {upper_name}={upper}")


def _check_choices(name: str, values: Any, allowed: Sequence[str]) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise InvalidArgument(
            f"Expected a sequence of names but got {name}={values!r} (type={type(values).__name__})"
        )
    if not values:
        raise InvalidArgument(f"{name}={values!r} is empty; choose from {', '.join(allowed)}")
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise InvalidArgument(
            f"{name}={list(values)!r} contains unknown {unknown[0]!r}; choose from {', '.join(allowed)}"
        )
    return tuple(values)


# ---------------------------------------------------------------- architectures


def architectures(
    *,
    hidden_activations: Sequence[str] | None = None,
    losses: Sequence[str] | None = None,
    output_activations: Sequence[str] | None = None,
    min_depth: int = 1,
    max_depth: int = 4,
    min_width: int = 1,
    max_width: int = 8,
    widths: Sequence[int] | None = None,
    output_width: int | None = None,
    square_hidden: bool = False,
    biases: bool = True,
) -> st.SearchStrategy[Architecture]:
    """Networks of ``min_depth``..``max_depth`` layers, ``min_width``..``max_width`` units.

    ``hidden_activations`` (default: all four) restricts the hidden layers and
    ``losses`` (default: mse, bce, cce) the loss. The output activation is one
    the loss allows (mse: any but softmax; bce: sigmoid; cce: softmax), further
    restricted by ``output_activations`` when given. cce outputs have at least
    2 units. About half the draws make every width equal (every width but the
    output's when ``output_width`` is fixed), so that square layers, where a
    transposed dW or the wrong layer's W still fits, come up often.

    ``widths`` (n0, …, nL) fixes every size, and so the depth, overriding the
    depth and width bounds; ``output_width`` fixes nL alone; ``square_hidden``
    makes every hidden layer as wide as the first. ``biases=False`` draws
    networks without biases (z = W a).
    """
    if widths is not None:
        if isinstance(widths, str) or not isinstance(widths, Sequence) or len(widths) < 2:
            raise InvalidArgument(
                f"Expected a sequence of at least two widths but got widths={widths!r}"
            )
        for index, width in enumerate(widths):
            _check_bounds(f"widths[{index}]", width, f"widths[{index}]", width, least=1)
        min_depth = max_depth = len(widths) - 1
        min_width, max_width = min(widths), max(widths)
    if output_width is not None:
        _check_bounds("output_width", output_width, "max_width", max_width, least=1)
    _check_bounds("min_depth", min_depth, "max_depth", max_depth, least=1)
    _check_bounds("min_width", min_width, "max_width", max_width, least=1)
    hidden = _check_choices(
        "hidden_activations",
        HIDDEN_ACTIVATIONS if hidden_activations is None else hidden_activations,
        HIDDEN_ACTIVATIONS,
    )
    chosen_losses = _check_choices("losses", LOSSES if losses is None else losses, LOSSES)
    outputs_allowed = sorted({name for loss in LOSSES for name in OUTPUT_ACTIVATIONS[loss]})
    outputs = (
        _check_choices("output_activations", output_activations, outputs_allowed)
        if output_activations is not None
        else tuple(outputs_allowed)
    )
    last = widths[-1] if widths is not None else output_width
    pairings = [
        (loss, output)
        for loss in chosen_losses
        for output in OUTPUT_ACTIVATIONS[loss]
        if output in outputs
        and (
            last >= MIN_OUTPUT_WIDTH[loss]
            if last is not None
            else max(min_width, MIN_OUTPUT_WIDTH[loss]) <= max_width
        )
    ]
    if not pairings:
        raise InvalidArgument(
            f"no valid output layer for losses={list(chosen_losses)!r}, "
            f"output_activations={list(outputs)!r} and output width {last or f'≤ {max_width}'}: "
            "mse pairs with linear/relu/sigmoid/tanh, bce with sigmoid, cce with softmax of "
            "at least 2 units"
        )
    shape = _Shape(
        min_depth,
        max_depth,
        min_width,
        max_width,
        tuple(widths) if widths is not None else None,
        output_width,
        bool(square_hidden),
    )
    if not isinstance(biases, bool):
        raise InvalidArgument(f"Expected bool but got biases={biases!r} (type={type(biases).__name__})")
    return _architectures(hidden, tuple(pairings), shape, biases)


@dataclass(frozen=True)
class _Shape:
    """The validated size bounds of :func:`architectures`."""

    min_depth: int
    max_depth: int
    min_width: int
    max_width: int
    widths: tuple[int, ...] | None
    output_width: int | None
    square_hidden: bool


@st.composite
def _architectures(
    draw: st.DrawFn,
    hidden: tuple[str, ...],
    pairings: tuple[tuple[str, str], ...],
    shape: _Shape,
    biases: bool,
) -> Architecture:
    loss, output = pairings[0] if len(pairings) == 1 else draw(_one_of(pairings))
    if shape.widths is not None:
        depth, widths = len(shape.widths) - 1, shape.widths
    else:
        depth = draw(st.integers(shape.min_depth, shape.max_depth))
        widths = _draw_widths(draw, depth, max(shape.min_width, MIN_OUTPUT_WIDTH[loss]), shape)
    if len(hidden) == 1:  # one family's networks: nothing to draw (and nothing to shrink)
        activations = hidden * (depth - 1) + (output,)
    else:
        activations = tuple(draw(_one_of(hidden)) for _ in range(depth - 1)) + (output,)
    return Architecture(widths, activations, loss, biases)


@functools.cache
def _one_of(options: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """``st.sampled_from(options)``, built once: Hypothesis builds a new
    strategy at each call, and validates each new one as it is first drawn."""
    return st.sampled_from(options)


def _draw_widths(draw: st.DrawFn, depth: int, min_output: int, shape: _Shape) -> tuple[int, ...]:
    """n0..nL: all equal about half the time (but a fixed output width), else independent."""
    width = st.integers(shape.min_width, shape.max_width)
    output = shape.output_width
    if draw(st.booleans()):
        if output is not None:
            return (draw(width),) * depth + (output,)
        return (draw(st.integers(min_output, shape.max_width)),) * (depth + 1)
    inner = [draw(width) for _ in range(depth)]
    if shape.square_hidden:
        inner[1:] = [inner[1]] * (depth - 1) if depth > 1 else []
    last = output if output is not None else draw(st.integers(min_output, shape.max_width))
    return tuple(inner) + (last,)


def batch_sizes(*, min_size: int = 1, max_size: int = 8) -> st.SearchStrategy[int]:
    """Batch sizes M from ``min_size`` to ``max_size``."""
    _check_bounds("min_size", min_size, "max_size", max_size, least=1)
    return st.integers(min_size, max_size)


# ------------------------------------------------------------- arrays for a case


def _draw_parameters(rng: np.random.Generator, architecture: Architecture) -> dict[str, Array]:
    params: dict[str, Array] = {}
    for name, shape in architecture.parameter_shapes().items():
        fan_in = architecture.widths[int(name[1:]) - 1]
        scale = 1.0 / np.sqrt(fan_in) if name.startswith("W") else 0.5
        params[name] = rng.normal(0.0, 1.0, size=shape) * scale
    return params


def _draw_targets(
    rng: np.random.Generator, loss: str, width: int, batch: int, hard: bool = False
) -> Array:
    if loss == "mse":
        return rng.normal(0.0, 1.0, size=(width, batch))
    if loss == "bce":
        # Hard 0/1 labels or soft probabilities, both valid bce targets.
        if hard or rng.random() < 0.5:
            return rng.integers(0, 2, size=(width, batch)).astype(np.float64)
        return rng.uniform(0.0, 1.0, size=(width, batch))
    # cce: one-hot columns, or probability columns on the simplex.
    if hard or rng.random() < 0.5:
        return np.eye(width)[:, rng.integers(0, width, size=batch)]
    return rng.dirichlet(np.ones(width), size=batch).T


def parameters(architecture: Architecture) -> st.SearchStrategy[dict[str, Array]]:
    """Parameters W1, b1, ... for ``architecture``: W ~ N(0, 1/n_in), b ~ N(0, 0.25)."""
    if not isinstance(architecture, Architecture):
        raise InvalidArgument(
            f"Expected Architecture but got architecture={architecture!r} "
            f"(type={type(architecture).__name__})"
        )
    return st.builds(
        lambda seed: _draw_parameters(np.random.default_rng(seed), architecture), _seeds()
    )


def targets(
    loss: str, width: int, batch_size: int, *, hard_labels: bool = False
) -> st.SearchStrategy[Array]:
    """Targets Y of shape (width, batch_size) valid for ``loss``: any real for mse,
    in [0, 1] for bce, columns on the simplex for cce; with ``hard_labels``,
    only 0/1 for bce and one-hot columns for cce."""
    _check_choices("loss", [loss], LOSSES)
    _check_bounds("width", width, "width", width, least=MIN_OUTPUT_WIDTH[loss])
    _check_bounds("batch_size", batch_size, "batch_size", batch_size, least=1)
    return st.builds(
        lambda seed: _draw_targets(
            np.random.default_rng(seed), loss, width, batch_size, bool(hard_labels)
        ),
        _seeds(),
    )


def _seeds() -> st.SearchStrategy[int]:
    return st.integers(0, 2**32 - 1)


# ---------------------------------------------------------------------- kinks


def repair_kinks(case: Case, margin: float = DEFAULT_KINK_MARGIN) -> Case:
    """``case`` with ReLU pre-activations moved so every one has |z| ≥ margin.

    Layer by layer, each ReLU unit whose pre-activations come within ``margin``
    of 0 gets the nearest bias that clears them all. In a network without
    biases its weights change instead, each by the least that clears the
    examples it moves (at most :data:`MAX_WEIGHT_SHIFT`; an example whose
    inputs to the unit are too small for that is left as it is: no change of
    weight that small moves its pre-activation far). Nothing else changes, so
    finite differences never straddle a kink.
    """
    return _repaired(case, margin)[0]


def _repaired(case: Case, margin: float) -> tuple[Case, bool]:
    """:func:`repair_kinks`'s case, and whether it cleared every kink: always
    with biases; without, every example but those whose inputs to the layer
    are all exactly 0 (a dead layer below). Their z is 0 whatever the weights,
    and whichever ReLU′(0) a student takes, no gradient passes through them
    (the dead layer's f′ stops it)."""
    params = {name: value.copy() for name, value in case.params.items()}
    A, cleared = case.X, True
    for layer, activation in enumerate(case.architecture.activations, start=1):
        W, b = params[f"W{layer}"], params.get(f"b{layer}")
        if activation == "relu":
            products = W @ A
            for unit in range(W.shape[0]):
                if b is not None:
                    b[unit, 0] = _nearest_clear(products[unit], np.ones(A.shape[1]), b[unit, 0], margin)
                else:
                    cleared = _clear_by_weight(W[unit], products[unit], A, margin) and cleared
        A = reference.ACTIVATIONS[activation][0](W @ A + (0.0 if b is None else b))
    return case.with_params(params), cleared


#: The largest change :func:`repair_kinks` makes to a weight of a network without biases.
MAX_WEIGHT_SHIFT = 1.0


def _clear_by_weight(row: Array, products: Array, A: Array, margin: float) -> bool:
    """Clear a unit's pre-activations ``products = row @ A`` by changing its
    weights ``row`` in place, one entry at a time, each by the least that
    clears every example it moves (at most :data:`MAX_WEIGHT_SHIFT`). Examples
    whose inputs are too small for such a change to clear them are left.
    Whether every example with inputs not all 0 is clear at the end."""
    reachable = np.abs(A).max(axis=0) * MAX_WEIGHT_SHIFT >= margin
    for _ in range(row.shape[0]):
        near = reachable & (np.abs(products) < margin * (1 - 1e-9))
        if not near.any():
            break
        best: tuple[float, int, float] | None = None
        for k in range(row.shape[0]):
            moving = reachable & (A[k] != 0)
            if not (near & moving).any():
                continue
            others = products[moving] - row[k] * A[k, moving]
            weight = _nearest_clear(others, A[k, moving], row[k], margin)
            shift = abs(weight - row[k])
            if 0 < shift <= MAX_WEIGHT_SHIFT and (best is None or shift < best[0]):
                best = (shift, k, weight)
        if best is None:
            break
        _, k, weight = best
        products = products + (weight - row[k]) * A[k]
        row[k] = weight
    live = np.any(A != 0, axis=0)
    return not np.any(live & (np.abs(products) < margin * (1 - 1e-9)))


def _nearest_clear(products: Array, direction: Array, value: float, margin: float) -> float:
    """The ``t`` nearest ``value`` with |products + t·direction| ≥ margin
    everywhere; ``value`` itself when no ``t`` clears them all. The candidates
    are ``value`` and each example's two edges (where it is exactly ``margin``
    from 0), tried all at once; the first nearest wins a tie."""
    moving = direction != 0
    edges = (-products[moving, None] + np.array([-margin, margin])) / direction[moving, None]
    candidates = np.concatenate(([value], edges.ravel()))
    clear = np.all(
        np.abs(products + candidates[:, None] * direction) >= margin * (1 - 1e-9), axis=1
    )
    if not clear.any():
        return float(value)
    options = candidates[clear]
    return float(options[np.argmin(np.abs(options - value))])


# ---------------------------------------------------------------------- cases


def cases(
    *,
    architecture: st.SearchStrategy[Architecture] | None = None,
    batch_size: st.SearchStrategy[int] | None = None,
    kink_margin: float | None = DEFAULT_KINK_MARGIN,
    hard_labels: bool = False,
) -> st.SearchStrategy[Case]:
    """Whole cases: a network, its parameters, a batch X and targets Y.

    ``architecture`` is a strategy for the network, by default
    :func:`architectures` (); ``batch_size`` one for M, by default
    :func:`batch_sizes` (). With ``kink_margin`` (default 0.1) every ReLU
    pre-activation is moved at least that far from 0 (see
    :func:`repair_kinks`; a network without biases whose kinks it cannot
    clear is not drawn, see :func:`_repaired`); pass None to keep kinks,
    e.g. for ReLU′(0) tests.
    ``hard_labels`` draws targets as :func:`targets` does with it.
    """
    for name, value in (("architecture", architecture), ("batch_size", batch_size)):
        if value is not None and not isinstance(value, st.SearchStrategy):
            raise InvalidArgument(
                f"Expected a strategy but got {name}={value!r} (type={type(value).__name__})"
            )
    if kink_margin is not None and not (isinstance(kink_margin, (int, float)) and kink_margin >= 0):
        raise InvalidArgument(f"kink_margin={kink_margin!r} must be a number ≥ 0, or None")
    return _cases(
        architectures() if architecture is None else architecture,
        batch_sizes() if batch_size is None else batch_size,
        kink_margin,
        bool(hard_labels),
    )


@st.composite
def _cases(
    draw: st.DrawFn,
    architecture_strategy: st.SearchStrategy[Architecture],
    batch_size_strategy: st.SearchStrategy[int],
    kink_margin: float | None,
    hard_labels: bool,
) -> Case:
    architecture = draw(architecture_strategy)
    batch = draw(batch_size_strategy)
    rng = np.random.default_rng(draw(_seeds()))
    params = _draw_parameters(rng, architecture)
    X = rng.normal(0.0, 1.0, size=(architecture.widths[0], batch))
    Y = _draw_targets(rng, architecture.loss, architecture.widths[-1], batch, hard_labels)
    case = Case(architecture, params, X, Y)
    if kink_margin is None:
        return case
    case, cleared = _repaired(case, kink_margin)
    assume(cleared)  # a bias clears every kink; capped weight changes may not
    return case
