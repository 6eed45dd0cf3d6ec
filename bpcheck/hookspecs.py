"""The hooks through which bpcheck is extended. Each docstring is the contract.

Implement them in a module or class decorated with :data:`bpcheck.hookimpl`
and make it known through the ``bpcheck`` entry-point group, or define them in
a ``conftest.py`` when running under pytest. bpcheck's own behaviour is
registered through these same hooks, as ordinary plugins.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from bpcheck._sandbox.execute import StudentFunctions
    from bpcheck._results import RunReport
    from bpcheck.checks import Check
    from bpcheck.diagnosis import Mistake

hookspec = pluggy.HookspecMarker("bpcheck")


@hookspec(firstresult=True)
def bpcheck_adapt_module(module: ModuleType) -> StudentFunctions | None:
    """Adapt an imported student module to the functional contract.

    Return a :class:`~bpcheck.StudentFunctions` whose ``forward`` and
    ``backward`` follow the contract (``forward(params, X, activations) ->
    (AL, cache)``, ``backward(params, cache, Y, activations, loss) -> grads``),
    or None when this adapter does not recognise the module's style.

    The first non-None result wins. The built-in functional adapter runs last
    and always answers, with None members for whatever the module lacks.
    """


@hookspec
def bpcheck_checks() -> list[Check]:
    """Contribute checks. Every implementation's list is used.

    Check ids must be unique across all plugins: grades are keyed on them.
    """


@hookspec
def bpcheck_mistakes() -> list[Mistake]:
    """Contribute known mistakes to the diagnosis catalogue. Every list is used.

    Mistake ids must be unique across all plugins.
    """


@hookspec
def bpcheck_write_report(report: RunReport, directory: Path) -> list[Path]:
    """Write ``report`` for one student into ``directory``; return the paths written.

    Every implementation is called. The built-in one writes
    ``<student>.md`` and ``<student>.json``.
    """
