"""Notebooks: code cells run one by one, IPython lines skipped, failures reported by cell."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from bpcheck import InProcessStudent, get_plugin_manager
from bpcheck.adapters import choose_adapter
from bpcheck.adapters._adapter import AdapterRequest
from bpcheck.adapters._notebook import NotebookError, notebook_cells
from bpcheck._sandbox.calls import GradientCall
from tests.conftest import REFERENCE_SOURCE


def _notebook(path: Path, *sources: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# Homework")] + [
        nbformat.v4.new_code_cell(source) for source in sources
    ]
    nbformat.write(notebook, path)
    return path


def test_magics_shell_lines_and_help_are_skipped_keeping_line_numbers(tmp_path: Path) -> None:
    path = _notebook(
        tmp_path / "hw.ipynb",
        "%matplotlib inline\nfiles = !ls\nx = 1\nif x:\n    !echo hi\nx?",
        "%%bash\necho not python",
        "%%time\ny = 2",
    )
    cells = notebook_cells(path)
    assert [number for number, _ in cells] == [2, 4]
    assert cells[0][1].splitlines() == ["pass", "files = None", "x = 1", "if x:", "    pass", "pass"]
    assert cells[1][1].splitlines() == ["", "y = 2"]


def test_a_failing_cell_is_reported_and_the_rest_still_loads(tmp_path: Path) -> None:
    path = _notebook(
        # a helper the course does not submit (a name no other test's folder holds:
        # in-process students leave their folders on sys.path)
        tmp_path / "hw.ipynb", "from course_helpers_not_submitted import *", REFERENCE_SOURCE.read_text()
    )
    student = InProcessStudent(str(path), get_plugin_manager())
    assert student.api.usable
    [warning] = student.api.warnings
    assert warning.startswith("cell 2 raised, and the notebook was loaded without it: ")
    assert "ModuleNotFoundError: No module named 'course_helpers_not_submitted'" in warning


def test_a_student_traceback_names_the_cell_and_shows_its_line(tmp_path: Path) -> None:
    path = _notebook(
        tmp_path / "hw.ipynb",
        "import numpy as np",
        "def L_model_forward(X, parameters):\n    return X, []",
        "def L_model_backward(AL, Y, caches):\n    raise ValueError('not yet')",
    )
    manager = get_plugin_manager()
    adapter = choose_adapter(str(path), AdapterRequest(), manager)
    assert adapter.name == "dlai"
    student = InProcessStudent(str(path), manager, adapter)
    import numpy as np

    reply = student.call(GradientCall({"W1": np.ones((1, 1)), "b1": np.zeros((1, 1))}, np.ones((1, 2)), np.ones((1, 2)), ("sigmoid",), "bce"))
    assert reply.error is not None
    assert f'File "{path.resolve()}, cell 4", line 2, in L_model_backward' in reply.error.traceback
    assert "raise ValueError('not yet')" in reply.error.traceback


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "is not a valid Jupyter notebook"),
        ('{"cells": "many", "nbformat": 4, "nbformat_minor": 5, "metadata": {}}', "is not a valid Jupyter notebook"),
    ],
)
def test_a_file_that_is_not_a_notebook_says_so_and_names_the_file(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "broken.ipynb"
    path.write_text(content)
    with pytest.raises(NotebookError, match=problem) as raised:
        notebook_cells(path)
    assert str(path) in str(raised.value)
    student = InProcessStudent(str(path), get_plugin_manager())
    assert student.api.import_error is not None and problem in student.api.import_error.summary
