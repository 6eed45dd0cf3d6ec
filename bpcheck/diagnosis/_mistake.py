"""What a known mistake declares, what its recogniser returns, and the diagnosis built from both."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from bpcheck.diagnosis._evidence import Evidence

#: "high": the evidence was confirmed independently (a second case, a probe, or the
#: harness saw it happen); "medium": it fits the failing case exactly but could not
#: be confirmed.
Confidence = Literal["high", "medium"]


@dataclass(frozen=True)
class Finding:
    """What a recogniser saw: where, and the facts (with numbers) that show it."""

    evidence: str
    layers: tuple[int, ...] = ()
    confidence: Confidence = "high"


Recogniser = Callable[["Evidence"], "Finding | None"]


@dataclass(frozen=True)
class Mistake:
    """A mistake students make, in the lesson's words, and how to recognise it.

    ``id`` is stable: reports and grades key on it. ``title`` says in plain
    words what the code does wrong ("your δ misses f′(z)"). ``lesson`` names
    the lesson pitfall it belongs to. ``recognise`` looks at the
    :class:`~bpcheck.diagnosis.Evidence` of one failing check and returns a
    :class:`Finding` only when that evidence shows this mistake; it must return
    None for a correct implementation.
    """

    id: str
    title: str
    explanation: str
    fix: str
    lesson: str
    recognise: Recogniser = field(repr=False)
