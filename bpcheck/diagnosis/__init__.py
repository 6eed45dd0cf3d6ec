"""Diagnosis: name the mistake behind a failing check, in the lesson's words.

A :class:`Mistake` declares its id, its text and its recogniser; the built-in
catalogue is contributed through the ``bpcheck_mistakes`` hook like any
plugin's. :func:`diagnose` runs every recogniser on the :class:`Evidence` of one
failing check. See ``docs/mistakes.md``.
"""

from __future__ import annotations

from bpcheck.diagnosis._catalogue import BUILTIN_MISTAKES, bpcheck_mistakes
from bpcheck.diagnosis._diagnose import collect_mistakes, diagnose
from bpcheck.diagnosis._evidence import Evidence
from bpcheck.diagnosis._mistake import Confidence, Finding, Mistake, Recogniser

__all__ = [
    "BUILTIN_MISTAKES",
    "Confidence",
    "Evidence",
    "Finding",
    "Mistake",
    "Recogniser",
    "bpcheck_mistakes",
    "collect_mistakes",
    "diagnose",
]
