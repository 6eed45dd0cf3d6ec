"""Run a submission in an isolated worker process: :class:`WorkerStudent`.

The grader never runs student code in its own process. A :class:`WorkerStudent`
starts one worker per submission; the worker imports the student's module and
answers :mod:`~bpcheck._sandbox.calls` requests with
:func:`~bpcheck._sandbox.execute.execute`, over a private socket that carries
JSON and ``.npy`` only (:mod:`bpcheck.grading._wire`). Hypothesis, the
reference and every verdict stay in the grader.

Submissions
    A submission is a ``.py`` file, or a directory: then the module is the
    directory's only top-level ``.py`` file, or ``mlp.py`` when there are
    several. The submission is copied into the worker's temporary directory
    (a directory at most 64 MB and 10 000 files, symlinks copied as links);
    the worker never sees the original. The worker's working directory is
    that copy, so a module may read its own data files by relative path;
    writing there changes only the copy.

Levels of isolation, best first (``describe_isolation()`` says which this
machine offers; ``BPCHECK_ISOLATION`` or ``level=`` picks one):

``bwrap``
    bubblewrap with new pid, net, ipc and uts namespaces and a private
    filesystem view that holds only /usr and the system libraries, the
    interpreter's prefix (bind-mounted at its own path, its site-packages
    hidden), NumPy, the copied harness modules (read-only), the copied
    submission and a scratch directory (HOME, also mounted as /tmp). As root, ``setpriv`` then drops to a dedicated unprivileged uid per
    worker (so RLIMIT_NPROC counts only that worker), with no capabilities
    and no_new_privs. Killing the worker's bwrap ends the pid namespace, and
    with it every process the student started. ``--die-with-parent`` ends it
    if the grader dies (note: with the *thread* that created the worker).
``unshare``
    As root without bwrap: util-linux ``unshare`` with new pid, net, ipc,
    uts and mount namespaces (``--kill-child``). In the private mount
    namespace the interpreter's prefix is bind-mounted inside the worker's
    temporary directory (an unprivileged uid cannot reach /root/.pyenv), and
    empty tmpfs are mounted over the interpreter's and the grader's
    site-packages, bpcheck's source tree, the reference and the submission's
    parent directory. The rest of the filesystem stays visible, protected
    only by ordinary permissions; the worker runs as a dedicated uid.
``plain``
    A plain subprocess in its own session with rlimits, a scrubbed
    environment and a temporary working directory. As root (with setpriv) it
    still drops to a dedicated uid, reaching the interpreter and NumPy through
    directory file descriptors it inherits (``/proc/self/fd/N/bin/python``),
    so an interpreter under /root works; the worker can then read whatever
    is world-readable. Not as root, it runs as the grader's user, may read
    whatever that user can, and RLIMIT_NPROC is set to that user's current
    thread count plus the limit. As root without setpriv it would run AS
    ROOT: ``isolation`` says so, and RLIMIT_NPROC does not bind. Cleanup kills the process group, then sweeps /proc for
    processes carrying the worker's marker in their environment (or its uid):
    a child that both leaves the session and replaces its environment escapes
    the sweep. If the grader dies, the worker gets SIGKILL (``setpriv
    --pdeathsig``) but children it started survive unless they run under the
    worker's dedicated uid and a later grader reuses it. No network isolation.

Every level sets, in the worker before NumPy or student code is imported:
RLIMIT_AS, RLIMIT_CPU (SIGXCPU, then SIGKILL a second later), RLIMIT_FSIZE,
RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_CORE = 0; and one BLAS thread. The
worker's stdout and stderr go to files in its temporary directory, capped at
``Limits.output_bytes`` and never parsed.

What a worker offers student code: the standard library and NumPy, nothing
else (no matplotlib, scipy, ...); modules are adapted by the functional
adapter only (adapter plugins run in the grader). Not limited: disk space in
the working directory beyond RLIMIT_FSIZE per file (no quotas), and the
number of files. Temporary directories and uid lock files of a grader that
was killed are left in /tmp and /run/bpcheck-uids; its workers are not.

``termination`` (None while the worker is healthy) says why it stopped:

``timeout``          a call, the import, or the whole submission ran out of wall-clock time
``memory_limit``     the student's code raised MemoryError (RLIMIT_AS) at import or in a call
``cpu_limit``        the worker was killed by SIGXCPU (RLIMIT_CPU)
``output_limit``     stdout + stderr grew past ``Limits.output_bytes``
``file_size_limit``  the worker was killed by SIGXFSZ writing a file past RLIMIT_FSIZE (rare:
                     Python ignores SIGXFSZ, so the write usually raises OSError in student code)
``crashed``          the worker died any other way: ``os._exit``, a signal, a segfault
                     (e.g. a recursion limit raised past the C stack), or it closed its channel
``protocol_error``   the worker sent a message that breaks the wire format or the protocol
``worker_error``     the worker failed before any student code ran (an environment problem,
                     not the student's: e.g. a memory limit too small to import NumPy)

``import_error`` and ``api_error`` are not terminations: they come from
``api`` (``api.import_error``, ``api.problems``). When the import itself
ended the worker, both are set: ``termination`` says how, ``api.import_error``
what the student sees. After a termination every call returns at once a
Reply whose ``error`` says what happened.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence
from typing import Any

import numpy as np

import bpcheck._sandbox as sandbox_package
from bpcheck._sandbox.calls import Call, Reply, StudentError
from bpcheck._student import _CONTRACT_ARGUMENTS, OPTIONAL_ARITY, REQUIRED_ARITY, ApiReport
from bpcheck.grading import _wire
from bpcheck.grading._wire import WireError
from bpcheck.grading._worker import (
    FUNCTION_OF_CALL,
    Channel,
    ChannelClosed,
    ChannelTimeout,
    call_tree,
    expect_type,
    hello_report,
    reply_of,
)

LEVELS = ("bwrap", "unshare", "plain")

#: Seconds a worker may take to start Python and import NumPy, before any student code.
BOOT_TIMEOUT = 60.0
#: Dedicated uids for workers (root only): [UID_BASE, UID_BASE + UID_COUNT).
UID_BASE = 1_750_000
UID_COUNT = 10_000
#: Caps on a directory submission.
MAX_SUBMISSION_BYTES = 64 << 20
MAX_SUBMISSION_FILES = 10_000
#: Where the grader keeps uid locks (root only).
UID_LOCK_DIR = Path("/run/bpcheck-uids")
#: The files of bpcheck._sandbox copied into each worker, plus the wire codec as wire.py.
SANDBOX_MODULES = ("__init__.py", "calls.py", "execute.py", "loading.py", "worker_main.py")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one worker."""

    call_timeout: float = 30.0  # seconds of wall clock per call into the worker
    submission_timeout: float = 600.0  # seconds of wall clock for the whole submission
    memory_mb: int = 1024  # address space (RLIMIT_AS)
    cpu_seconds: int = 600  # RLIMIT_CPU
    file_size_mb: int = 16  # RLIMIT_FSIZE
    open_files: int = 64  # RLIMIT_NOFILE
    processes: int = 64  # RLIMIT_NPROC (processes and threads)
    output_bytes: int = 1_000_000  # cap on captured stdout + stderr


# ------------------------------------------------------------------ what this machine offers


def _is_root() -> bool:
    return os.geteuid() == 0


def _interpreter() -> tuple[Path, Path]:
    """The real interpreter binary and the prefix it belongs to."""
    return Path(os.path.realpath(sys.executable)), Path(sys.base_prefix)


def _probe(command: list[str]) -> tuple[bool, str]:
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=20,
            env=_base_env("probe"),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    if done.returncode != 0:
        return False, (
            done.stderr.decode(errors="replace").strip() or f"exit code {done.returncode}"
        )[:200]
    return True, ""


@functools.cache
def _levels() -> dict[str, tuple[bool, str]]:
    """Each level: whether it works here, and a note (version, or why not)."""
    levels: dict[str, tuple[bool, str]] = {}
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        levels["bwrap"] = (False, "bwrap is not installed (apt-get install bubblewrap)")
    elif _is_root() and shutil.which("setpriv") is None:
        levels["bwrap"] = (False, "setpriv is not installed (util-linux)")
    else:
        command = [
            bwrap,
            *_bwrap_namespaces(),
            *_bwrap_system(),
            "--proc",
            "/proc",
            "--dev",
            "/dev",
        ]
        command += [*_privilege_drop(65534 if _is_root() else None), "true"]
        works, why = _probe(command)
        version = subprocess.run(
            [bwrap, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        levels["bwrap"] = (
            works,
            version if works else f"{version or 'bwrap'} cannot run here: {why}",
        )
    unshare = shutil.which("unshare")
    if not _is_root():
        levels["unshare"] = (False, "needs root")
    elif unshare is None or shutil.which("setpriv") is None:
        levels["unshare"] = (False, "unshare or setpriv is not installed (util-linux)")
    else:
        works, why = _probe([unshare, *_UNSHARE_FLAGS, "--", "true"])
        levels["unshare"] = (
            works,
            "util-linux unshare" if works else f"unshare cannot run here: {why}",
        )
    levels["plain"] = (True, "always available")
    return levels


def _default_level() -> str:
    wanted = os.environ.get("BPCHECK_ISOLATION")
    if wanted:
        return wanted
    return next(name for name in LEVELS if _levels()[name][0])


def _resolve_level(level: str | None) -> str:
    level = level or _default_level()
    if level not in LEVELS:
        raise ValueError(f"unknown isolation level {level!r}; expected one of {', '.join(LEVELS)}")
    available, why = _levels()[level]
    if not available:
        raise RuntimeError(f"isolation level {level!r} is not available here: {why}")
    return level


def describe_isolation() -> str:
    """What isolation this machine offers and which level workers will use."""
    chosen = _default_level()  # never raises: plain is always available
    user = "root" if _is_root() else f"uid {os.geteuid()}"
    lines = [f"Worker isolation on this machine (grader running as {user}):"]
    for name in LEVELS:
        available, note = _levels()[name]
        mark = "  <- used" if name == chosen else ""
        lines.append(f"  {name:8} {'available' if available else 'unavailable'}: {note}{mark}")
    lines.append(f"Workers use: {_summary(chosen, _drops(chosen))}.")
    return "\n".join(lines)


def _drops(level: str) -> bool:
    """Whether workers of ``level`` run as a dedicated uid: as root, always but for the
    plain level without setpriv."""
    return _is_root() and (level != "plain" or shutil.which("setpriv") is not None)


def _summary(level: str, drops: bool, uid: int | None = None) -> str:
    who = f"uid {uid}" if uid is not None else "a dedicated unprivileged uid per worker"
    if level == "bwrap":
        confinement = "bwrap (pid/net/ipc/uts namespaces, private filesystem view)"
        if not drops:
            confinement += ", user namespace, grader's uid"
    elif level == "unshare":
        confinement = "unshare (pid/net/ipc/uts/mount namespaces, hidden site-packages and sources)"
    else:
        confinement = "plain subprocess (own session, no namespaces, network allowed)"
        if not drops and _is_root():
            confinement += (
                ", AS ROOT: no uid drop (setpriv is missing); do not grade untrusted code this way"
            )
        elif not drops:
            confinement += ", grader's uid"
    if drops:
        confinement += f", {who}, no capabilities, no_new_privs"
    return confinement + ", rlimits (memory, CPU, file size, open files, processes)"


# ------------------------------------------------------------------ command lines

_UNSHARE_FLAGS = (
    "--pid", "--fork", "--kill-child", "--mount-proc", "--net", "--ipc", "--uts", "--mount",
    "--propagation", "private",
)  # fmt: skip


def _bwrap_namespaces() -> list[str]:
    flags = [
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
    ]
    flags += ["--die-with-parent", "--new-session"]
    if _is_root():
        flags += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    else:
        flags += ["--unshare-user"]
    return flags


def _bwrap_system() -> list[str]:
    """/usr and the top-level links or directories the dynamic loader needs."""
    flags = ["--ro-bind", "/usr", "/usr"]
    for top in ("/lib", "/lib64", "/lib32", "/bin", "/sbin"):
        if os.path.islink(top):
            flags += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            flags += ["--ro-bind", top, top]
    for hidden in _system_site_packages():
        flags += ["--tmpfs", hidden]
    return flags


def _system_site_packages() -> list[str]:
    """Directories of Python packages under /usr, hidden from workers."""
    found = []
    for root in ("/usr/lib", "/usr/local/lib"):
        try:
            names = os.listdir(root)
        except OSError:
            continue
        for name in names:
            if name.startswith("python"):
                for sub in ("dist-packages", "site-packages"):
                    path = os.path.join(root, name, sub)
                    if os.path.isdir(path) and not os.path.islink(path):
                        found.append(path)
    return found


def _privilege_drop(uid: int | None) -> list[str]:
    if uid is None:
        return []
    return [
        "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
    ]  # fmt: skip


def _die_with_parent() -> list[str]:
    """A prefix that SIGKILLs the command when the grader (the creating thread) dies."""
    return ["setpriv", "--pdeathsig=KILL", "--"] if shutil.which("setpriv") else []


def _interpreter_site_packages(prefix: Path) -> list[Path]:
    paths = set()
    for scheme_vars in ({"base": str(prefix), "platbase": str(prefix)},):
        for key in ("purelib", "platlib"):
            path = Path(sysconfig.get_path(key, vars=scheme_vars))
            if path.is_dir() and prefix in path.parents:
                paths.add(path)
    return sorted(paths)


def _numpy_dirs() -> list[Path]:
    """NumPy's package directory and its bundled libraries (``numpy.libs``), if any."""
    package = Path(np.__file__).resolve().parent
    dirs = [package]
    libs = package.parent / "numpy.libs"
    if libs.is_dir():
        dirs.append(libs)
    return dirs


@functools.cache
def _harness_sources() -> dict[str, bytes]:
    folder = Path(sandbox_package.__file__).resolve().parent
    sources = {name: (folder / name).read_bytes() for name in SANDBOX_MODULES}
    sources["wire.py"] = Path(_wire.__file__).resolve().read_bytes()
    return sources


def _base_env(marker: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "BPCHECK_WORKER": marker,
    }


# ------------------------------------------------------------------ submissions


def find_module(submission: Path) -> tuple[Path | None, str | None]:
    """The student's module in ``submission``, or None and why there is none.

    A file must end in ``.py``. In a directory the module is its only
    top-level ``.py`` file, or ``mlp.py`` when there are several.
    """
    if submission.is_dir():
        try:
            modules = sorted(
                p for p in submission.iterdir() if p.suffix == ".py" and not p.is_dir()
            )
        except OSError as exc:
            return None, f"cannot read the submission directory {submission}: {exc.strerror}"
        if not modules:
            return None, f"the submission directory {submission.name} holds no .py file"
        if len(modules) > 1:
            named = [p for p in modules if p.name == "mlp.py"]
            if not named:
                listed = ", ".join(p.name for p in modules[:10])
                return None, (
                    f"the submission directory {submission.name} holds several .py files "
                    f"({listed}) and no mlp.py; name the module to grade mlp.py"
                )
            modules = named
        if modules[0].is_symlink():
            return None, f"{modules[0].name} is a symbolic link; submit the file itself"
        return modules[0], None
    if not submission.exists():
        return None, f"no such submission: {submission}"
    if submission.suffix != ".py":
        return None, f"the submission {submission.name} is not a .py file or a directory"
    return submission, None


def _directory_size_problem(directory: Path) -> str | None:
    total = files = 0
    for root, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if d not in ("__pycache__", ".git")]
        for name in names:
            files += 1
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
            if files > MAX_SUBMISSION_FILES or total > MAX_SUBMISSION_BYTES:
                return (
                    f"the submission directory {directory.name} is too large to grade "
                    f"(over {MAX_SUBMISSION_FILES} files or {MAX_SUBMISSION_BYTES >> 20} MB)"
                )
    return None


# ------------------------------------------------------------------ uids and processes


def _allocate_uid() -> tuple[int, int]:
    """A dedicated uid no other live worker holds, and the fd of its lock."""
    UID_LOCK_DIR.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(UID_LOCK_DIR)
    if info.st_uid != 0 or not stat.S_ISDIR(info.st_mode) or info.st_mode & 0o077:
        raise RuntimeError(f"{UID_LOCK_DIR} must be a directory owned by root with mode 700")
    # The lowest free uid: lock files stay as few as the most workers ever alive at once.
    for uid in range(UID_BASE, UID_BASE + UID_COUNT):
        fd = os.open(UID_LOCK_DIR / str(uid), os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        # Leftovers of a grader that was killed hard would share the uid's process count.
        _kill_all(lambda pid, info, uid=uid: info[0] == uid)
        return uid, fd
    raise RuntimeError("no free worker uid")


def _proc_info(pid: str) -> tuple[int, str] | None:
    """(real uid, state) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            text = status.read().decode(errors="replace")
    except OSError:
        return None
    uid, state = -1, "?"
    for line in text.splitlines():
        if line.startswith("State:"):
            state = line.split()[1]
        elif line.startswith("Uid:"):
            uid = int(line.split()[1])
    return uid, state


def _threads(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


def _has_marker(pid: str, marker: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as environ:
            return marker in environ.read().split(b"\0")
    except OSError:
        return False


def _matching(predicate: Any) -> list[int]:
    """Live (non-zombie) processes for which ``predicate(pid, (uid, state))`` holds."""
    found = []
    own = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == own:
            continue
        info = _proc_info(name)
        if info is None or info[1] in ("Z", "X"):
            continue
        if predicate(name, info):
            found.append(int(name))
    return found


def _kill_all(predicate: Any, patience: float = 5.0) -> list[int]:
    """SIGKILL every matching process until none is left; those still alive after ``patience``."""
    deadline = time.monotonic() + patience
    while True:
        victims = _matching(predicate)
        if not victims or time.monotonic() > deadline:
            return victims
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)


# ------------------------------------------------------------------ the worker


class _Stop(Exception):
    """A wait on the worker was cut short; ``termination`` has been set."""


class _Resources:
    """What one worker holds, released exactly once (by close() or at garbage collection)."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.directory: Path | None = None
        self.uid: int | None = None
        self.uid_lock: int | None = None
        self.marker = f"bpcheck-worker-{secrets.token_hex(8)}"
        self.sock: socket.socket | None = None
        self.outputs: list[int] = []
        self.held_fds: list[int] = []
        self.survivors: list[int] = []
        self.output_tail = ""
        self.released = False
        self.lock = threading.Lock()

    def belongs(self, pid: str, info: tuple[int, str]) -> bool:
        if self.uid is not None and info[0] == self.uid:
            return True
        return _has_marker(pid, f"BPCHECK_WORKER={self.marker}".encode())

    def kill(self) -> None:
        """SIGKILL the worker's whole process tree and reap it."""
        process = self.process
        if process is not None and process.returncode is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                process.kill()
            except OSError:
                pass
        self.survivors = _kill_all(self.belongs)
        if process is not None:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def release(self) -> None:
        with self.lock:
            if self.released:
                return
            self.released = True
        self.kill()
        if self.sock is not None:
            self.sock.close()
        for fd in self.outputs:
            try:
                size = os.fstat(fd).st_size
                tail = os.pread(fd, 4000, max(0, size - 4000))
                self.output_tail += tail.decode(errors="replace")
            except OSError:
                pass
            os.close(fd)
        for fd in self.held_fds:
            os.close(fd)
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
        if self.uid_lock is not None:
            os.close(self.uid_lock)


class WorkerStudent:
    """A student whose code runs in an isolated worker process (implements ``Student``).

    ``api`` comes from the worker's import and adaptation of the module (the
    functional style only: adapter plugins run in the grader and cannot adapt
    a module that lives elsewhere). ``call`` never raises for anything the
    student did; ``termination`` says why the worker stopped, if it did (see
    the module docstring). Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self, submission: Path, limits: Limits = Limits(), *, level: str | None = None
    ) -> None:
        submission = Path(submission)
        self.limits = limits
        self.termination: str | None = None
        #: One line saying what ended the worker, for reports; "" while healthy.
        self.termination_detail = ""
        self._started = time.monotonic()
        self._resources = _Resources()
        self._finalizer = weakref.finalize(self, self._resources.release)
        self.boot_seconds: float | None = None
        self._level = _resolve_level(level)
        module, problem = find_module(submission)
        self.name = submission.name if submission.is_dir() else submission.stem
        self.spec = str(module if module is not None else submission)
        self.isolation = "not started"
        if problem is None and submission.is_dir():
            problem = _directory_size_problem(submission)
        if problem is not None or module is None:
            self.api = ApiReport(
                import_error=StudentError("import", problem or "no module", exception="")
            )
            return
        self._display = module.name
        try:
            self._start(submission, module)
        except BaseException:  # the grader's own failure (disk full, ...): leave nothing behind
            self.close()
            raise

    # ---------------------------------------------------------------- context manager

    def __enter__(self) -> WorkerStudent:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Kill the worker's whole process tree and delete its files; idempotent."""
        self._finalizer()

    # ---------------------------------------------------------------- diagnostics

    @property
    def output_tail(self) -> str:
        """The last few KB of the worker's stdout and stderr (after close); never parsed."""
        return self._resources.output_tail

    def surviving_processes(self) -> list[int]:
        """Pids of the worker's processes still alive (after close(): should be empty)."""
        return _matching(self._resources.belongs)

    # ---------------------------------------------------------------- start

    def _start(self, submission: Path, module: Path) -> None:
        resources = self._resources
        if _drops(self._level):
            resources.uid, resources.uid_lock = _allocate_uid()
        uid = resources.uid
        directory = Path(tempfile.mkdtemp(prefix="bpcheck-worker-"))
        resources.directory = directory
        os.chmod(directory, 0o711)
        package = f"_bpcheck_worker_{secrets.token_hex(4)}"
        lib, student, work, out = (directory / name for name in ("lib", "student", "work", "out"))
        for folder, mode in ((lib, 0o755), (lib / package, 0o755), (work, 0o700), (out, 0o700)):
            folder.mkdir(mode=mode)
            os.chmod(folder, mode)
        for name, code in _harness_sources().items():
            path = lib / package / name
            path.write_bytes(code)
            os.chmod(path, 0o644)
        numpy_dirs = _numpy_dirs()
        executable, prefix = _interpreter()
        # Plain level with a uid drop: the worker reaches the interpreter and NumPy through
        # directory fds it inherits (/proc/self/fd/N/...), since the dropped uid may not
        # traverse their parents (/root is 0700).
        through_fds = self._level == "plain" and uid is not None
        passed_fds: list[int] = []
        if through_fds:
            passed_fds = [
                os.open(path, os.O_RDONLY | os.O_DIRECTORY)
                for path in (prefix, numpy_dirs[0].parent)
            ]
            resources.held_fds += passed_fds
        for source in numpy_dirs:
            if through_fds:
                (lib / source.name).symlink_to(f"/proc/self/fd/{passed_fds[1]}/{source.name}")
            elif self._level == "plain":
                (lib / source.name).symlink_to(source)
            else:
                (lib / source.name).mkdir(mode=0o755)
        if submission.is_dir():
            shutil.copytree(
                submission,
                student,
                symlinks=True,
                ignore=shutil.ignore_patterns("__pycache__", ".git"),
            )
            relative = module.relative_to(submission)
        else:
            student.mkdir()
            relative = Path(module.name)
            shutil.copyfile(module, student / relative)
        if uid is not None:
            # The copy is the worker's own, nobody else's (other workers run as other uids).
            for path in [student, *student.rglob("*")]:
                os.lchown(path, uid, uid)
                if not path.is_symlink():
                    os.chmod(path, 0o700 if path.is_dir() else 0o600)
            os.chown(work, uid, uid)

        # Paths as the worker sees them.
        if self._level == "bwrap":
            seen = {"lib": "/sbx/lib", "student": "/sbx/student", "work": "/sbx/work"}
        else:
            seen = {"lib": str(lib), "student": str(student), "work": str(work)}
        env = _base_env(resources.marker)
        env.update(HOME=seen["work"], TMPDIR=seen["work"] if self._level != "bwrap" else "/tmp")

        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        resources.sock = parent
        processes = self.limits.processes
        if uid is None:  # shared uid: RLIMIT_NPROC counts all of the grader user's threads
            processes += sum(
                _threads(pid) for pid in _matching(lambda pid, info: info[0] == os.getuid())
            )
        hard_cpu = self.limits.cpu_seconds + 1
        config: dict[str, Any] = {
            "rlimits": {
                "RLIMIT_AS": [self.limits.memory_mb << 20] * 2,
                "RLIMIT_CPU": [self.limits.cpu_seconds, hard_cpu],
                "RLIMIT_FSIZE": [self.limits.file_size_mb << 20] * 2,
                "RLIMIT_NOFILE": [self.limits.open_files] * 2,
                "RLIMIT_NPROC": [processes] * 2,
                "RLIMIT_CORE": [0, 0],
            },
            "fd": child.fileno(),
            "module": f"{seen['student']}/{relative.as_posix()}",
            "display": module.name,
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
            f"sys.path.insert(0, {seen['lib']!r}); from {package}.worker_main import main; main()"
        )
        python = [str(executable), "-s", "-S", "-B", "-c", boot, json.dumps(config)]

        if self._level == "bwrap":
            command = ["bwrap", *_bwrap_namespaces(), *_bwrap_system()]
            # bwrap would create the parents of mount points with mode 0700: make them 0755.
            for folder in sorted({*prefix.parents, *Path(seen["lib"]).parents} - {Path("/")}):
                command += ["--perms", "0755", "--dir", str(folder)]
            command += ["--ro-bind", str(prefix), str(prefix)]
            if prefix not in executable.parents:
                command += ["--ro-bind", str(executable), str(executable)]
            for site in _interpreter_site_packages(prefix):
                command += ["--tmpfs", str(site)]
            command += ["--proc", "/proc", "--dev", "/dev"]
            command += ["--ro-bind", str(lib), seen["lib"]]
            for source in numpy_dirs:
                command += ["--ro-bind", str(source), f"{seen['lib']}/{source.name}"]
            command += ["--bind", str(student), seen["student"]]
            command += ["--bind", str(work), seen["work"], "--bind", str(work), "/tmp"]
            command += ["--chdir", seen["student"], "--clearenv"]
            for key, value in env.items():
                command += ["--setenv", key, value]
            command += [*_privilege_drop(uid), *python]
            cwd = "/"
        elif self._level == "unshare":
            staged = directory / "py"
            staged.mkdir(mode=0o755)
            python[0] = (
                str(staged / executable.relative_to(prefix))
                if prefix in executable.parents
                else str(executable)
            )
            env["LD_LIBRARY_PATH"] = str(staged / "lib")
            mounts = [f"mount --bind {_q(prefix)} {_q(staged)}"]
            for source in numpy_dirs:
                mounts.append(f"mount --bind {_q(source)} {_q(lib / source.name)}")
            hidden = [staged / p.relative_to(prefix) for p in _interpreter_site_packages(prefix)]
            hidden += [Path(p) for p in _system_site_packages()]
            hidden += [
                Path(p)
                for p in {sys.prefix, sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
            ]
            hidden += _bpcheck_sources() + [submission.resolve().parent]
            keep = [
                directory,
                Path("/usr"),
                Path("/lib"),
                Path("/lib64"),
                Path("/bin"),
                Path("/etc"),
            ]
            hidden = [path for path in dict.fromkeys(hidden) if path.is_dir()]
            for path in hidden:
                if not any(k == path or path in k.parents for k in keep) and not any(
                    other in path.parents for other in hidden
                ):
                    mounts.append(f"mount -t tmpfs -o mode=0755,size=64k bpcheck-hidden {_q(path)}")
            # python runs as a child of sh (pid 1 of the namespace), not as pid 1 itself, so
            # that signals from the kernel (SIGXCPU, SIGSEGV) act on it as usual.
            script = (
                "set -e\n"
                + "\n".join(mounts)
                + "\n"
                + " ".join(
                    _q(word)
                    for word in [
                        *_privilege_drop(uid),
                        "env",
                        "-i",
                        *(f"{k}={v}" for k, v in env.items()),
                        *python,
                    ]
                )
                + "\nexit $?"
            )
            # unshare has no --die-with-parent: setpriv gives it a parent-death signal, and
            # --kill-child passes its death on to the namespace.
            command = [
                *_die_with_parent(),
                "unshare",
                *_UNSHARE_FLAGS,
                "--",
                "/bin/sh",
                "-c",
                script,
            ]
            cwd = str(student)
        else:
            drop = _privilege_drop(uid)
            if through_fds and prefix in executable.parents:
                python[0] = f"/proc/self/fd/{passed_fds[0]}/{executable.relative_to(prefix)}"
                env["LD_LIBRARY_PATH"] = f"/proc/self/fd/{passed_fds[0]}/lib"
            command = (
                [*drop[:-1], "--pdeathsig=KILL", "--", *python]
                if drop
                else [*_die_with_parent(), *python]
            )
            cwd = str(student)
        self.isolation = _summary(self._level, uid is not None, uid)

        for name in ("stdout", "stderr"):
            resources.outputs.append(
                os.open(out / name, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
            )
        try:
            resources.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=resources.outputs[0],
                stderr=resources.outputs[1],
                pass_fds=(child.fileno(), *passed_fds),
                start_new_session=True,
                env=env,
                cwd=cwd,
            )
        finally:
            child.close()
            for fd in passed_fds:
                os.close(fd)
                resources.held_fds.remove(fd)
        self._channel = Channel(parent, self._tick)
        self._handshake()

    def _handshake(self) -> None:
        started = time.monotonic()
        try:
            expect_type(self._channel.receive(self._deadline(BOOT_TIMEOUT)), "booted")
        except (ChannelTimeout, ChannelClosed, WireError, _Stop) as problem:
            self.termination = "worker_error"
            self.termination_detail = (
                f"the worker failed to start ({type(problem).__name__}); its stderr ends: "
                + self._stderr_tail(600)
            )
            self._resources.kill()
            self.api = ApiReport(
                import_error=StudentError(
                    "import", f"the worker failed to start: {self.termination_detail}"
                )
            )
            return
        self.boot_seconds = time.monotonic() - started
        what = f"importing {self._display}"
        try:
            report, fatal = hello_report(
                self._channel.receive(self._deadline(self.limits.call_timeout))
            )
        except ChannelTimeout:
            self._stop("timeout", f"{what} did not finish within {self._limit_text()}")
        except ChannelClosed:
            self._stop_dead()
        except WireError as problem:
            self._stop(
                "protocol_error", f"the worker sent a malformed reply to the import ({problem})"
            )
        except _Stop:
            pass
        else:
            self.api = report
            if fatal == "memory_limit":
                self._stop(
                    "memory_limit", f"{what} ran out of memory (limit {self.limits.memory_mb} MB)"
                )
            elif report.import_error is not None:
                self._resources.kill()  # the worker has nothing more to do
            return
        self.api = ApiReport(
            import_error=StudentError(
                "import", f"{what} stopped the worker: {self.termination_detail}"
            )
        )

    # ---------------------------------------------------------------- calls

    def call(self, request: Call) -> Reply:
        """Send ``request`` to the worker; never raises for anything the student did."""
        function = FUNCTION_OF_CALL.get(type(request), "forward")
        if self.termination is not None or self._resources.process is None or not self.api.usable:
            why = self.termination_detail or "the submission could not be loaded"
            return Reply(
                error=StudentError(function, f"not run: the worker was stopped earlier ({why})")
            )
        deadline = self._deadline(self.limits.call_timeout)
        try:
            self._channel.send(call_tree(request), deadline)
            reply, fatal = reply_of(self._channel.receive(deadline), request)
        except ChannelTimeout:
            self._stop("timeout", f"{function}() did not finish within {self._limit_text()}")
        except ChannelClosed:
            self._stop_dead()
        except WireError as problem:
            self._stop("protocol_error", f"the worker sent a malformed reply ({problem})")
        except _Stop:
            pass
        else:
            if fatal == "memory_limit":
                self._stop(
                    "memory_limit",
                    f"{function}() ran out of memory (limit {self.limits.memory_mb} MB)",
                )
            else:
                try:
                    self._check_output()
                except _Stop:
                    pass
            return reply
        return Reply(error=StudentError(function, f"{function}(): {self.termination_detail}"))

    def call_many(self, requests: Sequence[Call]) -> list[Reply]:
        """Each of ``requests`` in turn, as :meth:`call` answers it."""
        return [self.call(request) for request in requests]

    # ---------------------------------------------------------------- watching the worker

    def _deadline(self, seconds: float) -> float:
        return min(time.monotonic() + seconds, self._started + self.limits.submission_timeout)

    def _limit_text(self) -> str:
        now = time.monotonic()
        if now >= self._started + self.limits.submission_timeout - 0.01:
            return f"the submission's total time limit of {self.limits.submission_timeout:g} s"
        return f"the time limit of {self.limits.call_timeout:g} s per call"

    def _tick(self) -> None:
        process = self._resources.process
        if process is not None and process.poll() is not None:
            # Let the socket drain first: Channel only ticks when nothing is readable.
            self._stop_dead()
            raise _Stop()
        self._check_output()

    def _output_size(self) -> int:
        return sum(os.fstat(fd).st_size for fd in self._resources.outputs)

    def _output_limit_reached(self) -> bool:
        """Whether the worker printed past its limit; if so, it is stopped for that."""
        if self._output_size() <= self.limits.output_bytes:
            return False
        self._stop("output_limit", f"the worker printed more than {self.limits.output_bytes} bytes")
        return True

    def _check_output(self) -> None:
        if self._output_limit_reached():
            raise _Stop()

    def _set_termination(self, status: str, detail: str) -> None:
        if self.termination is None:
            self.termination, self.termination_detail = status, detail

    def _stop(self, status: str, detail: str) -> None:
        """Record why the worker stops, then kill it and everything it started."""
        self._set_termination(status, detail)
        self._resources.kill()
        for fd in self._resources.outputs:  # keep the capped files capped
            try:
                if os.fstat(fd).st_size > self.limits.output_bytes:
                    os.ftruncate(fd, self.limits.output_bytes)
            except OSError:
                pass

    def _stop_dead(self) -> None:
        """The worker's channel closed or its process ended: say how it died."""
        process = self._resources.process
        assert process is not None
        try:
            code = process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self._stop("crashed", "the worker closed its channel")
            return
        if self._output_limit_reached():
            return
        number = (
            -code if code < 0 else code - 128 if code > 128 and self._level != "plain" else None
        )
        if number == signal.SIGXCPU:
            self._stop(
                "cpu_limit", f"the worker used up its {self.limits.cpu_seconds} s of CPU time"
            )
        elif number == signal.SIGXFSZ:
            self._stop(
                "file_size_limit", f"the worker wrote a file past {self.limits.file_size_mb} MB"
            )
        elif number is not None:
            try:
                name = signal.Signals(number).name
            except ValueError:
                name = f"signal {number}"
            self._stop("crashed", f"the worker process was killed by {name}")
        else:
            self._stop("crashed", f"the worker process exited with code {code}")

    def _stderr_tail(self, size: int) -> str:
        if len(self._resources.outputs) < 2:
            return ""
        fd = self._resources.outputs[1]
        try:
            end = os.fstat(fd).st_size
            return os.pread(fd, size, max(0, end - size)).decode(errors="replace").strip()
        except OSError:
            return ""


def _q(word: object) -> str:
    import shlex

    return shlex.quote(str(word))


def _bpcheck_sources() -> list[Path]:
    """bpcheck's and the reference's source trees (hidden from workers in the unshare level)."""
    import bpcheck_reference

    import bpcheck

    paths = [
        Path(bpcheck.__file__).resolve().parent.parent,
        Path(bpcheck_reference.__file__).resolve().parent,
    ]
    try:
        import hypothesis

        paths.append(Path(hypothesis.__file__).resolve().parent)
    except ImportError:  # pragma: no cover
        pass
    return paths
