"""Translations: each module turns one course's API into the functional contract.

A translation is ``adapt(module, settings) -> Adapted``: the functions the
harness calls (``forward(params, X, activations) -> (AL, cache)`` and the
rest, in the lesson's layout), built on the module's own functions, and the
problems found (what the module lacks, in the course's words). It converts
layouts, names and loss conventions, and computes nothing the student should.

Like the rest of ``_sandbox``, these modules import only NumPy, the standard
library and each other by relative import, so that they can run inside an
isolated worker. Which translation runs, and with which settings (plain JSON
data), the grader decides (see ``bpcheck.adapters``).
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType
from typing import Any

from ._common import Adapted

__all__ = ["Adapted", "TRANSLATIONS", "translate"]

#: Every translation module, by the name an ``Adapter`` gives it.
TRANSLATIONS = ("functional", "dlai", "cs231n", "nielsen", "declarative")


def translate(name: str, module: ModuleType, settings: dict[str, Any]) -> Adapted:
    """Adapt ``module`` with the translation ``name`` (one of :data:`TRANSLATIONS`)."""
    if name not in TRANSLATIONS:
        raise ValueError(f"unknown translation {name!r}; known: {', '.join(TRANSLATIONS)}")
    translation = import_module(f".{name}", __name__)
    return translation.adapt(module, settings)  # type: ignore[no-any-return]
