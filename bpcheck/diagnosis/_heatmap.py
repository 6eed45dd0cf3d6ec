"""Heatmaps of dW, layer by layer: the reference's, the student's, and the difference.

Drawn only when matplotlib is installed (the ``plots`` extra), when a report
is written, and when the failing counterexample was small enough for its
values to be kept in the report: one picture per distinct diagnosis. A
transposed dW, dead-unit rows and scale errors show at a glance. The files
are named ``<report>.heatmap.<check>-<family>.png`` (:data:`PICTURES`).
"""

from __future__ import annotations

import glob
import importlib.util
import io
import re
from pathlib import Path
from typing import Any

import numpy as np

from bpcheck._results import CheckResult, LayerRow, diagnosis_key

#: The glob of a report's pictures, given its file stem (``mlp``, ``mlp.partial``);
#: :func:`pictures_of` narrows it to that report's own.
PICTURES = "{stem}.heatmap.*.png"


def available() -> bool:
    """Whether matplotlib can be imported."""
    return importlib.util.find_spec("matplotlib") is not None


def picture_name(stem: str, result: CheckResult) -> str:
    """``mlp.heatmap.gradient_values-relu-mse.png``: a file name safe in Markdown links."""
    return f"{stem}.heatmap.{re.sub(r'[^A-Za-z0-9_.-]+', '-', result.name).strip('-')}.png"


def pictures_of(directory: Path, stem: str) -> list[Path]:
    """Every picture in ``directory`` of the report named ``stem``, and no other
    file: not the pictures of a report whose name merely starts with it
    (``mlp.heatmap.x``'s, which the glob also matches)."""
    prefix = f"{stem}.heatmap."
    return [
        path
        for path in directory.glob(PICTURES.format(stem=glob.escape(stem)))
        if ".heatmap." not in path.name[len(prefix) :]
    ]


def _rows(result: CheckResult) -> list[LayerRow]:
    return [row for row in result.layers if row.reference is not None]


def drawable(result: CheckResult) -> bool:
    return bool(_rows(result))


#: A panel writes its values in its cells up to this many cells, in at most this
#: many columns (wider, the numbers of a 2 x 12 dW ran into each other).
_WRITTEN_CELLS, _WRITTEN_COLUMNS = 36, 8


def _panel(axis, values: np.ndarray | None, title: str, limit: float, absent: str = ""):  # type: ignore[no-untyped-def]
    """One heatmap of ``values`` on the row's shared colour scale (±``limit``), its
    values written in its cells when there are few and the cells are wide
    enough to read them (:data:`_WRITTEN_CELLS`, :data:`_WRITTEN_COLUMNS`); the
    image, or None for no values, where the panel says why (``absent``)."""
    axis.set_title(title, fontsize=9)
    axis.set_xticks([])
    axis.set_yticks([])
    if values is None:
        axis.text(0.5, 0.5, absent, ha="center", va="center", fontsize=8)
        return None
    image = axis.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit)
    if values.size <= _WRITTEN_CELLS and values.shape[-1] <= _WRITTEN_COLUMNS:
        for (i, j), value in np.ndenumerate(values):
            dark = np.isfinite(value) and abs(value) > 0.6 * limit  # inf and nan cells are blank
            colour = "white" if dark else "black"
            axis.text(j, i, f"{value:.2g}", ha="center", va="center", fontsize=7, color=colour)
    return image


def colour_limit(arrays: list[np.ndarray]) -> float:
    """The largest finite magnitude in ``arrays``: the ends of a row's colour
    scale are ± this (1 when there is none). A student's inf or nan does not
    stretch the scale until every finite value looks 0: its cell is left blank
    (and, in a small panel, says inf or nan in black)."""
    finite = [np.abs(a[np.isfinite(a)]) for a in arrays]
    return max((float(np.max(values)) for values in finite if values.size), default=0.0) or 1.0


#: The picture's layout, in inches: each row's height, and the margins around the
#: rows (fixed, so that the figure is drawn once, not measured first as
#: ``tight_layout`` does, which doubled the drawing time).
_ROW_INCHES, _TOP_INCHES, _BOTTOM_INCHES = 2.8, 0.75, 0.15


def _matrix(values: list[Any] | None) -> np.ndarray | None:
    """A row's values as a matrix to draw, or None: missing, or a dW the student
    returned flat or with more axes, which a heatmap cannot show (its panel says
    so, and the report of that failure is written all the same)."""
    if values is None:
        return None
    matrix = np.array(values, dtype=float)  # a null (a non-finite value in JSON) is nan
    return matrix if matrix.ndim == 2 else None


def draw(result: CheckResult) -> bytes:
    """The heatmaps of ``result``'s failing counterexample, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = _rows(result)
    height = _ROW_INCHES * len(rows) + _TOP_INCHES + _BOTTOM_INCHES
    figure, axes = plt.subplots(
        len(rows),
        4,
        figsize=(10, height),
        squeeze=False,
        gridspec_kw={
            "width_ratios": (1, 1, 1, 0.05),
            "left": 0.02,
            "right": 0.93,
            "top": 1 - _TOP_INCHES / height,
            "bottom": _BOTTOM_INCHES / height,
            "wspace": 0.15,
            "hspace": 0.3,
        },
    )
    for (reference_axis, yours_axis, difference_axis, scale_axis), row in zip(
        axes, rows, strict=True
    ):
        reference = np.array(row.reference, dtype=float)
        yours = _matrix(row.yours)
        difference = (
            yours - reference if yours is not None and yours.shape == reference.shape else None
        )
        limit = colour_limit([a for a in (reference, yours, difference) if a is not None])
        where = f"layer {row.layer} ({row.activation})"
        image = _panel(reference_axis, reference, f"{row.parameter} reference, {where}", limit)
        if row.got_shape is None:
            shape = not_drawn = "missing"
        else:  # values are kept for real dWs only (LayerRow)
            shape = "x".join(map(str, row.got_shape)) or "scalar"
            not_drawn = "not a matrix" if row.yours is not None else "not real numbers"
        _panel(yours_axis, yours, f"yours {shape}", limit, not_drawn)
        no_difference = not_drawn if yours is None else "not comparable\n(shape differs)"
        _panel(difference_axis, difference, "yours − reference", limit, no_difference)
        figure.colorbar(image, cax=scale_axis)  # one scale for the row's three panels
    figure.suptitle(
        f"{result.name}: {result.counterexample['summary'] if result.counterexample else ''}",
        fontsize=10,
    )
    picture = io.BytesIO()
    figure.savefig(picture, format="png", dpi=100)
    plt.close(figure)
    return picture.getvalue()


def _size(result: CheckResult) -> int:
    return sum(int(np.size(np.array(row.reference))) for row in _rows(result))


def heatmaps(results: list[CheckResult]) -> list[CheckResult]:
    """The failures to draw: one per distinct diagnosis (:func:`diagnosis_key`),
    the one with the most dW values to show; none without matplotlib."""
    if not available():
        return []
    chosen: dict[tuple[str, ...], CheckResult] = {}
    for result in results:
        if result.status not in ("failed", "error") or not drawable(result):
            continue
        key = diagnosis_key(result)
        if key not in chosen or _size(result) > _size(chosen[key]):
            chosen[key] = result
    return list(chosen.values())
