"""bpcheck: property-based testing and grading of student backpropagation code.

The public names are re-exported here, each imported on first use (PEP 562),
so that a command that needs none of them (``bpcheck init``, pytest without
``--student``) does not pay for NumPy, Hypothesis and the checks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Each public name, by the module it comes from.
_EXPORTS = {
    "StudentError": "bpcheck._sandbox.calls",
    "Architecture": "bpcheck._contract",
    "Case": "bpcheck._contract",
    "Family": "bpcheck._contract",
    "ConfigError": "bpcheck._errors",
    "PluginError": "bpcheck._errors",
    "StudentFunctions": "bpcheck._sandbox.execute",
    "hookimpl": "bpcheck._hookimpl",
    "get_plugin_manager": "bpcheck._manager",
    "SCHEMA": "bpcheck._results",
    "CheckResult": "bpcheck._results",
    "LayerRow": "bpcheck._results",
    "RunReport": "bpcheck._results",
    "RunOptions": "bpcheck._running",
    "run_student": "bpcheck._running",
    "ApiReport": "bpcheck._student",
    "InProcessStudent": "bpcheck._student",
    "Student": "bpcheck._student",
    "Check": "bpcheck.checks",
    "CheckContext": "bpcheck.checks",
    "CheckFailure": "bpcheck.checks",
    "check": "bpcheck.checks",
    "Evidence": "bpcheck.diagnosis",
    "Finding": "bpcheck.diagnosis",
    "Mistake": "bpcheck.diagnosis",
}

if TYPE_CHECKING:
    from bpcheck._contract import Architecture, Case, Family
    from bpcheck._errors import ConfigError, PluginError
    from bpcheck._hookimpl import hookimpl
    from bpcheck._manager import get_plugin_manager
    from bpcheck._results import SCHEMA, CheckResult, LayerRow, RunReport
    from bpcheck._running import RunOptions, run_student
    from bpcheck._sandbox.calls import StudentError
    from bpcheck._sandbox.execute import StudentFunctions
    from bpcheck._student import ApiReport, InProcessStudent, Student
    from bpcheck.checks import Check, CheckContext, CheckFailure, check
    from bpcheck.diagnosis import Evidence, Finding, Mistake


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'bpcheck' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "SCHEMA",
    "ApiReport",
    "Architecture",
    "Case",
    "Check",
    "CheckContext",
    "CheckFailure",
    "CheckResult",
    "ConfigError",
    "Evidence",
    "Family",
    "Finding",
    "InProcessStudent",
    "LayerRow",
    "Mistake",
    "PluginError",
    "RunOptions",
    "RunReport",
    "Student",
    "StudentError",
    "StudentFunctions",
    "__version__",
    "check",
    "get_plugin_manager",
    "hookimpl",
    "run_student",
]
