"""What is graded: each submission found on the command line, named, and
hashed by its content, and the output directory checked against them.

A submission is a ``.py`` file, a ``.ipynb`` notebook or a directory; its
name (the file's stem or the directory's name, made printable) names its
reports. The content hash, of every file of a directory, decides whether a
rerun regrades it.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bpcheck._errors import ConfigError
from bpcheck.grading.isolation import MODULE_SUFFIXES, printable

#: Where each submission's reports and state go, under the output directory.
STUDENTS = "students"
#: Where ``--format gradescope`` writes each submission's results.json.
GRADESCOPE = "gradescope"


@dataclass(frozen=True)
class Submission:
    """One student's work: a ``.py`` file, a ``.ipynb`` notebook or a directory, and the name reports use
    (the file's or directory's name, made printable: bytes that are not UTF-8 and
    control characters escaped)."""

    name: str
    path: Path


def find_submissions(paths: Iterable[Path]) -> list[Submission]:
    """A submission per path, named by the file's stem or the directory's name.

    Raises :class:`ConfigError` for a path that is neither a ``.py`` file, a
    notebook nor a directory, and for two submissions that would share a name
    (and so overwrite each other's reports).
    """
    submissions: dict[str, Submission] = {}
    for path in paths:
        if not (path.is_dir() or (path.is_file() and path.suffix in MODULE_SUFFIXES)):
            raise ConfigError(
                "SUBMISSION", "the command line", "a .py file, a .ipynb notebook or a directory",
                printable(path),
            )
        name = printable(path.stem if path.is_file() else path.resolve().name)
        if name in submissions:
            raise ConfigError(
                "SUBMISSION",
                "the command line",
                f"one submission per name; {printable(submissions[name].path)} is already named "
                f"{name!r} (rename one, or pass the directories that hold them)",
                printable(path),
            )
        submissions[name] = Submission(name, path.resolve())
    return list(submissions.values())


def check_output_directory(submissions: Iterable[Submission], out: Path) -> None:
    """Raise :class:`ConfigError` if ``out`` is a submission or inside one, or a
    submission is one of the grader's own output folders: each run would then
    change a submission (so regrade it forever), or copy grades into a worker."""
    out = out.resolve()
    ours = (out / STUDENTS, out / GRADESCOPE)
    for submission in submissions:
        inside = submission.path == out or submission.path in out.parents
        if inside or any(folder in (submission.path, *submission.path.parents) for folder in ours):
            raise ConfigError(
                "--out",
                "the command line",
                f"a directory outside every submission, with none in its {STUDENTS}/ or "
                f"{GRADESCOPE}/ (it clashes with {submission.path})",
                str(out),
            )


def content_hash(path: Path) -> str:
    """A hash of a file, or of every file of a directory with its relative path.

    ``__pycache__`` folders are left out (an import may write them); symbolic
    links count by their target's name and are never followed; other special
    files (FIFOs, devices) count by their name only, since reading one could
    block or never end. Names count as their bytes, whatever they are.
    """
    digest = hashlib.sha256()
    if not path.is_dir():
        _add_contents(digest, path)
        return digest.hexdigest()
    for file in sorted(_walk(path), key=os.fsencode):
        digest.update(os.fsencode(file.relative_to(path)) + b"\0")
        mode = os.lstat(file).st_mode
        if stat.S_ISLNK(mode):
            digest.update(b"link:" + os.fsencode(os.readlink(file)))
        elif stat.S_ISREG(mode):
            _add_contents(digest, file)
        digest.update(b"\0")
    return digest.hexdigest()


def _add_contents(digest: hashlib._Hash, file: Path) -> None:
    with file.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)


def _walk(directory: Path) -> Iterator[Path]:
    """Every entry but directories, symbolic links to directories included (not followed)."""
    for root, folders, names in os.walk(directory):
        links = [folder for folder in folders if os.path.islink(os.path.join(root, folder))]
        folders[:] = [folder for folder in folders if folder != "__pycache__"]
        yield from (Path(root) / name for name in names + links)
