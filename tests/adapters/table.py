"""The course-style implementations of ``tests/adapters/courses``: each module
names the adapter ``auto`` must pick (``ADAPTER``), the mistake it makes
(``MISTAKE``, None for correct code) and the check that catches it (``CHECK``,
default gradient_values); a declarative one carries its ``TABLE`` and
``SCOPE`` and the families to run (``ACTIVATIONS``, ``LOSSES``)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bpcheck import InProcessStudent, RunOptions, RunReport, get_plugin_manager, run_student
from bpcheck._options import CourseSettings, with_adapter
from bpcheck.adapters import AdapterRequest

COURSES = Path(__file__).resolve().parent / "courses"


@dataclass(frozen=True)
class Course:
    path: Path
    adapter: str
    mistake: str | None
    table: dict[str, Any] | None = None
    scope: dict[str, Any] | None = None
    families: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    check: str = "gradient_values"

    @property
    def name(self) -> str:
        return self.path.name if self.table is None or self.path.stem.startswith(self.adapter) else f"{self.path.name}-{self.adapter}"

    def settings(self, request: str = "auto") -> CourseSettings:
        if self.table is not None:
            return CourseSettings(AdapterRequest("declarative", self.table, "the test table"), self.scope, "the test table")
        return CourseSettings(AdapterRequest(request, None, "the test"), self.scope, "the test")

    def options(self, base: RunOptions) -> RunOptions:
        if self.families is not None:
            base = replace(base, hidden_activations=self.families[0], losses=self.families[1])
        return with_adapter(base, str(self.path), self.settings(), get_plugin_manager())


def _module(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"bpcheck_course_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def courses() -> list[Course]:
    found = []
    for path in sorted(COURSES.glob("*.py")):
        module = _module(path)
        families = (
            (module.ACTIVATIONS,), (module.LOSSES,)
        ) if hasattr(module, "ACTIVATIONS") else None
        found.append(
            Course(
                path, module.ADAPTER, module.MISTAKE, getattr(module, "TABLE", None), getattr(module, "SCOPE", None),
                families, getattr(module, "CHECK", "gradient_values"),
            )
        )
    found.append(Course(COURSES / "dlai_notebook.ipynb", "dlai", None))
    # Nielsen's update_mini_batch, checked as the step of the mean gradient.
    found.append(
        Course(COURSES / "nielsen_network.py", "declarative", None, NIELSEN_STEP, {"output_activations": ["sigmoid"]}, (("sigmoid",), ("mse",)))
    )
    return found


NIELSEN_STEP = {
    "model": "Network",
    "parameters": "lists",
    "forward": "feedforward",
    "forward_args": ["X"],
    "forward_returns": ["AL"],
    "step": "update_mini_batch",
    "step_args": ["mini_batch", "learning_rate"],
    "scale": 0.5,
}


def run(course: Course, base: RunOptions) -> RunReport:
    manager = get_plugin_manager()
    options = course.options(base)
    return run_student(InProcessStudent(str(course.path), manager, options.adapter), options, manager)
