"""Plan the checks for a run and run each one, Hypothesis included.

Both front ends go through here: the pytest plugin runs one planned check per
test item, and ``bpcheck check`` runs them all in a loop; a check therefore
behaves the same whichever way it is run.
"""

from __future__ import annotations

import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import hypothesis
import numpy as np
import pluggy
from hypothesis.errors import FlakyFailure

from bpcheck import __version__
from bpcheck._contract import HIDDEN_ACTIVATIONS, LOSSES, Case, Family, all_families
from bpcheck._manager import collect_declared
from bpcheck._numerics import best_fit_scale, relative_error
from bpcheck._profiles import profile_settings
from bpcheck._results import CheckResult, DiagnosisRecord, LayerRow, RunReport
from bpcheck._scope import Scope
from bpcheck.adapters import Adapter
from bpcheck.adapters._vocabulary import in_course_words
from bpcheck._student import Student
from bpcheck.checks import Check, CheckContext, CheckFailure, CheckSkipped, reference_gradients
from bpcheck.checks._base import FiniteDifferences, precision_of
from bpcheck.diagnosis import BUILTIN_MISTAKES, Mistake, collect_mistakes, diagnose

#: Cases with at most this many numbers are shown in full in reports.
SMALL_CASE = 80


@dataclass(frozen=True)
class RunOptions:
    """How a run is set up: Hypothesis profile and seed, the assignment's scope,
    and the mistakes failures are diagnosed against (None: the built-in ones).

    ``adapter`` is the student's course adapter; its scope, narrowed to
    ``hidden_activations`` and ``losses``, is the run's :attr:`assignment`.
    """

    profile: str = "student"
    seed: int = 0
    max_examples: int | None = None
    hidden_activations: tuple[str, ...] = HIDDEN_ACTIVATIONS
    losses: tuple[str, ...] = LOSSES
    mistakes: tuple[Mistake, ...] | None = None
    #: A course's rubric: (check id, points) pairs overriding the checks' own points.
    points: tuple[tuple[str, float], ...] = ()
    adapter: Adapter = field(default_factory=lambda: Adapter("functional", "functional"))

    @property
    def assignment(self) -> Scope:
        return self.adapter.scope.narrowed(self.hidden_activations, self.losses)

    @property
    def scope(self) -> tuple[Family, ...]:
        return self.assignment.families()


@dataclass(frozen=True)
class PlannedCheck:
    """One check on one family (or once), with its share of the check's points."""

    check: Check
    family: Family | None
    max_points: float
    #: Why the check cannot apply to the assignment's scope ("" when it can).
    not_applicable: str = ""

    @property
    def name(self) -> str:
        return f"{self.check.id}[{self.family.id}]" if self.family else self.check.id


def collect_checks(manager: pluggy.PluginManager) -> list[Check]:
    """Every plugin's checks, in registration order; ids must be unique."""
    return collect_declared(manager, "bpcheck_checks", "check")


def plan(checks: list[Check], options: RunOptions) -> list[PlannedCheck]:
    """Each check once per family it applies to, its points (the rubric's, else
    its own) split evenly among them; once, worth nothing, when the
    assignment's scope leaves it no case to run."""
    rubric = dict(options.points)
    planned = []
    scope = options.assignment
    for declared in checks:
        points = float(rubric.get(declared.id, declared.points))
        if declared.id in scope.excluded_checks or not declared.applies_within(scope):
            reason = "outside the course's conventions" if declared.id in scope.excluded_checks else "the scope has no case for it"
            planned.append(PlannedCheck(declared, None, 0.0, f"not applicable: {reason} ({scope.describe()})"))
            continue
        if not declared.per_family:
            planned.append(PlannedCheck(declared, None, points))
            continue
        families = [family for family in options.scope if declared.applies_to(family)]
        planned += [PlannedCheck(declared, family, points / len(families)) for family in families]
    return planned


def item_seed(seed: int, name: str) -> int:
    """The Hypothesis seed of one planned check: stable across runs and processes."""
    return zlib.crc32(f"{seed}:{name}".encode())


def reproduce_command(student: Student, planned: PlannedCheck, options: RunOptions) -> str:
    adapter = options.adapter
    named = "" if adapter.reason.startswith("auto") or adapter.name == "functional" else f" --bpcheck-adapter={adapter.name}"
    return (
        f"pytest --student={student.spec}{named} --bpcheck-profile={options.profile} "
        f"--bpcheck-seed={options.seed} -k '{planned.name}'"
    )


def run_planned(planned: PlannedCheck, student: Student, options: RunOptions) -> CheckResult:
    """Run one planned check against ``student``; never raises for the student's mistakes."""
    context = CheckContext(student, planned.family, options.scope, options.assignment)
    result = _ResultBuilder(planned, student, options, context)
    declared = planned.check
    if planned.not_applicable:
        return result.finish("skipped", planned.not_applicable)
    if declared.id != "api" and not student.api.usable:
        return result.finish(
            "error", "not run: the module cannot be used (see the api check)"
        )
    missing = [name for name in declared.requires if name not in student.api.optional]
    if missing:
        return result.finish("skipped", f"the module has no {', '.join(missing)}()")
    try:
        if declared.cases is None:
            declared.body(context)
        else:
            _property(planned, context, student, options)()
    except CheckSkipped as skipped:
        return result.finish("skipped", str(skipped))
    except CheckFailure as failure:
        return result.failed(failure)
    except FlakyFailure as flaky:
        return result.flaky(flaky)
    except Exception:  # a bug or misconfiguration of bpcheck or a plugin, not the student
        return result.finish(
            "error",
            "bpcheck itself failed while running this check; this is not your mistake. "
            "Please report it with the traceback.",
            traceback=traceback.format_exc(),
            origin="harness",
        )
    return result.finish("passed")


def _property(
    planned: PlannedCheck, context: CheckContext, student: Student, options: RunOptions
) -> Callable[[], None]:
    assert planned.check.cases is not None
    body = planned.check.body

    def property_of_check(case: Case) -> None:
        body(context, case)

    # Keeps each student's and check's saved examples apart in the example database.
    property_of_check._hypothesis_internal_add_digest = (  # type: ignore[attr-defined]
        f"{student.name}:{planned.name}".encode()
    )
    test = hypothesis.given(planned.check.cases(context))(property_of_check)
    test = hypothesis.seed(item_seed(options.seed, planned.name))(test)
    return profile_settings(options.profile, options.max_examples)(test)  # type: ignore[no-any-return]


@dataclass
class _ResultBuilder:
    planned: PlannedCheck
    student: Student
    options: RunOptions
    context: CheckContext
    extra_notes: list[str] = field(default_factory=list)

    def finish(self, status: str, message: str = "", **details: object) -> CheckResult:
        """The result; a skipped check is worth nothing either way."""
        max_points = 0.0 if status == "skipped" else self.planned.max_points
        points = max_points if status == "passed" else 0.0
        return in_course_words(self.options.adapter.vocabulary, CheckResult(
            id=self.planned.check.id,
            family=self.planned.family.id if self.planned.family else None,
            claim=self.planned.check.claim,
            status=status,
            points=round(points, 4),
            max_points=round(max_points, 4),
            message=message,
            notes=sorted(self.context.notes) + self.extra_notes,
            **details,  # type: ignore[arg-type]
        ))

    def failed(self, failure: CheckFailure) -> CheckResult:
        self.extra_notes += failure.notes
        case = failure.case
        diagnoses = self.diagnose(failure)
        return self.finish(
            failure.status,
            failure.message,
            counterexample=describe_case(case) if case is not None else None,
            layers=layer_table(self.context, case, failure.gradients)
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


def layer_table(
    context: CheckContext, case: Case, gradients: dict[str, np.ndarray]
) -> list[LayerRow]:
    """Per parameter: shapes, error against the reference and against finite
    differences of the student's forward, and the best-fit scale."""
    _, expected = reference_gradients(case)
    precision = precision_of(*(value for value in gradients.values()))
    try:
        numeric: FiniteDifferences | None = context.finite_differences(case, precision)
    except CheckFailure:
        numeric = None
    rows = []
    small = case.size() <= SMALL_CASE
    activations = case.architecture.activations
    for name, shape in case.architecture.parameter_shapes().items():
        key = f"d{name}"
        got = gradients.get(key)
        comparable = got if got is not None and got.shape == shape else None
        rows.append(
            LayerRow(
                layer=int(name[1:]),
                parameter=key,
                activation=activations[int(name[1:]) - 1],
                expected_shape=list(shape),
                got_shape=list(got.shape) if got is not None else None,
                error_vs_reference=None
                if comparable is None
                else relative_error(comparable, expected[key]),
                error_vs_finite_differences=None
                if comparable is None or numeric is None or not numeric.is_finite(key)
                else numeric.relative_error(key, comparable),
                scale_vs_reference=None
                if comparable is None
                else best_fit_scale(comparable, expected[key]),
                yours=np.round(got, 6).tolist() if small and got is not None and key.startswith("dW") else None,
                reference=np.round(expected[key], 6).tolist() if small and key.startswith("dW") else None,
            )
        )
    return rows


def with_plugin_mistakes(options: RunOptions, manager: pluggy.PluginManager) -> RunOptions:
    """``options`` diagnosing against every plugin's mistakes, unless it names its own."""
    if options.mistakes is not None:
        return options
    return replace(options, mistakes=collect_mistakes(manager))


def run_student(
    student: Student, options: RunOptions, manager: pluggy.PluginManager
) -> RunReport:
    """Every planned check against ``student``, as one report; failures are
    diagnosed against every plugin's mistakes unless ``options`` names them."""
    options = with_plugin_mistakes(options, manager)
    results = [run_planned(planned, student, options) for planned in plan(collect_checks(manager), options)]
    return RunReport(
        student.name, options.seed, options.profile, __version__, results, adapter=options.adapter.describe()
    )
