"""ScaledErrors: the diagnosis's cheap judge of relative_error(got, c * predicted) ≤ tolerance."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import bpcheck._numerics as numerics
from bpcheck._numerics import ScaledErrors, relative_error

DETERMINISTIC = settings(derandomize=True, database=None, deadline=None, max_examples=300)

_values = st.floats(-1e6, 1e6, allow_nan=False, width=64) | st.sampled_from([0.0, 1e-300, -1e-12])
_scales = st.sampled_from([0.0, 1.0, -1.0, 2.0, 0.5, 1 / 3, 16.0, 1 / 16, 1e-8, -1e8])
_tolerances = st.sampled_from([1e-7, 1e-6, 3.4e-4, 1e-2, 0.5])


@given(
    predicted=arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)), elements=_values),
    true_scale=_scales,
    noise=st.sampled_from([0.0, 1e-15, 1e-9, 1e-7, 1e-6, 1e-5, 1e-3, 0.3]),
    scale=_scales,
    tolerance=_tolerances,
    float32=st.booleans(),
)
@DETERMINISTIC
def test_within_gives_exactly_what_relative_error_gives(
    predicted: np.ndarray,
    true_scale: float,
    noise: float,
    scale: float,
    tolerance: float,
    float32: bool,
) -> None:
    """Near matches (noise about the tolerance), exact ones and clear misses, in
    float64 and float32: the answer is relative_error's, every time."""
    rng = np.random.default_rng(zlib.crc32(predicted.tobytes() + repr(noise).encode()))
    got = true_scale * predicted * (1 + noise * rng.standard_normal(predicted.shape))
    if float32:
        got = got.astype(np.float32)
    errors = ScaledErrors(got, predicted)
    for candidate in (
        scale,
        true_scale,
        true_scale * (1 + tolerance),
        true_scale * (1 - tolerance),
    ):
        assert errors.within(candidate, tolerance) == (
            relative_error(got, candidate * predicted) <= tolerance
        )


@pytest.mark.parametrize(
    "got",
    [
        np.array([np.nan, 1.0]),
        np.array([np.inf, 1.0]),
        np.array([1e200, 1e200]),
        np.array([1 + 1j, 2.0]),
    ],
)
def test_non_finite_huge_and_complex_values_are_judged_by_relative_error(got: np.ndarray) -> None:
    predicted = np.array([1.0, 1.0])
    errors = ScaledErrors(got, predicted)
    for scale in (1.0, 1e200, -3.0, np.inf):
        with np.errstate(all="ignore"):
            assert errors.within(scale, 1e-6) == (relative_error(got, scale * predicted) <= 1e-6)


def test_a_clear_miss_is_rejected_without_computing_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The point of the class: wrong scales cost three multiplications, not a
    pass over the arrays. relative_error is only reached near a match."""
    rng = np.random.default_rng(0)
    predicted = rng.standard_normal((20, 30))
    errors = ScaledErrors(2.0 * predicted, predicted)
    calls: list[float] = []

    def counted(got: np.ndarray, expected: np.ndarray, floor: float = numerics.NORM_FLOOR) -> float:
        calls.append(1.0)
        return relative_error(got, expected, floor)

    monkeypatch.setattr(numerics, "relative_error", counted)
    assert not any(errors.within(scale, 1e-6) for scale in (1.0, -2.0, 0.5, 4.0, 0.0, 1.99))
    assert calls == []
    assert errors.within(2.0, 1e-6) and len(calls) == 1
