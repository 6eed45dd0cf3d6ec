"""bpcheck's checks: each module declares one family of them.

Adding a check means declaring a :class:`Check` with :func:`check` and
returning it from a ``bpcheck_checks`` hook implementation, as below.
"""

from __future__ import annotations

from bpcheck._hookimpl import hookimpl
from bpcheck.checks._base import (
    Check,
    CheckFailure,
    CheckNotJudged,
    CheckSkipped,
    at_least,
    check,
    family_cases,
    reference_gradients,
)
from bpcheck.checks._context import CheckContext, gradient_call, shared_call
from bpcheck.checks._expect import (
    expect,
    expect_close,
    expect_finite,
    expect_gradient_shapes,
    expect_gradients_match,
)
from bpcheck.checks._precision import FLOAT32, FLOAT64, Precision
from bpcheck.checks.api import api
from bpcheck.checks.batch import bias_batch_sum
from bpcheck.checks.cost import backprop_cost
from bpcheck.checks.examples import worked_examples
from bpcheck.checks.forward import forward
from bpcheck.checks.gating import activation_gating
from bpcheck.checks.gradients import finite_differences, gradient_shapes, gradient_values
from bpcheck.checks.hygiene import no_mutation, repeatable
from bpcheck.checks.regularisation import regularisation
from bpcheck.checks.stability import numerical_stability
from bpcheck.checks.update import update

__all__ = [
    "BUILTIN_CHECKS",
    "FLOAT32",
    "FLOAT64",
    "Check",
    "CheckContext",
    "CheckFailure",
    "CheckNotJudged",
    "CheckSkipped",
    "Precision",
    "at_least",
    "check",
    "expect",
    "expect_close",
    "expect_finite",
    "expect_gradient_shapes",
    "expect_gradients_match",
    "family_cases",
    "gradient_call",
    "reference_gradients",
    "shared_call",
]

BUILTIN_CHECKS: tuple[Check, ...] = (
    api,
    forward,
    gradient_shapes,
    gradient_values,
    finite_differences,
    bias_batch_sum,
    activation_gating,
    no_mutation,
    repeatable,
    numerical_stability,
    worked_examples,
    update,
    regularisation,
    backprop_cost,
)


@hookimpl
def bpcheck_checks() -> list[Check]:
    return list(BUILTIN_CHECKS)
