"""The ``expect_*`` helpers every check body fails through.

Each raises :class:`~bpcheck.checks.CheckFailure` with a message that says
what was expected and what arrived. A NaN is never within a tolerance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from bpcheck._contract import Array, Case, gradient_name
from bpcheck._numerics import NORM_FLOOR, relative_error
from bpcheck._sandbox.calls import Reply
from bpcheck.checks._base import CheckFailure


def expect(condition: bool, message: str, **failure: Any) -> None:
    """Fail with ``message`` (and CheckFailure keyword arguments) unless ``condition``."""
    if not condition:
        raise CheckFailure(message, **failure)


def within(error: float, tolerance: float) -> bool:
    """``error ≤ tolerance``, False for NaN."""
    return bool(error <= tolerance)


def gradient_problems(reply: Reply, case: Case) -> list[str]:
    """What is wrong with the contract's gradients in ``reply``, one line each:
    missing, not a numpy array, not floating point, misshapen, not finite."""
    problems = []
    for name, shape in case.architecture.parameter_shapes().items():
        key = gradient_name(name)
        if key not in reply.grads:
            problems.append(f"{key} is missing")
            continue
        got = reply.grads[key]
        if key in reply.returned_types:
            problems.append(f"{key} is a {reply.returned_types[key]}, not a numpy array")
        elif not np.issubdtype(got.dtype, np.floating):
            problems.append(f"{key} has dtype {got.dtype}; gradients must be real floating point")
        elif got.shape != shape:
            problems.append(f"{key} has shape {got.shape}; {name} has shape {shape}")
        elif not np.all(np.isfinite(got)):
            problems.append(f"{key} contains {nonfinite(got)}")
    return problems


def expect_gradient_shapes(reply: Reply, case: Case) -> None:
    """Every dWℓ and dbℓ is present, a finite floating numpy array, and exactly
    its parameter's shape (extra keys are ignored)."""
    problems = gradient_problems(reply, case)
    expect(
        not problems,
        "backward() returned gradients that break the contract:\n- " + "\n- ".join(problems),
        case=case,
        gradients=reply.grads,
    )


def nonfinite(array: Array) -> str:
    """ "nan", "inf" or "nan and inf": what the non-finite entries of ``array`` are."""
    kinds = [name for name, mask in (("nan", np.isnan(array)), ("inf", np.isinf(array))) if mask.any()]
    return " and ".join(kinds)


def expect_finite(what: str, value: Array, case: Case, **failure: Any) -> None:
    expect(
        bool(np.all(np.isfinite(value))),
        f"{what} contains {nonfinite(np.asarray(value))}",
        case=case,
        **failure,
    )


def expect_close(
    what: str, got: Array | float, expected: Array | float, tolerance: float, case: Case
) -> None:
    """``got`` has ``expected``'s shape, holds real numbers, and is within
    ``tolerance`` relative error."""
    got, expected = np.asarray(got), np.asarray(expected)
    expect(
        got.shape == expected.shape,
        f"{what} has shape {got.shape}; expected {expected.shape}",
        case=case,
    )
    expect(
        got.dtype.kind != "c",
        f"{what} has dtype {got.dtype}; expected real numbers (a complex array is not one, "
        "even where its imaginary part is 0)",
        case=case,
    )
    expect_finite(what, got, case)
    error = relative_error(got, expected)
    expect(
        within(error, tolerance),
        f"{what} is off: relative error {error:.3g} against the reference "
        f"(tolerance {tolerance:g})",
        case=case,
    )


def expect_gradients_match(
    got: Mapping[str, Array],
    expected: Mapping[str, Array],
    tolerance: float,
    case: Case,
    against: str,
    notes: tuple[str, ...] = (),
    error: Callable[[str, Array], float] | None = None,
    floor: float = NORM_FLOOR,
    tolerances: Mapping[str, float] | None = None,
) -> None:
    """Every expected gradient is matched within ``tolerance`` relative error, or
    its own in ``tolerances`` (computed by ``error(key, got)`` when given, else
    :func:`relative_error` with ``floor``); keys of ``got`` that ``expected``
    lacks are ignored."""
    measure = error or (lambda key, value: relative_error(value, expected[key], floor))
    allowed = {key: (tolerances or {}).get(key, tolerance) for key in expected}
    errors = {
        key: measure(key, got[key])
        for key, value in expected.items()
        if key in got and got[key].shape == value.shape
    }
    wrong = [key for key in expected if key not in errors or not within(errors[key], allowed[key])]

    def described(key: str) -> str:
        if key not in errors:
            return f"{key}: missing or misshapen"
        own = f" (its tolerance {allowed[key]:.3g})" if allowed[key] != tolerance else ""
        return f"{key}: relative error {errors[key]:.3g}{own}"

    expect(
        not wrong,
        f"gradients disagree with {against} (tolerance {tolerance:g}): "
        + "; ".join(map(described, wrong)),
        case=case,
        gradients=got,
        notes=notes,
    )
