"""Read what a student's module defines, from its source, without running it."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from bpcheck._sandbox.loading import is_path
from bpcheck.adapters._adapter import StudentSource
from bpcheck.adapters._notebook import NotebookError, notebook_cells


def _source_file(spec: str) -> Path | None:
    """The file ``spec`` would be imported from: the path, or the module name
    looked up from the working directory first, as ``import_student`` does."""
    if is_path(spec):
        return Path(spec)
    local = Path.cwd().joinpath(*spec.split("."))
    for candidate in (local.with_suffix(".py"), local / "__init__.py"):
        if candidate.is_file():
            return candidate
    try:
        found = importlib.util.find_spec(spec)
    except (ImportError, ValueError):
        return None
    return Path(found.origin) if found is not None and found.origin else None


#: Larger sources are not read to choose an adapter (student files are untrusted).
MAX_SOURCE_BYTES = 5_000_000


def _code(path: Path) -> str:
    if path.stat().st_size > MAX_SOURCE_BYTES:
        raise OSError(f"{path} is larger than {MAX_SOURCE_BYTES // 1_000_000} MB")
    if path.suffix == ".ipynb":
        return "\n".join(source for _, source in notebook_cells(path))
    return path.read_text(encoding="utf-8", errors="replace")


def _bound(node: ast.stmt) -> list[str]:
    """The names a top-level statement binds."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(alias.asname or alias.name).split(".")[0] for alias in node.names]
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    return [name.id for target in targets for name in ast.walk(target) if isinstance(name, ast.Name)]


def _statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """Top-level statements, looking into if/try blocks (``if __name__ == ...``, optional imports)."""
    found: list[ast.stmt] = []
    for node in body:
        found.append(node)
        if isinstance(node, ast.If):
            found += _statements(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            found += _statements(node.body + node.orelse + node.finalbody)
    return found


def read_source(spec: str) -> StudentSource:
    """The top-level names and classes' methods of the student ``spec`` (a
    module name, a ``.py`` file or a ``.ipynb`` notebook)."""
    path = _source_file(spec)
    if path is None:
        return StudentSource(spec, error=f"no source found for {spec}")
    try:
        tree = ast.parse(_code(path))
    except (OSError, NotebookError) as error:
        return StudentSource(str(path), error=str(error))
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        return StudentSource(str(path), error=f"its source does not parse ({type(error).__name__}: {error})")
    statements = _statements(tree.body)
    names = frozenset(name for node in statements for name in _bound(node))
    methods = {
        node.name: frozenset(
            item.name
            for item in node.body
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
        )
        for node in statements
        if isinstance(node, ast.ClassDef)
    }
    return StudentSource(str(path), names, methods)
