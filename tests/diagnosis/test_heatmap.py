"""A heatmap panel writes its values where they can be read, and says why it has none."""

from __future__ import annotations

import numpy as np
import pytest

from bpcheck.diagnosis._heatmap import _panel

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


def test_a_panel_without_values_says_why_and_gives_no_image() -> None:
    figure, axis = plt.subplots()
    try:
        image = _panel(axis, None, "yours missing", 1.0)
        texts = [text.get_text() for text in axis.texts]
    finally:
        plt.close(figure)
    assert image is None
    assert texts == ["not comparable\n(shape differs)"]
