"""What this machine offers workers, probed once per run.

:func:`machine` probes the levels (bwrap, unshare, plain), whether a worker
can enter a user namespace of its own, and whether a seccomp filter can be
built, the first time it is asked, and remembers the answer. A grader that
starts a pool of processes probes once in the parent and hands the result to
each of them (:func:`adopt`, as the pool's initializer), so no pool process
probes again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from bpcheck.grading.isolation import _seccomp
from bpcheck.grading.isolation._views import (
    UNSHARE_FLAGS,
    base_env,
    bwrap_namespaces,
    bwrap_system,
    own_user_namespace,
    privilege_drop,
)

LEVELS = ("bwrap", "unshare", "plain")
#: The uid the probes drop to (nobody).
_PROBE_UID = 65534


@dataclass(frozen=True)
class Machine:
    """The probe's findings, as plain (picklable) data.

    ``levels`` maps each level to (works here, a note: its version, or why not).
    ``user_namespaces`` says whether a worker may enter a user namespace of its
    own; ``seccomp`` is None when the filter can be built, else why not.
    """

    root: bool
    setpriv: bool
    levels: tuple[tuple[str, bool, str], ...]
    user_namespaces: bool
    seccomp: str | None

    def available(self, level: str) -> bool:
        return self.note(level)[0]

    def note(self, level: str) -> tuple[bool, str]:
        for name, works, note in self.levels:
            if name == level:
                return works, note
        raise KeyError(level)

    def default_level(self) -> str:
        """``BPCHECK_ISOLATION`` if set, else the best level that works."""
        wanted = os.environ.get("BPCHECK_ISOLATION")
        if wanted:
            return wanted
        return next(name for name in LEVELS if self.available(name))

    def resolve(self, level: str | None) -> str:
        """``level`` (None: the default), checked: raises ValueError for an unknown
        level and RuntimeError for one that does not work here."""
        level = level or self.default_level()
        if level not in LEVELS:
            raise ValueError(
                f"unknown isolation level {level!r}; expected one of {', '.join(LEVELS)}"
            )
        works, why = self.note(level)
        if not works:
            raise RuntimeError(f"isolation level {level!r} is not available here: {why}")
        return level

    def drops(self, level: str) -> bool:
        """Whether workers of ``level`` run as a dedicated uid: as root, always but for
        the plain level without setpriv."""
        return self.root and (level != "plain" or self.setpriv)


_probed: Machine | None = None


def machine() -> Machine:
    """This machine's :class:`Machine`, probed on first use."""
    global _probed
    if _probed is None:
        _probed = _probe_machine()
    return _probed


def adopt(probed: Machine) -> None:
    """Use ``probed`` (a parent process's findings) instead of probing again."""
    global _probed
    _probed = probed


def _run(command: list[str]) -> tuple[bool, str]:
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=20,
            env=base_env("probe"),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip() or f"exit code {done.returncode}"
        return False, why[:200]
    return True, ""


def _probe_machine() -> Machine:
    root = os.geteuid() == 0
    setpriv = shutil.which("setpriv") is not None
    drop = privilege_drop(_PROBE_UID if root else None)
    user_namespaces = (
        shutil.which("unshare") is not None
        and (setpriv or not root)
        and _run([*drop, *own_user_namespace(True), "true"])[0]
    )
    levels = [_probe_bwrap(root, setpriv, drop), _probe_unshare(root, setpriv)]
    levels.append(("plain", True, "always available"))
    return Machine(root, setpriv, tuple(levels), user_namespaces, _seccomp.unavailable())


def _probe_bwrap(root: bool, setpriv: bool, drop: list[str]) -> tuple[str, bool, str]:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bwrap", False, "bwrap is not installed (apt-get install bubblewrap)"
    if root and not setpriv:
        return "bwrap", False, "setpriv is not installed (util-linux)"
    command = [bwrap, *bwrap_namespaces(root), *bwrap_system(), "--proc", "/proc"]
    works, why = _run([*command, "--dev", "/dev", *drop, "true"])
    version = subprocess.run(
        [bwrap, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return "bwrap", works, version if works else f"{version or 'bwrap'} cannot run here: {why}"


def _probe_unshare(root: bool, setpriv: bool) -> tuple[str, bool, str]:
    if not root:
        return "unshare", False, "needs root"
    if shutil.which("unshare") is None or not setpriv:
        return "unshare", False, "unshare or setpriv is not installed (util-linux)"
    works, why = _run(["unshare", *UNSHARE_FLAGS, "--", "true"])
    return "unshare", works, "util-linux unshare" if works else f"unshare cannot run here: {why}"
