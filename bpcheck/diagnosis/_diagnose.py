"""Turn the evidence of one failing check into diagnoses, by the catalogue's rules.

Each mistake's recogniser decides for itself; this module only builds the
records, and says so in plain words when the gradients are wrong in a way no
known mistake reproduces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pluggy

from bpcheck._contract import MIN_OUTPUT_WIDTH, Architecture, Case
from bpcheck._manager import collect_declared
from bpcheck._memo import per_case
from bpcheck._results import DiagnosisRecord
from bpcheck._student import Student
from bpcheck.diagnosis._cases import variant_case
from bpcheck.diagnosis._evidence import Evidence, evidence_for
from bpcheck.diagnosis._formulas import same_gradients
from bpcheck.diagnosis._mistake import Finding, Mistake
from bpcheck.diagnosis._wording import where


def collect_mistakes(manager: pluggy.PluginManager) -> tuple[Mistake, ...]:
    """Every plugin's mistakes, in registration order; ids must be unique."""
    return tuple(collect_declared(manager, "bpcheck_mistakes", "mistake"))


def _summary(title: str, layers: tuple[int, ...], case: Case | None) -> str:
    if not layers or case is None:
        return title[0].upper() + title[1:] + "."
    place = where(layers, case)
    return f"{place[0].upper()}{place[1:]}: {title}."


def _activations(layers: tuple[int, ...], case: Case | None) -> tuple[str, ...]:
    if case is None:
        return ()
    activations = case.architecture.activations
    return tuple(dict.fromkeys(activations[layer - 1] for layer in layers))


def _activation(layers: tuple[int, ...], case: Case | None) -> str | None:
    return ", ".join(_activations(layers, case)) or None


def record(mistake: Mistake, finding: Finding, case: Case | None) -> DiagnosisRecord:
    """The JSON form of one named mistake."""
    return {
        "mistake": mistake.id,
        "summary": _summary(mistake.title, finding.layers, case),
        "layers": list(finding.layers),
        "activation": _activation(finding.layers, case),
        "evidence": finding.evidence,
        "confidence": finding.confidence,
        "lesson": mistake.lesson,
        "hint": mistake.fix,
        "alternatives": list(same_gradients(mistake.id, _activations(finding.layers, case))),
    }


def _unrecognised(evidence: Evidence) -> DiagnosisRecord | None:
    """Said when the gradients are wrong and no known mistake reproduces them."""
    values, case = evidence.values, evidence.case
    if values is None or values.agrees or values.mistakes or case is None:
        return None
    diverging = evidence.divergence()
    if not diverging:
        return None
    layer, key, error = diverging[0]
    size = f"relative error {error:.3g}" if error is not None else "a different shape"
    fits = sorted({", ".join(sorted(e.mistakes())) for e in values.explanations})
    if len(fits) > 1:
        alternatives = (
            f" It fits more than one combination of known mistakes ({' or '.join(fits)}) and a "
            "second case could not tell them apart."
        )
    elif values.confirmed is None:
        alternatives = " No known mistake, alone or two together, reproduces them."
    else:
        alternatives = (
            " A combination of known mistakes fitted the counterexample but not a second case."
        )
    return {
        "mistake": None,
        "summary": _summary(
            "the gradients are wrong in a way that is not one of the known mistakes", (layer,), case
        ),
        "layers": [layer],
        "activation": _activation((layer,), case),
        "evidence": f"Walking down from layer {case.architecture.depth}, your gradients first differ "
        f"from the reference at {key} ({size})." + alternatives + " See the per-layer table.",
        "confidence": None,
        "lesson": "Pitfall 5: not gradient-checking a hand-written backward pass",
        "hint": "Compare each layer's δ with the lesson's equations, starting at that layer.",
        "alternatives": [],
    }


@per_case
def square_case(case: Case) -> Case:
    """``case``'s network with every layer as wide as its widest, drawn afresh:
    where the student's code raised a shape error, the same code on square
    layers often runs, and its gradients show what it computes."""
    old = case.architecture
    width = max(max(old.widths), MIN_OUTPUT_WIDTH[old.loss])
    return variant_case(
        Case(Architecture((width - 2,) * len(old.widths), old.activations, old.loss, old.biases), case.params, case.X, case.Y)
    )


def _found(evidence: Evidence, mistakes: Sequence[Mistake]) -> list[tuple[Mistake, Finding]]:
    return [(mistake, finding) for mistake in mistakes if (finding := mistake.recognise(evidence))]


def _breaks_off_square(evidence: Evidence, found: list[tuple[Mistake, Finding]]) -> str | None:
    """How the code broke on a network whose layers differ in width (what it
    raised, on the failing case or the second one), when nothing or only
    unconfirmed findings explain the failure; None otherwise."""
    case = evidence.case
    if case is None or len(set(case.architecture.widths)) == 1:
        return None
    if evidence.raised is not None and not found:
        return f"On {case.describe()} your code raised: {evidence.raised.summary}."
    unconfirmed = all(finding.confidence != "high" for _, finding in found)
    if unconfirmed and evidence.second_observation is None and evidence.second_raised is not None:
        second = evidence.second_case
        return (
            f"On {second.describe()} your code raised: {evidence.second_raised.summary}, and on "
            f"{case.describe()} its gradients are wrong."
        )
    return None


def _on_square_layers(
    evidence: Evidence, mistakes: Sequence[Mistake], broke: str
) -> tuple[Evidence, list[tuple[Mistake, Finding]]] | None:
    """The findings on the same network with square layers, each saying how the
    code broke without them; None when the code does not run there either or
    nothing is found."""
    assert evidence.case is not None
    square = evidence_for(evidence.check, square_case(evidence.case), evidence.message, evidence.student)
    if square.reply is None or square.case is None:
        return None
    found = [
        (
            mistake,
            replace(
                finding,
                evidence=f"{broke} With square layers ({square.case.describe()}) it runs, and "
                f"there: {finding.evidence}",
            ),
        )
        for mistake, finding in _found(square, mistakes)
        if finding.layers
    ]
    return (square, found) if found else None


def diagnose(
    check: str, case: Case | None, message: str, student: Student, mistakes: Sequence[Mistake]
) -> list[DiagnosisRecord]:
    """The diagnoses of one failing check: every mistake whose recogniser fires,
    in catalogue order, or one saying that the mismatch is not a known mistake.

    Code that breaks on networks whose layers differ in width (it raises a
    shape error there, or broadcasts into garbage on a tiny counterexample) is
    diagnosed on the same network with square layers: a recurrence written
    with the wrong W, or without the transpose, fails on the one and shows its
    values on the other."""
    evidence = evidence_for(check, case, message, student)
    found = _found(evidence, mistakes)
    broke = _breaks_off_square(evidence, found)
    if broke is not None and (square := _on_square_layers(evidence, mistakes, broke)) is not None:
        evidence, found = square
        case = evidence.case
    records = [record(mistake, finding, case) for mistake, finding in found]
    if not any(finding.layers for _, finding in found):
        unknown = _unrecognised(evidence)
        if unknown is not None:
            records.append(unknown)
    return records
