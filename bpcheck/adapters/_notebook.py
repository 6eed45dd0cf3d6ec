"""A student's Jupyter notebook as code: its code cells, IPython syntax removed.

Reading a notebook only parses JSON (with :mod:`nbformat`); nothing in it
runs here. The cells are executed where the student's code runs, one by one,
by ``bpcheck._sandbox.loading``, so that a failing cell is reported and the
rest still load, and tracebacks name the cell.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

#: Cell magics whose body is Python, run as if the magic line were absent.
PYTHON_CELL_MAGICS = ("%%time", "%%timeit", "%%capture", "%%prun")
#: A line of IPython syntax: a magic (%), a shell escape (!), or a help request (x? / ?x).
_IPYTHON_LINE = re.compile(r"^\s*([%!]|\?|[\w.]+\?\??\s*$)")
_SHELL_ASSIGNMENT = re.compile(r"^(\s*[\w.]+\s*=\s*)[%!]")


class NotebookError(Exception):
    """The file is not a notebook bpcheck can read; the message says what is wrong."""


def _python_lines(source: str) -> str | None:
    """The cell's source with IPython lines blanked to ``pass`` (so that line
    numbers and blocks stay intact); None for a cell magic that is not Python."""
    lines = source.splitlines()
    if lines and lines[0].startswith("%%"):
        if not lines[0].split()[0] in PYTHON_CELL_MAGICS:
            return None
        lines[0] = ""
    kept = []
    for line in lines:
        assignment = _SHELL_ASSIGNMENT.match(line)
        if assignment:
            kept.append(assignment.group(1) + "None")
        elif _IPYTHON_LINE.match(line):
            kept.append(line[: len(line) - len(line.lstrip())] + "pass")
        else:
            kept.append(line)
    return "\n".join(kept) + "\n"


def notebook_cells(path: Path, name: str | None = None) -> list[tuple[int, str]]:
    """The Python code of every code cell, as (cell number, source); cells
    are numbered from 1 among all the notebook's cells, as Jupyter lists them.
    Raises :class:`NotebookError` naming the file (as ``name``, when the file
    read is a copy) and the problem."""
    shown = path if name is None else name
    try:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
    except OSError as error:
        raise NotebookError(f"{shown}: cannot be read ({error.strerror or error})") from None
    except Exception as error:  # nbformat raises JSON, reader and validation errors of many types
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise NotebookError(
            f"{shown} is not a valid Jupyter notebook ({type(error).__name__}: {first}); "
            "save it again from Jupyter, or submit a .py file"
        ) from None
    cells = []
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code":
            continue
        code = _python_lines(cell.source)
        if code is not None and code.strip():
            cells.append((number, code))
    return cells
