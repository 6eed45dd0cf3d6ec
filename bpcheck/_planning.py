"""What a run checks: its options, and the plan of checks × families with their points."""

from __future__ import annotations

import shlex
import zlib
from dataclasses import dataclass, field

import pluggy

from bpcheck._contract import HIDDEN_ACTIVATIONS, LOSSES, Family
from bpcheck._manager import collect_declared
from bpcheck._scope import Scope
from bpcheck._student import Student
from bpcheck.adapters import Adapter
from bpcheck.checks import Check
from bpcheck.diagnosis import Mistake


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
            reason = (
                "outside the course's conventions"
                if declared.id in scope.excluded_checks
                else declared.outside_scope
            )
            planned.append(
                PlannedCheck(declared, None, 0.0, f"not applicable: {reason} ({scope.describe()})")
            )
            continue
        if not declared.per_family:
            planned.append(PlannedCheck(declared, None, points))
            continue
        families = [family for family in options.scope if declared.applies_to(family)]
        planned += [PlannedCheck(declared, family, points / len(families)) for family in families]
    return planned


def item_seed(seed: int, name: str) -> int:
    """The Hypothesis seed of one planned check or family run: stable across runs and processes."""
    return zlib.crc32(f"{seed}:{name}".encode())


def reproduce_command(student: Student, planned: PlannedCheck, options: RunOptions) -> str:
    """One shell command that reruns ``planned`` on ``student`` with the same
    seed, every word shell-quoted (a file name may hold spaces or quotes)."""
    adapter = options.adapter
    asked = not adapter.reason.startswith("auto") and adapter.name != "functional"
    words = [
        "pytest",
        f"--student={student.spec}",
        *([f"--bpcheck-adapter={adapter.name}"] if asked else []),
        f"--bpcheck-profile={options.profile}",
        f"--bpcheck-seed={options.seed}",
        "-k",
        planned.name,
    ]
    return shlex.join(words)
