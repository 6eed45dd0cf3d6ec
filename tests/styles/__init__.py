"""bpcheck's style corpus: correct students generated from independent style axes,
and every catalogued mistake injected into each style it can occur in."""

from tests.styles._bugs import CORRECT, Bugs
from tests.styles._module import render
from tests.styles._style import AXES, Axis, Style, all_styles, style_count

__all__ = ["AXES", "CORRECT", "Axis", "Bugs", "Style", "all_styles", "render", "style_count"]
