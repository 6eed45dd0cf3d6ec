"""Import a student's module from a module name or a path to a ``.py`` file."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def is_path(spec: str) -> bool:
    """A spec is a path when it names a ``.py`` file or contains a path separator."""
    return spec.endswith(".py") or "/" in spec or "\\" in spec


def student_name(spec: str) -> str:
    """The name reports use for a student: the module name, or the file's stem."""
    return Path(spec).stem if is_path(spec) else spec


def import_student(spec: str) -> ModuleType:
    """Import ``spec`` afresh.

    A path is imported from its file, with its folder put first on ``sys.path``
    so that the module's own sibling imports work. A name is imported from the
    working directory or ``sys.path``. Raises whatever the import raises.
    """
    if is_path(spec):
        path = Path(spec).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        sys.path.insert(0, str(path.parent))
        module_name = f"bpcheck_student_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        assert module_spec is not None and module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        module_spec.loader.exec_module(module)
        return module
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    sys.modules.pop(spec, None)
    return importlib.import_module(spec)
