"""bpcheck: property-based testing and grading of student backpropagation code."""

from __future__ import annotations

__version__ = "0.1.0"

from bpcheck._sandbox.calls import StudentError
from bpcheck._contract import Architecture, Case, Family
from bpcheck._errors import ConfigError, PluginError
from bpcheck._sandbox.execute import StudentFunctions
from bpcheck._hookimpl import hookimpl
from bpcheck._manager import get_plugin_manager
from bpcheck._results import SCHEMA, CheckResult, LayerRow, RunReport
from bpcheck._running import RunOptions, run_student
from bpcheck._student import ApiReport, InProcessStudent, Student
from bpcheck.checks import Check, CheckContext, CheckFailure, check
from bpcheck.diagnosis import Evidence, Finding, Mistake

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
