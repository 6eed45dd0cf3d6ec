"""A submission as a worker gets it: the module found, and a clean copy staged.

A submission is a ``.py`` file, a ``.ipynb`` notebook, or a directory: then
the module is the directory's only top-level ``.py`` or ``.ipynb`` file; when
there are several, ``mlp.py``, else the only notebook (the course's helper
modules, such as deeplearning.ai's ``dnn_utils.py``, sit beside it). A directory is copied file by file: regular files and folders only.
Symbolic links and special files (FIFOs, sockets, devices) are never copied,
read or followed; each is skipped with a note. ``__pycache__`` and ``.git``
are left out. A name of any bytes is fine: paths stay ``os.fsencode``-able.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import py_compile
import shutil
import stat
import tempfile
from pathlib import Path

import bpcheck._sandbox as sandbox_package
from bpcheck._sandbox.adapters import TRANSLATIONS
from bpcheck.grading.isolation import _wire

#: Caps on a directory submission.
MAX_SUBMISSION_BYTES = 64 << 20
MAX_SUBMISSION_FILES = 10_000
#: Folders never copied into a worker.
LEFT_OUT = ("__pycache__", ".git")
#: The files of bpcheck._sandbox copied into each worker (its course translations
#: included), plus the wire codec as wire.py.
SANDBOX_MODULES = ("__init__.py", "calls.py", "dtypes.py", "execute.py", "loading.py", "worker_main.py") + tuple(
    f"adapters/{name}.py" for name in ("__init__", "_common", *TRANSLATIONS)
)
#: The files a submission's module may be.
MODULE_SUFFIXES = (".py", ".ipynb")
#: Notes on skipped files, at most this many (then one saying how many more).
MAX_NOTES = 10


def printable(path: Path | str) -> str:
    """A path for messages: bytes that are not UTF-8 as ``\\xNN``, control
    characters escaped, so that no name can break a line or a report."""
    text = os.fsencode(path).decode("utf-8", "backslashreplace")
    return "".join(
        char if char.isprintable() or char == " " else char.encode("unicode_escape").decode()
        for char in text
    )


def find_module(submission: Path) -> tuple[Path | None, str | None]:
    """The student's module in ``submission``, or None and why there is none.

    A file must end in ``.py`` or ``.ipynb``. In a directory the module is
    its only top-level ``.py`` or ``.ipynb`` file; among several, ``mlp.py``,
    else the only notebook.
    """
    if submission.is_dir():
        try:
            modules = sorted(
                p for p in submission.iterdir() if p.suffix in MODULE_SUFFIXES and not p.is_dir()
            )
        except OSError as exc:
            return None, f"cannot read the submission directory {printable(submission)}: {exc.strerror}"
        if not modules:
            return None, f"the submission directory {printable(submission.name)} holds no .py or .ipynb file"
        if len(modules) > 1:
            named = [p for p in modules if p.name == "mlp.py"]
            notebooks = [p for p in modules if p.suffix == ".ipynb"]
            if not named and len(notebooks) != 1:
                listed = ", ".join(printable(p.name) for p in modules[:10])
                return None, (
                    f"the submission directory {printable(submission.name)} holds several modules "
                    f"({listed}), and neither an mlp.py nor a single notebook; name the module "
                    "to grade mlp.py"
                )
            modules = named or notebooks
        if not stat.S_ISREG(os.lstat(modules[0]).st_mode):
            return None, f"{printable(modules[0].name)} is not a regular file; submit the file itself"
        return modules[0], None
    if not submission.exists():
        return None, f"no such submission: {printable(submission)}"
    if submission.suffix not in MODULE_SUFFIXES:
        return None, (
            f"the submission {printable(submission.name)} is not a .py file, a .ipynb notebook "
            "or a directory"
        )
    return submission, None


def stage(submission: Path, module: Path, into: Path) -> tuple[Path, list[str]]:
    """Copy ``submission`` into the new directory ``into``: the module's path
    relative to it, and a note per file left out. Raises :class:`TooLarge`."""
    into.mkdir(mode=0o755)
    if not submission.is_dir():
        shutil.copyfile(module, into / module.name)
        os.chmod(into / module.name, 0o644)
        return Path(module.name), []
    skipped: list[str] = []
    files = size = 0
    for root, folders, names in os.walk(submission):
        here = Path(root)
        target = into / here.relative_to(submission)
        kept = []
        for folder in folders:
            if folder in LEFT_OUT:
                continue
            if os.path.islink(here / folder):
                skipped.append(f"{printable((here / folder).relative_to(submission))} (a symbolic link)")
                continue
            (target / folder).mkdir(mode=0o755)
            kept.append(folder)
        folders[:] = kept
        for name in names:
            path = here / name
            mode = os.lstat(path).st_mode
            if not stat.S_ISREG(mode):
                skipped.append(f"{printable(path.relative_to(submission))} ({_kind(mode)})")
                continue
            files += 1
            size += os.lstat(path).st_size
            if files > MAX_SUBMISSION_FILES or size > MAX_SUBMISSION_BYTES:
                raise TooLarge(
                    f"the submission directory {printable(submission.name)} is too large to grade "
                    f"(over {MAX_SUBMISSION_FILES} files or {MAX_SUBMISSION_BYTES >> 20} MB)"
                )
            _copy_regular(path, target / name)
    notes = [f"left out of the worker's copy, never read: {entry}" for entry in skipped[:MAX_NOTES]]
    if len(skipped) > MAX_NOTES:
        notes.append(f"... and {len(skipped) - MAX_NOTES} more files that are not regular files")
    return module.relative_to(submission), notes


class TooLarge(Exception):
    """The submission is over the caps; the message says which."""


def _copy_regular(source: Path, target: Path) -> None:
    """Copy a regular file without following a link swapped in meanwhile."""
    descriptor = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return
        with os.fdopen(descriptor, "rb", closefd=False) as reader, open(target, "xb") as writer:
            shutil.copyfileobj(reader, writer)
    finally:
        os.close(descriptor)
    os.chmod(target, 0o644)


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device or other special file"


@functools.cache
def harness_sources() -> dict[str, bytes]:
    """The worker's private package, by path in it: bpcheck._sandbox's modules
    and the wire codec, each with its bytecode (read once per grader process).

    The bytecode is compiled here, once, as unchecked hash-based ``.pyc`` files
    in each module's ``__pycache__``: the worker (which writes no bytecode)
    then imports its harness without compiling it. Python takes each code
    object's file name from where the module is found, so tracebacks name the
    worker's own copy."""
    folder = Path(sandbox_package.__file__).resolve().parent
    sources = {name: (folder / name).read_bytes() for name in SANDBOX_MODULES}
    sources["wire.py"] = Path(_wire.__file__).resolve().read_bytes()
    with tempfile.TemporaryDirectory(prefix="bpcheck-harness-") as scratch:
        for name, code in list(sources.items()):
            source = Path(scratch, name)
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_bytes(code)
            compiled = Path(importlib.util.cache_from_source(str(source)))
            py_compile.compile(
                str(source),
                str(compiled),
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
            sources[compiled.relative_to(scratch).as_posix()] = compiled.read_bytes()
    return sources


def tree_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def share_with_group(folder: Path, uid: int) -> None:
    """Own ``folder`` by root and group ``uid``: the worker reads it, nobody else does."""
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, 0, uid)
        os.chmod(path, 0o750 if path.is_dir() else 0o640)
