"""bpcheck's style corpus: correct students generated from independent style axes,
and every catalogued mistake injected into each style it can occur in.

    from tests.styles import Student, all_styles, covering_sample, inject, render

A :class:`Style` holds one value of every axis in :data:`AXES`; every style is
a correct student, whose source :func:`render` writes. :data:`INJECTORS` maps
each mistake id to the function that writes it into a style (:func:`inject`),
giving a :class:`Student`. ``python -m tests.styles STYLE_ID [--mistake ID]``
prints one module.
"""

from tests.styles._bugs import CORRECT, Bugs
from tests.styles._mistakes import (
    COURSE_API_MISTAKES,
    HIDDEN,
    INJECTORS,
    LOSSES,
    NEW_MISTAKES,
    Student,
    inject,
    injections,
    uninjectable,
)
from tests.styles._module import render
from tests.styles._pairwise import covering_sample, every_pair
from tests.styles._style import (
    AXES,
    Axis,
    Style,
    all_styles,
    restricted,
    style_at,
    style_count,
)

__all__ = [
    "AXES",
    "CORRECT",
    "COURSE_API_MISTAKES",
    "HIDDEN",
    "INJECTORS",
    "LOSSES",
    "NEW_MISTAKES",
    "Axis",
    "Bugs",
    "Student",
    "Style",
    "all_styles",
    "covering_sample",
    "every_pair",
    "inject",
    "injections",
    "render",
    "restricted",
    "style_at",
    "style_count",
    "uninjectable",
]
