"""How a student's backward gets its gradients, timed once per student for the diagnosis.

numerical_stability's failure at saturated outputs looks alike for a δ that
divides by ŷ(1 − ŷ) and for code that differentiates the loss numerically;
the cost of forward and backward tells them apart. :func:`timed_cost` times
it as ``backprop_cost`` does (:func:`~bpcheck.checks.cost.measured_cost`), on
the failing case's network grown as wide as backprop_cost's
(:func:`~bpcheck.checks.cost.timed_like`). How backward gets its gradients is
a property of the code, not of the case: it is timed once per student, on the
first case that asks.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from bpcheck._contract import Case
from bpcheck._student import Student
from bpcheck.checks._base import CheckNotJudged
from bpcheck.checks._context import gradient_call
from bpcheck.checks.cost import case_size, measured_cost, timed_like


@dataclass(frozen=True)
class Timed:
    """Forward and backward together cost ``cost`` forward passes on ``network``."""

    cost: float
    network: Case

    @property
    def parameters(self) -> int:
        return case_size(gradient_call(self.network))


_TIMED: weakref.WeakKeyDictionary[Student, Timed | None] = weakref.WeakKeyDictionary()


def timed_cost(student: Student, case: Case) -> Timed | None:
    """What forward and backward together cost ``student``, in forward passes,
    on ``case``'s network grown wide; None when the code raises there (code
    written for fixed widths, say). Timed on the first call for ``student``;
    later calls, on any case, return that timing."""
    if student not in _TIMED:
        network = timed_like(case)
        try:
            _TIMED[student] = Timed(measured_cost(student, network), network)
        except CheckNotJudged:
            _TIMED[student] = None
    return _TIMED[student]
