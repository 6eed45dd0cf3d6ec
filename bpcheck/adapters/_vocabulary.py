"""The course's own words: a check result renamed and re-laid-out for its course.

The checks speak the lesson's contract (``dW2``, ``backward()``, W of shape
(out, in)). This is the one place their results are translated, after the
fact, with the :class:`~bpcheck.adapters.Vocabulary` the adapter supplies, so
that the checks stay course-blind.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import numpy as np

from bpcheck._results import CheckResult, DiagnosisRecord, LayerRow
from bpcheck.adapters._adapter import TEMPLATE, Vocabulary

#: dW2, db1, W3, b1 as whole words (not inside names or quotes, nor superscripts).
_NAME = re.compile(r"(?<![\w'\"\[])(d?)([Wb])(\d+)(?![\w'\"])")
_FUNCTION = re.compile(r"\b(forward|backward|compute_loss|update)\(\)")


def _name(vocabulary: Vocabulary, gradient: bool, kind: str, layer: int) -> str:
    template = (vocabulary.gradients if gradient else vocabulary.parameters)[kind]
    return template.format(layer=layer, index=layer - 1, name=f"{kind}{layer}")


def text(vocabulary: Vocabulary, words: str) -> str:
    """``words`` with the contract's gradient, parameter and function names in the
    course's, and its template as the course's starter code."""

    def name(match: re.Match[str]) -> str:
        return _name(vocabulary, bool(match.group(1)), match.group(2), int(match.group(3)))

    def function(match: re.Match[str]) -> str:
        course = vocabulary.functions.get(match.group(1), match.group(1))
        return course if course.endswith(")") else f"{course}()"

    return _FUNCTION.sub(function, _NAME.sub(name, words)).replace(TEMPLATE, vocabulary.starter)


def array(vocabulary: Vocabulary, name: str, value: Any) -> Any:
    """A reported array (nested lists) in the student's layout, by its lesson name."""
    if value is None:
        return None
    values = np.asarray(value)
    kind = name.lstrip("d")[:1]
    if name in ("X", "Y") and vocabulary.batch_first:
        values = values.T
    if name == "Y" and vocabulary.class_indices:
        values = np.argmax(values, axis=-1 if vocabulary.batch_first else 0)
    elif kind == "W" and name.lstrip("d")[1:].isdigit() and vocabulary.weights_in_out:
        values = values.T
    elif kind == "b" and name.lstrip("d")[1:].isdigit() and values.ndim == 2:
        values = values[:, 0] if vocabulary.bias == "flat" else values.T if vocabulary.bias == "row" else values
    return values.tolist()


def _key(vocabulary: Vocabulary, name: str) -> str:
    return text(vocabulary, name) if _NAME.fullmatch(name) else name


def _shape(vocabulary: Vocabulary, name: str, shape: list[int] | None) -> list[int] | None:
    """A reported shape as the student sees it (W of (in, out), a flat b, …)."""
    if shape is None or not _NAME.fullmatch(name):
        return shape
    return list(np.shape(array(vocabulary, name, np.zeros(shape))))


def _layer(vocabulary: Vocabulary, row: LayerRow) -> LayerRow:
    return replace(
        row,
        parameter=_key(vocabulary, row.parameter),
        expected_shape=_shape(vocabulary, row.parameter, row.expected_shape) or row.expected_shape,
        got_shape=_shape(vocabulary, row.parameter, row.got_shape),
        yours=array(vocabulary, row.parameter, row.yours),
        reference=array(vocabulary, row.parameter, row.reference),
    )


def _diagnosis(vocabulary: Vocabulary, diagnosis: DiagnosisRecord) -> DiagnosisRecord:
    translated = dict(diagnosis)
    for field in ("summary", "evidence", "hint"):
        translated[field] = text(vocabulary, diagnosis[field])
    return translated  # type: ignore[return-value]


def in_course_words(vocabulary: Vocabulary, result: CheckResult) -> CheckResult:
    """``result`` as the course names and lays out its objects (unchanged for
    the functional contract's vocabulary)."""
    if vocabulary == Vocabulary():
        return result
    counterexample = result.counterexample
    if counterexample and counterexample.get("arrays"):
        counterexample = {
            **counterexample,
            "arrays": {
                _key(vocabulary, name): array(vocabulary, name, value)
                for name, value in counterexample["arrays"].items()
            },
        }
    return replace(
        result,
        message=text(vocabulary, result.message),
        notes=[text(vocabulary, note) for note in result.notes],
        counterexample=counterexample,
        layers=[_layer(vocabulary, row) for row in result.layers],
        diagnoses=[_diagnosis(vocabulary, diagnosis) for diagnosis in result.diagnoses],
    )
