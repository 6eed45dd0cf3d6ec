"""Import a student's module from a module name, a path to a ``.py`` file,
or the code cells of a notebook."""

from __future__ import annotations

import importlib
import importlib.util
import linecache
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from .execute import student_error


def is_path(spec: str) -> bool:
    """A spec is a path when it names a ``.py`` file or a ``.ipynb`` notebook,
    or contains a path separator."""
    return spec.endswith((".py", ".ipynb")) or "/" in spec or "\\" in spec


def is_notebook(spec: str) -> bool:
    return spec.endswith(".ipynb")


def cell_filename(path: Path, cell: int) -> str:
    """The file name a notebook cell's code runs under, so that tracebacks name the cell."""
    return f"{path}, cell {cell}"


def import_notebook(
    spec: str, cells: Sequence[tuple[int, str]]
) -> tuple[ModuleType, list[tuple[int, BaseException]]]:
    """Run a notebook's code cells, given as (cell number, Python source), in order,
    in one fresh module named like a ``.py`` file's.

    A cell that raises is recorded as (cell number, exception) and the next
    cell runs, as in Jupyter's "run all" with errors skipped. Each cell is
    compiled under :func:`cell_filename` and its lines kept in
    :mod:`linecache`, so that a traceback shows the cell and the line.
    """
    path = Path(spec).resolve()
    sys.path.insert(0, str(path.parent))
    module = ModuleType(f"bpcheck_student_{path.stem}")
    module.__file__ = str(path)
    sys.modules[module.__name__] = module
    failures: list[tuple[int, BaseException]] = []
    for number, source in cells:
        filename = cell_filename(path, number)
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        try:
            exec(compile(source, filename, "exec"), module.__dict__)
        except (Exception, SystemExit) as exc:  # the student's; KeyboardInterrupt stays the user's
            failures.append((number, exc))
    return module, failures


def failed_cells(failures: Sequence[tuple[int, BaseException]]) -> tuple[str, ...]:
    """How each cell :func:`import_notebook` recorded as raising is reported
    (a warning of the api check: the module is still used)."""
    return tuple(
        f"cell {number} raised, and the notebook was loaded without it: "
        + student_error("import", exc).summary.removeprefix("import() raised ")
        for number, exc in failures
    )


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
