"""Starting a worker: its private directory, its view, its configuration, its process.

:func:`launch` takes a uid when the level drops to one (:mod:`._uids`),
lays out the worker's directory (the harness's sources under a package name
of its own, the staged submission (:mod:`._staging`), a notebook's cells,
its output files), builds its level's view (:mod:`._views`), and starts the
worker's process with its end of a fresh socket and the shared input memory
(:mod:`._shared`). Everything it takes is recorded in the worker's
:class:`~._resources.Resources` as it is taken, so that it is all released
however the start ends.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bpcheck._student import _CONTRACT_ARGUMENTS, OPTIONAL_ARITY, REQUIRED_ARITY
from bpcheck.adapters import Adapter
from bpcheck.adapters._notebook import notebook_cells
from bpcheck.grading.isolation import _seccomp
from bpcheck.grading.isolation._describe import summary
from bpcheck.grading.isolation._limits import Limits, rlimits
from bpcheck.grading.isolation._machine import Machine
from bpcheck.grading.isolation._processes import processes_of_uid
from bpcheck.grading.isolation._resources import Resources
from bpcheck.grading.isolation._shared import SharedInputs
from bpcheck.grading.isolation._staging import harness_sources, share_with_group, stage, tree_bytes
from bpcheck.grading.isolation._uids import allocate_uid
from bpcheck.grading.isolation._views import (
    Staged,
    View,
    base_env,
    bwrap_view,
    hidden_from_unshare,
    numpy_dirs,
    plain_view,
    unshare_view,
)


@dataclass(frozen=True)
class Launched:
    """A started worker: the grader's end of its socket, how it is isolated (as
    reports say it), and its writable space as it sees it (for the disk check;
    None at the plain level, whose space is not capped)."""

    sock: socket.socket
    isolation: str
    scratch: str | None


def launch(
    submission: Path,
    module: Path,
    limits: Limits,
    adapter: Adapter,
    level: str,
    probed: Machine,
    resources: Resources,
    notes: list[str],
    *,
    spec: str,
    display: str,
) -> Launched:
    """Start the worker of ``submission`` (its module ``module``) at ``level``:
    everything it takes goes into ``resources`` as it is taken, and what of a
    directory submission was left out into ``notes``. Raises TooLarge or
    NotebookError for a submission that cannot be staged."""
    if probed.drops(level):
        resources.uid, resources.uid_lock = allocate_uid()
        resources.sweep = level == "plain"
    uid = resources.uid
    directory = Path(tempfile.mkdtemp(prefix="bpcheck-worker-"))
    resources.directory = directory
    os.chmod(directory, 0o711)
    package = f"_bpcheck_worker_{secrets.token_hex(4)}"
    lib, out, scratch = directory / "lib", directory / "out", directory / "scratch"
    for folder, mode in ((lib, 0o755), (lib / package, 0o755), (out, 0o700), (scratch, 0o700)):
        folder.mkdir(mode=mode)
        os.chmod(folder, mode)
    for name, code in harness_sources().items():
        path = lib / package / name
        if not path.parent.is_dir():
            path.parent.mkdir(mode=0o755)
        path.write_bytes(code)
        os.chmod(path, 0o644)
    relative, left_out = stage(submission, module, directory / "student")
    notes += left_out
    cells = None
    if relative.suffix == ".ipynb":  # parsed here, from the staged copy; run in the worker
        found = notebook_cells(directory / "student" / relative, name=spec)
        cells = lib / "cells.json"
        cells.write_text(json.dumps(found), encoding="utf-8")
        os.chmod(cells, 0o644)
    size = tree_bytes(directory / "student")
    if uid is not None:  # readable by the worker's group only, writable by nobody but root
        share_with_group(directory / "student", uid)
        os.chown(scratch, uid, uid)
    numpy = numpy_dirs()
    if level != "plain":
        for source in numpy:
            (lib / source.name).mkdir(mode=0o755)
    staged = Staged(
        directory,
        lib,
        directory / "student",
        scratch,
        uid,
        probed.user_namespaces,
        (limits.disk_mb << 20) + size,
        numpy,
    )
    env = base_env(resources.marker)
    if level == "bwrap":
        env.update(HOME="/tmp", TMPDIR="/tmp")
        view = bwrap_view(staged, probed.root, env)
    elif level == "unshare":
        env.update(HOME="/tmp", TMPDIR="/tmp")
        view = unshare_view(staged, hidden_from_unshare(submission))
    else:
        view = plain_view(staged, pdeathsig=probed.setpriv)
        env.update(HOME=view.scratch, TMPDIR=view.scratch)
    resources.held_fds += view.pass_fds
    env.update(view.env)

    resources.shared = SharedInputs()
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    resources.sock = parent
    processes = limits.processes
    if uid is None:  # shared uid: RLIMIT_NPROC counts all of the grader user's threads
        processes += processes_of_uid(os.getuid())
    config: dict[str, Any] = {
        "rlimits": rlimits(limits, processes),
        "fd": child.fileno(),
        "shared_fd": resources.shared.fd,
        "seccomp": _seccomp.filter_program().hex() if probed.seccomp is None else None,
        "submission": view.submission,
        "scratch": view.scratch,
        "module": relative.as_posix(),
        "display": display,
        "translation": adapter.translation,
        "settings": dict(adapter.settings),
        "cells": None if cells is None else f"{view.lib}/cells.json",
        "contract": {
            "required": {
                name: [n, _CONTRACT_ARGUMENTS[name]] for name, n in REQUIRED_ARITY.items()
            },
            "optional": {
                name: [n, _CONTRACT_ARGUMENTS[name]] for name, n in OPTIONAL_ARITY.items()
            },
        },
    }
    boot = (
        "import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
        f"sys.path.insert(0, {view.lib!r}); from {package}.worker_main import main; main()"
    )
    python = [view.executable, "-s", "-S", "-B", "-c", boot, json.dumps(config)]
    _start_process(resources, view, python, env, out, [child.fileno(), resources.shared.fd])
    child.close()
    for fd in view.pass_fds:
        os.close(fd)
        resources.held_fds.remove(fd)
    return Launched(
        parent,
        summary(level, probed, uid, drops=uid is not None),
        view.scratch if level != "plain" else None,
    )


def _start_process(
    resources: Resources,
    view: View,
    python: list[str],
    env: dict[str, str],
    out: Path,
    fds: list[int],
) -> None:
    for name in ("stdout", "stderr"):
        resources.outputs.append(
            os.open(out / name, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        )
    resources.process = subprocess.Popen(
        [*view.command, *python],
        stdin=subprocess.DEVNULL,
        stdout=resources.outputs[0],
        stderr=resources.outputs[1],
        pass_fds=(*fds, *view.pass_fds),
        start_new_session=True,
        env=env,
        cwd=view.cwd,
    )
