"""Table of student implementations (correct and buggy) used by bpcheck's own tests.

Every ``correct_*.py`` / ``buggy_*.py`` module here defines STYLE, TARGET_CHECK and
MISTAKE; correct modules have TARGET_CHECK = MISTAKE = None.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent

Row = tuple[str, Path, str, str | None, str | None]  # (name, path, STYLE, TARGET_CHECK, MISTAKE)


def load(name: str) -> ModuleType:
    """Import a fresh copy of implementation ``name`` from its file (new module state each call)."""
    path = HERE / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bpcheck_impl_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _names(prefix: str) -> list[str]:
    return sorted(p.stem for p in HERE.glob(f"{prefix}*.py"))


CORRECT: list[str] = _names("correct_")
BUGGY: list[str] = _names("buggy_")


def implementations() -> list[Row]:
    """All implementations, correct first, as (module_name, path, STYLE, TARGET_CHECK, MISTAKE)."""
    rows: list[Row] = []
    for name in CORRECT + BUGGY:
        m = load(name)
        rows.append((name, HERE / f"{name}.py", m.STYLE, m.TARGET_CHECK, m.MISTAKE))
    return rows
