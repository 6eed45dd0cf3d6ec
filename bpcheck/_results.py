"""Results of a run, and their JSON form (schema ``bpcheck-report/1``).

The JSON written for each student is documented in ``docs/report-schema.md``.
Fields are only ever added within a schema version; a rename or removal
bumps :data:`SCHEMA`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, TypedDict

import numpy as np

SCHEMA = "bpcheck-report/1"


class DiagnosisRecord(TypedDict):
    """One diagnosis, as it appears in reports (see ``docs/mistakes.md``).

    ``mistake`` is a catalogue id, or None when the gradients are wrong in a
    way no known mistake reproduces; ``summary`` says it in plain words;
    ``confidence`` is "high" or "medium" (None for an unknown mistake);
    ``alternatives`` are the other mistakes that give exactly the same
    gradients on those layers (ReLU′ taken at a = ReLU(z) with ReLU′(0) = 1 is
    no f′ at all), which :func:`merge_diagnoses` folds together.
    """

    mistake: str | None
    summary: str
    layers: list[int]
    activation: str | None
    evidence: str
    confidence: str | None
    lesson: str
    hint: str
    alternatives: list[str]


@dataclass(frozen=True)
class LayerRow:
    """One parameter of a failing counterexample, student against reference.

    Errors are relative errors (see :func:`bpcheck._numerics.relative_error`);
    None where a value could not be computed (a missing or misshapen gradient,
    or a forward pass that raised). ``yours`` and ``reference`` hold a dW's
    values when the counterexample is small (for the heatmaps), else None;
    ``yours`` only when the student's dW is real (whatever its shape).
    """

    layer: int
    parameter: str
    activation: str
    expected_shape: list[int]
    got_shape: list[int] | None
    error_vs_reference: float | None
    error_vs_finite_differences: float | None
    scale_vs_reference: float | None
    yours: list[Any] | None = None
    reference: list[Any] | None = None


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one family (``family`` None: run once).

    ``origin`` is "student" for anything the student's code did and "harness"
    when bpcheck itself or a plugin failed, so graders can tell the two apart.
    """

    id: str
    family: str | None
    claim: str
    status: str
    points: float
    max_points: float
    message: str = ""
    counterexample: dict[str, Any] | None = None
    layers: list[LayerRow] = field(default_factory=list)
    traceback: str = ""
    notes: list[str] = field(default_factory=list)
    reproduce: str = ""
    origin: str = "student"
    diagnoses: list[DiagnosisRecord] = field(default_factory=list)

    @property
    def name(self) -> str:
        """``gradient_values[relu-mse]``: the id pytest shows and ``-k`` selects."""
        return f"{self.id}[{self.family}]" if self.family else self.id

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data: numbers that are not finite become null."""
        return finite_json(asdict(self))  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckResult:
        layers = [LayerRow(**row) for row in data.get("layers", [])]
        return cls(**{**data, "layers": layers})


def finite_json(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None, so that strict
    JSON readers accept it; numpy scalars become plain Python numbers."""
    if isinstance(value, dict):
        return {key: finite_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(item) for item in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def diagnosis_key(result: CheckResult) -> tuple[str, ...]:
    """What makes two failures one for a reader: the mistakes they name, or, when
    they name none, their check. The terminal shows one failure per key in
    full, and the report draws one heatmap per key."""
    named = sorted({d["mistake"] for d in result.diagnoses if d["mistake"] is not None})
    return tuple(named) if named else (f"check {result.id}",)


def merge_diagnoses(results: list[CheckResult]) -> list[dict[str, Any]]:
    """Each named mistake once, as first diagnosed (checks in run order), with
    ``checks`` listing every check result that named it; confidence is "high"
    when any of them was.

    A mistake whose every diagnosis has an alternative that the run names too
    is folded into it: the alternative is the mistake that explains every
    failure (ReLU′ taken at a = ReLU(z) with ReLU′(0) = 1 looks like no f′ at
    all on ReLU layers, and is f′ of the output on sigmoid layers)."""
    merged: dict[str, dict[str, Any]] = {}
    for result in results:
        for diagnosis in result.diagnoses:
            mistake = diagnosis["mistake"]
            if mistake is None:
                continue
            entry = merged.setdefault(mistake, {"alternatives": [], **diagnosis, "checks": []})
            entry["checks"].append(result.name)
            alike = diagnosis.get("alternatives", [])
            entry["alternatives"] = [other for other in entry["alternatives"] if other in alike]
            if diagnosis["confidence"] == "high":
                entry["confidence"] = "high"
    for mistake, entry in list(merged.items()):
        into = next((merged[other] for other in entry["alternatives"] if other in merged), None)
        if into is not None:
            _fold(mistake, entry, into)
            del merged[mistake]
    return list(merged.values())


def _fold(mistake: str, entry: dict[str, Any], into: dict[str, Any]) -> None:
    """Fold ``entry``, which names ``mistake``, into the entry of its alternative."""
    into["checks"] += [check for check in entry["checks"] if check not in into["checks"]]
    if entry["confidence"] == "high":
        into["confidence"] = "high"
    plural = "s" if len(entry["checks"]) > 1 else ""
    into["evidence"] += (
        f" The failure{plural} of {', '.join(entry['checks'])}, named {mistake} on "
        f"{'their' if plural else 'its'} own, {'are' if plural else 'is'} this mistake too: "
        f"on {entry['activation'] or 'those'} layers the two give the same gradients."
    )


@dataclass
class RunReport:
    """Every check result for one student, with the diagnoses drawn from them
    (merged from the checks' by :func:`merge_diagnoses` unless given)."""

    student: str
    seed: int
    profile: str
    bpcheck_version: str
    checks: list[CheckResult]
    diagnoses: list[dict[str, Any]] = field(default_factory=list)
    #: The course adapter that translated the student's code, and why it was chosen.
    adapter: str = ""
    #: Only some of the planned checks ran (``-k``, ``-x``): the report is
    #: written beside the full one (``<student>.partial.*``), never over it.
    partial: bool = False

    def __post_init__(self) -> None:
        if not self.diagnoses:
            self.diagnoses = merge_diagnoses(self.checks)

    @property
    def score(self) -> float:
        return round(sum(result.points for result in self.checks), 2)

    @property
    def max_score(self) -> float:
        return round(sum(result.max_points for result in self.checks), 2)

    @property
    def stem(self) -> str:
        """The name of the report's files: ``<student>``, or ``<student>.partial``."""
        return f"{self.student}.partial" if self.partial else self.student

    @property
    def status(self) -> str:
        """"passed" when every check passed or was skipped, else "failed"."""
        ok = all(result.status in ("passed", "skipped") for result in self.checks)
        return "passed" if ok else "failed"

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "student": self.student,
            "score": self.score,
            "max_score": self.max_score,
            "status": self.status,
            "seed": self.seed,
            "profile": self.profile,
            "bpcheck_version": self.bpcheck_version,
            "adapter": self.adapter,
            "partial": self.partial,
            "checks": [result.to_json() for result in self.checks],
            "diagnoses": finite_json(self.diagnoses),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunReport:
        """The report :meth:`to_json` wrote; score, max_score and status are
        recomputed from the checks, never taken from the file."""
        return cls(
            student=data["student"],
            seed=data["seed"],
            profile=data["profile"],
            bpcheck_version=data["bpcheck_version"],
            checks=[CheckResult.from_json(result) for result in data["checks"]],
            diagnoses=data.get("diagnoses", []),
            adapter=data.get("adapter", ""),
            partial=bool(data.get("partial", False)),
        )
