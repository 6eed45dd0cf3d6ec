"""The evaluation table of the diagnosis: every student module with the mistakes it must get.

Two sources: the shared table in ``tests/implementations`` (one ``MISTAKE`` per
module, None for correct code and for API breakage, which has no gradients to
diagnose) and this package's ``implementations`` (a ``MISTAKES`` tuple, empty
for correct code and for ``buggy_unknown_*`` modules, whose mistakes are not in
the catalogue; two ids for modules with two mistakes).
"""

from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType

import numpy as np

from bpcheck import InProcessStudent, RunOptions, RunReport, get_plugin_manager, run_student
from tests.implementations import BUGGY, CORRECT
from tests.implementations import HERE as SHARED

OWN = Path(__file__).resolve().parent / "implementations"

#: Mistakes that only show for some losses, so that tests can run fewer families.
LOSSES_FOR = {
    "mse_missing_factor_two": ("mse",),
    "output_activation_derivative_applied_twice": ("bce", "cce"),
    "unstable_softmax": ("cce",),
    "output_derivative_missing_in_recurrence": ("mse",),
    "softmax_diagonal_derivative": ("cce",),
    "unstable_output_delta": ("bce",),
    "numerical_differentiation": ("mse",),
}


@dataclass(frozen=True)
class Row:
    name: str
    path: Path
    expected: frozenset[str]

    @property
    def correct(self) -> bool:
        return self.name.startswith("correct_")

    def losses(self) -> tuple[str, ...]:
        """The losses a quick run needs to show every expected mistake."""
        needed = {loss for mistake in self.expected for loss in LOSSES_FOR.get(mistake, ())}
        return tuple(sorted(needed)) if needed else ("mse", "cce")

    def quick(self, options: RunOptions) -> RunOptions:
        """``options`` limited to the families a quick run needs for this row."""
        return replace(
            options, hidden_activations=("relu", "sigmoid", "tanh"), losses=self.losses()
        )


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bpcheck_table_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shared(name: str) -> Row:
    path = SHARED / f"{name}.py"
    label = _load(path).MISTAKE
    return Row(name, path, frozenset([label]) if label else frozenset())


def _own(path: Path) -> Row:
    return Row(path.stem, path, frozenset(_load(path).MISTAKES))


def rows() -> list[Row]:
    """Every row: the shared table's, then this package's, correct ones first in each."""
    own = sorted(OWN.glob("*.py"))
    return (
        [_shared(name) for name in CORRECT + BUGGY]
        + [_own(p) for p in own if p.stem.startswith("correct_")]
        + [_own(p) for p in own if p.stem.startswith("buggy_")]
    )


def run(row: Row, options: RunOptions) -> RunReport:
    """The real checks against ``row``'s module, diagnoses included."""
    manager = get_plugin_manager()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return run_student(InProcessStudent(str(row.path), manager), options, manager)


def named(report: RunReport) -> set[str]:
    """The mistakes a report names (merged over its checks)."""
    return {str(entry["mistake"]) for entry in report.diagnoses}


def unrecognised(report: RunReport) -> int:
    """How many failing checks said their mismatch is not a known mistake."""
    return sum(1 for result in report.checks for d in result.diagnoses if d["mistake"] is None)
