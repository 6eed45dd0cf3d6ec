"""The hooks through which bpcheck is extended. Each docstring is the contract.

Implement them in a module or class decorated with :data:`bpcheck.hookimpl`
and make it known through the ``bpcheck`` entry-point group, or define them in
a ``conftest.py`` when running under pytest. bpcheck's own behaviour is
registered through these same hooks, as ordinary plugins.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from bpcheck.adapters import Adapter, AdapterRequest, StudentSource
    from bpcheck._results import RunReport
    from bpcheck.checks import Check
    from bpcheck.diagnosis import Mistake

hookspec = pluggy.HookspecMarker("bpcheck")


@hookspec(firstresult=True)
def bpcheck_adapter(
    student: StudentSource, request: AdapterRequest, declined: list[str]
) -> Adapter | None:
    """Choose the adapter that translates a student's course API to the contract.

    ``student`` is what the module defines, read from its source (it is
    never imported or run to choose). ``request.name`` is an adapter's name
    or "auto". An implementation returns its :class:`~bpcheck.adapters.Adapter`
    when ``request.name`` is its own name (always: what the module lacks is
    then reported by the ``api`` check), or when it is "auto" and ``student``
    defines what its course's API needs. Otherwise it returns None, after
    appending one line to ``declined`` saying what it looked for, so that a
    module no adapter recognises is told what each one wanted.

    The first non-None result wins. The built-in ``functional`` adapter runs last.
    The adapter's ``translation`` must name a module of
    ``bpcheck._sandbox.adapters``: that code runs where the student's code runs.
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
