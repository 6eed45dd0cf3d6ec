"""Run a plan of checks against a student, Hypothesis included.

Both front ends go through here: the pytest plugin runs the plan item by item
(a family's shared run happens when its first item runs, see
:class:`FamilyRuns`), and ``bpcheck check`` and ``bpcheck grade`` run it whole
with :func:`run_plan`; a check therefore behaves the same whichever way it is run.

Checks that draw their family's cases (``cases=family_cases``) share one
Hypothesis run per family (:mod:`bpcheck._family_run`); checks with a strategy
of their own run under their own ``@given``; fixed checks run once.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

import hypothesis
import pluggy
from hypothesis.errors import FlakyFailure

from bpcheck import __version__
from bpcheck._contract import Case
from bpcheck._draws import seed_only_draws
from bpcheck._family_run import FamilyRun
from bpcheck._outcome import Outcome
from bpcheck._planning import (
    PlannedCheck,
    RunOptions,
    collect_checks,
    item_seed,
    plan,
    reproduce_command,
)
from bpcheck._profiles import profile_settings
from bpcheck._results import CheckResult, RunReport
from bpcheck._student import Student
from bpcheck.checks import CheckContext, CheckFailure, CheckNotJudged, CheckSkipped
from bpcheck.diagnosis import collect_mistakes

__all__ = [
    "FamilyRuns",
    "PlannedCheck",
    "RunOptions",
    "collect_checks",
    "item_seed",
    "plan",
    "reproduce_command",
    "run_plan",
    "run_planned",
    "run_student",
    "with_plugin_mistakes",
]


def _unusable(planned: PlannedCheck, student: Student, outcome: Outcome) -> CheckResult | None:
    """The result of a check that cannot run at all on this student, else None."""
    if planned.not_applicable:
        return outcome.finish("skipped", planned.not_applicable)
    if planned.check.id != "api" and not student.api.usable:
        return outcome.finish("not_judged", "not run: the module cannot be used (see the api check)")
    missing = [name for name in planned.check.requires if name not in student.api.optional]
    if missing:
        return outcome.finish("skipped", f"the module has no {', '.join(missing)}()")
    return None


def run_planned(planned: PlannedCheck, student: Student, options: RunOptions) -> CheckResult:
    """Run one planned check against ``student`` on its own; never raises for
    the student's mistakes. A check that shares its family's cases runs its
    family's run with only itself in it."""
    if planned.check.shares_cases:
        return run_plan([planned], student, options)[0]
    context = CheckContext(student, planned.family, options.scope, options.assignment)
    outcome = Outcome(planned, student, options, context)
    unusable = _unusable(planned, student, outcome)
    if unusable is not None:
        return unusable
    declared = planned.check
    try:
        if declared.cases is None:
            declared.body(context)
        else:
            with seed_only_draws():
                _property(planned, context, student, options)()
    except CheckSkipped as skipped:
        return outcome.finish("skipped", str(skipped))
    except CheckNotJudged as not_judged:
        return outcome.finish("not_judged", str(not_judged))
    except CheckFailure as failure:
        return outcome.failed(failure)
    except FlakyFailure as flaky:
        return outcome.flaky(flaky)
    except Exception:  # a bug or misconfiguration of bpcheck or a plugin, not the student
        return outcome.harness_error(traceback.format_exc())
    return outcome.finish("passed")


def _property(
    planned: PlannedCheck, context: CheckContext, student: Student, options: RunOptions
) -> Callable[[], None]:
    assert planned.check.cases is not None
    body = planned.check.body

    def property_of_check(case: Case) -> None:
        try:
            body(context, case)
        finally:
            context.forget()

    # Keeps each student's and check's saved examples apart in the example database.
    property_of_check._hypothesis_internal_add_digest = (  # type: ignore[attr-defined]
        f"{student.name}:{planned.name}".encode()
    )
    test = hypothesis.given(planned.check.cases(context))(property_of_check)
    test = hypothesis.seed(item_seed(options.seed, planned.name))(test)
    return profile_settings(options.profile, options.max_examples)(test)  # type: ignore[no-any-return]


def _shared_groups(planned: Iterable[PlannedCheck]) -> dict[str | None, list[PlannedCheck]]:
    """The planned checks that share cases, by family id (None: checks run once)."""
    groups: dict[str | None, list[PlannedCheck]] = {}
    for item in planned:
        if item.check.shares_cases:
            groups.setdefault(item.family.id if item.family else None, []).append(item)
    return groups


def _run_family(
    group: list[PlannedCheck], student: Student, options: RunOptions
) -> dict[str, CheckResult]:
    """The results of one family's shared run, by planned name."""
    context = CheckContext(student, group[0].family, options.scope, options.assignment)
    results: dict[str, CheckResult] = {}
    runnable = []
    for planned in group:
        unusable = _unusable(planned, student, Outcome(planned, student, options, context))
        if unusable is not None:
            results[planned.name] = unusable
        else:
            runnable.append(planned)
    if runnable:
        try:
            with seed_only_draws():
                ran = FamilyRun(group[0].family, runnable, student, options).run()
        except Exception:  # Hypothesis or bpcheck itself failed: not the student's doing
            failed = traceback.format_exc()
            ran = [Outcome(p, student, options, context).harness_error(failed) for p in runnable]
        results.update((planned.name, result) for planned, result in zip(runnable, ran, strict=True))
    return results


def run_plan(
    planned: Sequence[PlannedCheck],
    student: Student,
    options: RunOptions,
    on_result: Callable[[CheckResult], None] = lambda result: None,
    stop: Callable[[], bool] = lambda: False,
) -> list[CheckResult]:
    """Every planned check against ``student``, in plan order; checks that share
    cases are run family by family. ``on_result`` hears each result as it is
    made; once ``stop()`` is true the remaining checks are left out."""
    groups = _shared_groups(planned)
    done: dict[str, CheckResult] = {}
    results = []
    for item in planned:
        if stop():
            break
        if item.name not in done:
            if item.check.shares_cases:
                family = item.family.id if item.family else None
                done.update(_run_family(groups[family], student, options))
            else:
                done[item.name] = run_planned(item, student, options)
        results.append(done[item.name])
        on_result(done[item.name])
    return results


class FamilyRuns:
    """Results of a plan computed family by family on demand, for a front end that
    runs checks one at a time (the pytest items): the first check of a family
    runs that family's shared run for every check of it in ``planned``."""

    def __init__(self, planned: Sequence[PlannedCheck], student: Student, options: RunOptions) -> None:
        self.student, self.options = student, options
        self._groups = _shared_groups(planned)
        self._done: dict[str, CheckResult] = {}

    def result(self, planned: PlannedCheck) -> CheckResult:
        if planned.name not in self._done:
            if planned.check.shares_cases:
                family = planned.family.id if planned.family else None
                group = self._groups.get(family, [planned])
                self._done.update(_run_family(group, self.student, self.options))
            else:
                self._done[planned.name] = run_planned(planned, self.student, self.options)
        return self._done[planned.name]


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
    results = run_plan(plan(collect_checks(manager), options), student, options)
    return RunReport(
        student.name, options.seed, options.profile, __version__, results, adapter=options.adapter.describe()
    )
