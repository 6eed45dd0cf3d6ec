"""Heatmap panels: values written where they can be read, a reason where there are none,
and a colour scale that spans the finite values."""

from __future__ import annotations

import numpy as np
import pytest

from bpcheck._results import CheckResult, LayerRow
from bpcheck.diagnosis._heatmap import _panel, colour_limit, draw

plt = pytest.importorskip("matplotlib.pyplot")


@pytest.mark.parametrize(
    ("shape", "written"),
    [((3, 2), True), ((4, 8), True), ((2, 12), False), ((1, 9), False), ((8, 8), False)],
)
def test_a_panel_writes_its_values_only_where_they_can_be_read(
    shape: tuple[int, int], written: bool
) -> None:
    values = np.arange(np.prod(shape), dtype=float).reshape(shape) - 3.0
    figure, axis = plt.subplots()
    try:
        image = _panel(axis, values, "dW1", float(np.max(np.abs(values))))
        texts = [text.get_text() for text in axis.texts]
    finally:
        plt.close(figure)
    assert image is not None
    assert texts == ([f"{value:.2g}" for value in values.flat] if written else [])


def test_a_panel_writes_inf_and_nan_in_black_on_their_blank_cells() -> None:
    values = np.array([[np.inf, -np.inf], [np.nan, 2.0]])
    figure, axis = plt.subplots()
    try:
        _panel(axis, values, "yours", 2.0)
        written = {text.get_text(): text.get_color() for text in axis.texts}
    finally:
        plt.close(figure)
    assert written == {"inf": "black", "-inf": "black", "nan": "black", "2": "white"}


def test_a_panel_without_values_says_why_and_gives_no_image() -> None:
    figure, axis = plt.subplots()
    try:
        image = _panel(axis, None, "yours", 1.0, "not real numbers")
        texts = [text.get_text() for text in axis.texts]
    finally:
        plt.close(figure)
    assert image is None
    assert texts == ["not real numbers"]


@pytest.mark.parametrize(
    "yours",
    [
        [0.5, -1.0, 2.0, 1.0, 0.0, -0.5],  # flattened
        [[[0.5, -1.0, 2.0]], [[1.0, 0.0, -0.5]]],  # an extra axis
        0.5,  # a scalar
    ],
)
def test_a_dw_that_is_not_a_matrix_still_gets_its_picture(yours: object) -> None:
    """A student whose dW1 is not a matrix fails gradient_shapes; the report of
    that failure must still be written, with its heatmap."""
    reference = [[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]]
    shape = list(np.shape(yours))
    row = LayerRow(1, "dW1", "relu", [2, 3], shape, None, None, None, yours, reference)  # type: ignore[arg-type]
    result = CheckResult("gradient_shapes", "relu-mse", "claim", "failed", 0.0, 1.0, layers=[row])
    assert draw(result).startswith(b"\x89PNG")


def test_a_rows_colour_scale_spans_its_finite_values_only() -> None:
    reference = np.array([[0.5, -2.0], [1.0, 0.0]])
    yours = np.array([[np.inf, -2.0], [np.nan, 0.0]])
    assert colour_limit([reference, yours, yours - reference]) == 2.0
    assert colour_limit([np.zeros((2, 2)), np.full((2, 2), np.nan)]) == 1.0
