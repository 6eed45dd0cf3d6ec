"""``api``: the module imports and exposes the contract's functions."""

from __future__ import annotations

from bpcheck.adapters._adapter import TEMPLATE
from bpcheck.checks._base import CheckFailure, check
from bpcheck.checks._context import CheckContext
from bpcheck.checks._expect import expect


@check(
    "api",
    claim="The module imports and exposes callable forward/backward with the contract's arity.",
    points=5,
    per_family=False,
)
def api(context: CheckContext) -> None:
    report = context.student.api
    context.notes.update(report.warnings)
    if report.import_error is not None:
        raise CheckFailure(
            f"{report.import_error.summary}. Fix the error above, then run bpcheck again.",
            status="error",
            traceback=report.import_error.traceback,
        )
    expect(
        not report.problems,
        "the module does not follow the contract:\n- "
        + "\n- ".join(report.problems)
        + f"\nStart from {TEMPLATE} to see the expected signatures.",
    )
