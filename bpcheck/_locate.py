"""Find a student's module before anything runs: a spec that names nothing is a usage error.

``pytest --student=SPEC`` and ``bpcheck check SPEC`` take a module name
importable from the working directory or ``sys.path``, or a path to a ``.py``
file. A typo, a missing file or a directory is the caller's mistake, not the
student code's: :func:`locate_student` raises :class:`ConfigError` saying what
was looked for and where, before any check runs or any report is written.
Nothing is imported to find out (``PathFinder`` only looks at the files).
"""

from __future__ import annotations

import difflib
import importlib.machinery
import sys
from pathlib import Path

from bpcheck._errors import ConfigError
from bpcheck._sandbox.loading import is_path


def locate_student(spec: str, setting: str, source: str) -> None:
    """Raise :class:`ConfigError` unless ``spec`` names an existing ``.py`` file or a
    module found from the working directory or ``sys.path``."""
    if is_path(spec):
        path = Path(spec).resolve()
        if path.is_dir():
            expected = f"a .py file, not the directory {path} (name the module file inside it)"
            raise ConfigError(setting, source, expected, spec)
        if not path.is_file():
            raise ConfigError(setting, source, f"an existing .py file ({path} does not exist)", spec)
        return
    top = spec.split(".")[0]
    places = [str(Path.cwd()), *(entry for entry in sys.path if entry)]
    if importlib.machinery.PathFinder.find_spec(top, places) is not None or top in sys.builtin_module_names:
        return
    here = sorted(path.stem for path in Path.cwd().glob("*.py"))
    close = difflib.get_close_matches(top, here, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    expected = (
        f"a module in the working directory {Path.cwd()} or on sys.path, or a path to a .py "
        f"file{hint} (.py files here: {', '.join(here[:10]) or 'none'})"
    )
    raise ConfigError(setting, source, expected, spec)
