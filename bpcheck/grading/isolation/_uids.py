"""Dedicated worker uids (root only): one per live worker, on the whole machine.

Every grader on the machine takes its workers' uids from the same range and
locks each in :data:`UID_LOCK_DIR` (``flock``, released when the worker ends
or its grader dies), so no two live workers, of one run or of concurrent
runs, ever share a uid. A uid is drawn at random from the range rather than
the lowest free one, so that consecutive submissions do not get the same uid;
whatever a uid might keep in the kernel (a keyring, say) is in any case out
of reach: workers run in their own user namespace, and the seccomp filter
denies the keyring calls.
"""

from __future__ import annotations

import fcntl
import os
import random
import shutil
import stat
from pathlib import Path

from bpcheck.grading.isolation._processes import kill_all

#: Dedicated uids for workers: [UID_BASE, UID_BASE + UID_COUNT).
UID_BASE = 1_750_000
UID_COUNT = 100_000
#: Where graders keep uid locks.
UID_LOCK_DIR = Path("/run/bpcheck-uids")
#: Random draws before scanning the range in order.
_DRAWS = 64


def allocate_uid() -> tuple[int, int]:
    """A uid no other live worker holds, and the fd of its lock (close it with
    :func:`release_uid`). Processes left running under the uid by a grader that
    was killed hard are killed first."""
    UID_LOCK_DIR.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(UID_LOCK_DIR)
    if info.st_uid != 0 or not stat.S_ISDIR(info.st_mode) or info.st_mode & 0o077:
        raise RuntimeError(f"{UID_LOCK_DIR} must be a directory owned by root with mode 700")
    draws = [UID_BASE + random.randrange(UID_COUNT) for _ in range(_DRAWS)]
    for uid in [*draws, *range(UID_BASE, UID_BASE + UID_COUNT)]:
        fd = _lock(uid)
        if fd is not None:
            kill_all(lambda pid, info: info[0] == uid)  # noqa: B023 (used at once)
            return uid, fd
    raise RuntimeError("no free worker uid")


def _lock(uid: int) -> int | None:
    """The locked fd of ``uid``'s lock file, or None if another worker holds it."""
    path = UID_LOCK_DIR / str(uid)
    fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # A releaser may have unlinked the file between our open and our lock.
        if os.fstat(fd).st_ino == os.stat(path, follow_symlinks=False).st_ino:
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


#: World-writable folders a plain-level worker may leave files in.
SHARED_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm")


def remove_files_of(uid: int) -> None:
    """Delete what ``uid`` left at the top of the world-writable folders (the plain
    level has no private /tmp): the next worker that draws ``uid`` finds nothing."""
    for folder in SHARED_FOLDERS:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass


def release_uid(uid: int, fd: int) -> None:
    """Unlink ``uid``'s lock file while holding its lock, then drop the lock."""
    try:
        os.unlink(UID_LOCK_DIR / str(uid))
    except OSError:
        pass
    os.close(fd)
