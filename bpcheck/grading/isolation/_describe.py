"""What each level protects, in words: the run's banner, its warning, each worker's line."""

from __future__ import annotations

from bpcheck.grading.isolation._machine import LEVELS, Machine
from bpcheck.grading.isolation._machine import machine as _this_machine

#: What a level leaves open, for the warning a weaker level gets.
EXPOSED = {
    "bwrap": "",
    "unshare": (
        "the host's files stay readable by ordinary permissions (other submissions, other "
        "runs' outputs) and its world-writable folders other than /tmp, /var/tmp and /dev/shm "
        "stay writable"
    ),
    "plain": (
        "no namespaces: workers reach the network and every file their uid may read, share "
        "/tmp and /dev/shm with the machine, and their disk space is not capped"
    ),
}


def summary(level: str, machine: Machine, uid: int | None = None, drops: bool | None = None) -> str:
    """One line on how a worker of ``level`` is confined (``uid``: its own, if known)."""
    drops = machine.drops(level) if drops is None else drops
    if level == "bwrap":
        parts = ["bwrap (pid/net/ipc/uts namespaces, private filesystem view, a capped tmpfs as "
                 "its only writable space)"]  # fmt: skip
    elif level == "unshare":
        parts = ["unshare (pid/net/ipc/uts/mount namespaces, a capped tmpfs over /tmp, /var/tmp "
                 "and /dev/shm, site-packages and sources hidden; the rest of the filesystem "
                 "visible)"]  # fmt: skip
    else:
        parts = ["plain subprocess (own session, no namespaces, network allowed)"]
    if drops:
        parts.append(f"uid {uid}" if uid is not None else "a dedicated unprivileged uid per worker")
        parts.append("no capabilities, no_new_privs")
    elif machine.root:
        parts.append("AS ROOT: no uid drop (setpriv is missing); do not grade untrusted code this way")
    else:
        parts.append("the grader's uid")
    if machine.user_namespaces:
        parts.append("its own user namespace")
    parts.append(
        "a seccomp filter" if machine.seccomp is None else f"NO seccomp filter ({machine.seccomp})"
    )
    parts.append("rlimits (memory, CPU, file size, open files, processes)")
    return ", ".join(parts)


def describe_isolation(probed: Machine | None = None) -> str:
    """What isolation this machine offers (``probed``, default: this machine's) and
    which level workers will use."""
    machine = probed or _this_machine()
    chosen = machine.default_level()
    user = "root" if machine.root else "a regular user"
    lines = [f"Worker isolation on this machine (grader running as {user}):"]
    for name in LEVELS:
        available, note = machine.note(name)
        mark = "  <- used" if name == chosen else ""
        lines.append(f"  {name:8} {'available' if available else 'unavailable'}: {note}{mark}")
    lines.append(f"Workers use: {summary(chosen, machine)}.")
    return "\n".join(lines)


def weaker_warning(probed: Machine | None = None) -> str | None:
    """A warning when workers of the level in use are confined less than bwrap with a
    seccomp filter confines them; None when they are not."""
    machine = probed or _this_machine()
    level = machine.default_level()
    problems = [EXPOSED[level]] if EXPOSED[level] else []
    if machine.seccomp is not None:
        problems.append(f"no seccomp filter ({machine.seccomp})")
    if machine.root and not machine.drops(level):
        problems.append("workers run as root")
    if not problems:
        return None
    return (
        f"bpcheck: WARNING: workers run at the {level!r} level, which protects less than bwrap: "
        + "; ".join(problems)
        + ". To grade untrusted code, run .ci/install-isolation (bubblewrap, util-linux, "
        "libseccomp2) on this machine."
    )
