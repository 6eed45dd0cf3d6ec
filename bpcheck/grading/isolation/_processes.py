"""Finding and killing a worker's processes, wherever they went.

A worker's processes are recognised by its dedicated uid, or by the marker in
their environment (``BPCHECK_WORKER=...``) when it has none; both come from
``/proc``, which the grader reads itself.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

#: (real uid, state) of a process, as /proc/PID/status gives them.
ProcessInfo = tuple[int, str]
Predicate = Callable[[str, ProcessInfo], bool]


def proc_info(pid: str) -> ProcessInfo | None:
    """(real uid, state) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            text = status.read().decode(errors="replace")
    except OSError:
        return None
    uid, state = -1, "?"
    for line in text.splitlines():  # State comes before Uid, near the top: stop at both
        if line.startswith("State:"):
            state = line.split()[1]
        elif line.startswith("Uid:"):
            uid = int(line.split()[1])
        if uid != -1 and state != "?":
            break
    return uid, state


def threads(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


def has_marker(pid: str, marker: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as environ:
            return marker in environ.read().split(b"\0")
    except OSError:
        return False


def matching(predicate: Predicate) -> list[int]:
    """Live (non-zombie) processes but this one for which ``predicate(pid, info)`` holds."""
    found = []
    own = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == own:
            continue
        info = proc_info(name)
        if info is None or info[1] in ("Z", "X"):
            continue
        if predicate(name, info):
            found.append(int(name))
    return found


#: How long :func:`kill_all` first waits for its victims to die, and at most
#: between two looks: a killed process is gone within a millisecond or so, and
#: a grader waits for every worker it closes.
_FIRST_WAIT, _LONGEST_WAIT = 0.0005, 0.01


def kill_all(predicate: Predicate, patience: float = 5.0) -> list[int]:
    """SIGKILL every matching process until none is left; those still alive after ``patience``."""
    deadline = time.monotonic() + patience
    wait = _FIRST_WAIT
    while True:
        victims = matching(predicate)
        if not victims or time.monotonic() > deadline:
            return victims
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(wait)
        wait = min(2 * wait, _LONGEST_WAIT)


def processes_of_uid(uid: int) -> int:
    """Threads the processes of ``uid`` run now (what RLIMIT_NPROC counts for it)."""
    return sum(threads(pid) for pid in matching(lambda pid, info: info[0] == uid))
