"""The catalogue of known mistakes that failing gradients are matched against.

A :class:`Mistake` declares an id (stable: reports key on it), the lesson's
explanation, the fix, and the pitfall it belongs to. Plugins extend the
catalogue through the ``bpcheck_mistakes`` hook.
"""

from __future__ import annotations

from dataclasses import dataclass

from bpcheck._hookimpl import hookimpl


@dataclass(frozen=True)
class Mistake:
    """A mistake students make, in the lesson's words."""

    id: str
    title: str
    explanation: str
    fix: str
    lesson: str


@hookimpl
def bpcheck_mistakes() -> list[Mistake]:
    return []
