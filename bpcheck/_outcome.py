"""Turn how a planned check ended into its :class:`~bpcheck._results.CheckResult`:
the score, the minimal counterexample, the per-layer table and the diagnosis."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from hypothesis.errors import FlakyFailure

from bpcheck._contract import Case
from bpcheck._numerics import ALL_PARAMETERS, best_fit_scale, real_arrays, relative_error
from bpcheck._planning import PlannedCheck, RunOptions, reproduce_command
from bpcheck._results import CheckResult, DiagnosisRecord, LayerRow
from bpcheck._student import Student
from bpcheck.adapters._vocabulary import in_course_words
from bpcheck.checks import CheckContext, CheckFailure, reference_gradients
from bpcheck.checks._differences import (
    ELEMENT_LIMIT,
    directional_differences,
    element_differences,
    kink,
)
from bpcheck.checks._precision import precision_of
from bpcheck.diagnosis import BUILTIN_MISTAKES, diagnose

#: Cases with at most this many numbers are shown in full in reports.
SMALL_CASE = 80

HARNESS_FAILED = (
    "bpcheck itself failed while running this check; this is not your mistake. "
    "Please report it with the traceback."
)


@dataclass
class Outcome:
    """Builds the result of one planned check for one student."""

    planned: PlannedCheck
    student: Student
    options: RunOptions
    context: CheckContext
    extra_notes: list[str] = field(default_factory=list)

    def finish(self, status: str, message: str = "", **details: object) -> CheckResult:
        """The result. A skipped check is worth nothing either way; a check not
        judged keeps its maximum and scores nothing. A check skipped for want of
        an optional function (``requires``) is not applicable, unless the
        rubric gives it points: then the function is required, and the check
        fails, keeping its maximum."""
        if status == "skipped" and self.planned.check.requires and not self.planned.not_applicable:
            status, message = self._optional(message)
        max_points = 0.0 if status == "skipped" else self.planned.max_points
        points = max_points if status == "passed" else 0.0
        result = CheckResult(
            id=self.planned.check.id,
            family=self.planned.family.id if self.planned.family else None,
            claim=self.planned.check.claim,
            status=status,
            points=round(points, 4),
            max_points=round(max_points, 4),
            message=message,
            notes=sorted(self.context.notes) + self.extra_notes,
            **details,  # type: ignore[arg-type]
        )
        return in_course_words(self.options.adapter.vocabulary, result)

    def _optional(self, why: str) -> tuple[str, str]:
        points = self.planned.max_points
        if points > 0:
            return "failed", (
                f"{why}: the course's rubric gives this check {points:g} points, so it is "
                "required; write it as the contract says (bpcheck init's template has it)"
            )
        return "skipped", f"not applicable: {why} (optional: worth no points unless the rubric gives it some)"

    def harness_error(self, traceback: str) -> CheckResult:
        return self.finish("error", HARNESS_FAILED, traceback=traceback, origin="harness")

    def failed(self, failure: CheckFailure) -> CheckResult:
        self.extra_notes += failure.notes
        case = failure.case
        diagnoses = self.diagnose(failure)
        return self.finish(
            failure.status,
            failure.message,
            counterexample=describe_case(case) if case is not None else None,
            layers=self.layer_table(case, failure.gradients)
            if case is not None and failure.gradients is not None
            else [],
            traceback=failure.traceback,
            reproduce=reproduce_command(self.student, self.planned, self.options),
            diagnoses=diagnoses,
        )

    def diagnose(self, failure: CheckFailure) -> list[DiagnosisRecord]:
        """The failure's diagnoses; none, with a note, if diagnosing it fails."""
        mistakes = self.options.mistakes if self.options.mistakes is not None else BUILTIN_MISTAKES
        try:
            return diagnose(
                self.planned.check.id, failure.case, failure.message, self.student, mistakes
            )
        except Exception as error:  # a bug in bpcheck or a plugin's recogniser, not the student
            self.extra_notes.append(
                f"bpcheck could not diagnose this failure ({type(error).__name__}: {error}); "
                "this is not your mistake, please report it."
            )
            return []

    def flaky(self, flaky: FlakyFailure) -> CheckResult:
        failures = [error for error in flaky.exceptions if isinstance(error, CheckFailure)]
        self.extra_notes.append(
            "The same case gave different results when run again: your code keeps state "
            "between calls (see the repeatable check), so this counterexample may not be minimal."
        )
        if failures:
            return self.failed(failures[0])
        return self.finish("failed", str(flaky))

    def layer_table(self, case: Case, gradients: dict[str, np.ndarray]) -> list[LayerRow]:
        """Per parameter: shapes, error against the reference and against finite
        differences of the student's own forward (element-wise for the tensors
        that fail, along a random direction for the others; none where the case
        sits on a ReLU kink), and the best-fit scale: for each real gradient of
        its parameter's shape (none for a complex one, or a misshapen one)."""
        _, expected = reference_gradients(case)
        shapes = case.architecture.parameter_shapes()
        real = real_arrays(gradients, (f"d{name}" for name in shapes))  # JSON has no complex
        comparable = {
            f"d{name}": real[f"d{name}"]
            for name, shape in shapes.items()
            if f"d{name}" in real and real[f"d{name}"].shape == shape
        }
        numeric = self._finite_difference_errors(case, comparable)
        rows = []
        small = case.size() <= SMALL_CASE
        activations = case.architecture.activations
        for name, shape in shapes.items():
            key = f"d{name}"
            got = gradients.get(key)
            usable = comparable.get(key)
            drawn = small and key.startswith("dW")  # values kept for the heatmaps
            rows.append(
                LayerRow(
                    layer=int(name[1:]),
                    parameter=key,
                    activation=activations[int(name[1:]) - 1],
                    expected_shape=list(shape),
                    got_shape=list(got.shape) if got is not None else None,
                    error_vs_reference=None if usable is None else relative_error(usable, expected[key]),
                    error_vs_finite_differences=numeric.get(key),
                    scale_vs_reference=None if usable is None else best_fit_scale(usable, expected[key]),
                    yours=np.round(real[key], 6).tolist() if drawn and key in real else None,
                    reference=np.round(expected[key], 6).tolist() if drawn else None,
                )
            )
        return rows

    def _finite_difference_errors(
        self, case: Case, gradients: dict[str, np.ndarray]
    ) -> dict[str, float]:
        """The finite-difference column of the layer table, with a note on what it holds."""
        if len(gradients) < 2 * case.architecture.depth:
            return {}  # a gradient is missing or misshapen: g·v is not defined
        at_kink = kink(case)
        if at_kink is not None:
            self.extra_notes.append(
                f"No finite differences are shown: this case puts a ReLU at its kink ({at_kink}), "
                "where a finite difference is not a derivative at all."
            )
            return {}
        precision = precision_of(*gradients.values())
        AL = reference_gradients(case)[0]
        try:
            directional = directional_differences(self.context, case, precision, gradients, AL)
            failing = [
                name
                for name in directional.wrong()
                if name != ALL_PARAMETERS and case.params[name].size <= ELEMENT_LIMIT
            ]
            element = element_differences(self.context, case, precision, failing) if failing else None
        except CheckFailure:  # the student's forward raised on a probe
            return {}
        errors: dict[str, float] = {}
        for name in case.params:
            key = f"d{name}"
            if element is not None and key in element.gradients and element.is_finite(key):
                errors[key] = element.relative_error(key, gradients[key])
            elif (error := directional.error(name)) is not None:
                errors[key] = error
        self.extra_notes.append(
            "Finite differences in the table: element-wise for "
            + (", ".join(f"d{name}" for name in failing) if failing else "no tensor")
            + ", along one random direction for the others "
            f"({directional.precision.stencil.name}, ε = {directional.precision.epsilon:g})."
        )
        return errors


def describe_case(case: Case) -> dict[str, object]:
    """A counterexample for reports: the network and batch, and the arrays when small."""
    architecture = case.architecture
    return {
        "summary": case.describe(),
        "widths": list(architecture.widths),
        "activations": list(architecture.activations),
        "loss": architecture.loss,
        "batch_size": case.batch_size,
        "arrays": {name: np.round(value, 6).tolist() for name, value in case.arrays().items()}
        if case.size() <= SMALL_CASE
        else None,
    }

