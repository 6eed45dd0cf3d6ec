"""What a worker sees of the machine, level by level: the command that starts it.

Each level's function turns a staged worker directory (:class:`Staged`) into
a :class:`View`: the command line, its working directory and environment,
the file descriptors it inherits, and the paths as the worker will see them.
The worker copies its submission from ``submission`` (read-only to it) into
``scratch`` and works there; ``scratch`` is the worker's only writable space
(a size-capped tmpfs at the bwrap and unshare levels, also its /tmp).
"""

from __future__ import annotations

import os
import shlex
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: unshare's flags: new pid, net, ipc, uts and mount namespaces; --kill-child passes its
#: own death on to the namespace.
UNSHARE_FLAGS = (
    "--pid", "--fork", "--kill-child", "--mount-proc", "--net", "--ipc", "--uts", "--mount",
    "--propagation", "private",
)  # fmt: skip
#: Where a bwrap worker finds its harness and submission.
BWRAP_ROOT = "/sbx"


@dataclass(frozen=True)
class Staged:
    """A worker's temporary directory on the host, as the grader prepared it."""

    directory: Path
    lib: Path  # the private harness package and NumPy (read-only to the worker)
    submission: Path  # the staged copy of the submission (read-only to the worker)
    scratch: Path  # the plain level's writable space (the others get a tmpfs)
    uid: int | None  # the worker's dedicated uid, None when it runs as the grader's
    user_namespace: bool  # whether the worker enters a user namespace of its own
    disk_bytes: int  # the size of the writable tmpfs
    numpy_dirs: tuple[Path, ...] = ()


@dataclass
class View:
    """How to start one worker: ``python`` words are appended to ``command``."""

    command: list[str]
    cwd: str
    lib: str  # paths as the worker sees them
    submission: str
    scratch: str
    env: dict[str, str] = field(default_factory=dict)
    pass_fds: list[int] = field(default_factory=list)
    #: The interpreter to run, as the worker reaches it.
    executable: str = ""


# ------------------------------------------------------------------ what every level uses


def interpreter() -> tuple[Path, Path]:
    """The real interpreter binary and the prefix it belongs to."""
    return Path(os.path.realpath(sys.executable)), Path(sys.base_prefix)


def numpy_dirs() -> tuple[Path, ...]:
    """NumPy's package directory and its bundled libraries (``numpy.libs``), if any."""
    package = Path(np.__file__).resolve().parent
    libs = package.parent / "numpy.libs"
    return (package, libs) if libs.is_dir() else (package,)


def base_env(marker: str) -> dict[str, str]:
    """The whole environment of a worker (and of the probes)."""
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


def privilege_drop(uid: int | None) -> list[str]:
    """setpriv to ``uid``: no groups, no capabilities, no_new_privs ([] for None)."""
    if uid is None:
        return []
    return [
        "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
    ]  # fmt: skip


def own_user_namespace(wanted: bool) -> list[str]:
    """unshare into a new user namespace that maps the current uid to itself: the
    worker's keyrings and namespaces are its own."""
    return ["unshare", "--user", "--map-current-user", "--"] if wanted else []


def bwrap_namespaces(root: bool) -> list[str]:
    flags = [
        "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
        "--unshare-cgroup-try", "--die-with-parent", "--new-session",
    ]  # fmt: skip
    if root:  # for setpriv, which drops them all again
        flags += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    else:
        flags += ["--unshare-user"]
    return flags


def bwrap_system() -> list[str]:
    """/usr and the top-level links or directories the dynamic loader needs, with the
    system's Python packages hidden."""
    flags = ["--ro-bind", "/usr", "/usr"]
    for top in ("/lib", "/lib64", "/lib32", "/bin", "/sbin"):
        if os.path.islink(top):
            flags += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            flags += ["--ro-bind", top, top]
    for hidden in system_site_packages():
        flags += ["--tmpfs", hidden]
    return flags


def system_site_packages() -> list[str]:
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


def interpreter_site_packages(prefix: Path) -> list[Path]:
    paths = set()
    scheme = {"base": str(prefix), "platbase": str(prefix)}
    for key in ("purelib", "platlib"):
        path = Path(sysconfig.get_path(key, vars=scheme))
        if path.is_dir() and prefix in path.parents:
            paths.add(path)
    return sorted(paths)


# ------------------------------------------------------------------ bwrap


def bwrap_view(staged: Staged, root: bool, env: dict[str, str]) -> View:
    """bubblewrap: new pid, net, ipc, uts (and cgroup) namespaces, a private filesystem
    view of /usr, the interpreter, NumPy and the worker's own files, and a size-capped
    tmpfs as /tmp; as root, then a dedicated uid; then a user namespace of its own."""
    executable, prefix = interpreter()
    lib, submission = f"{BWRAP_ROOT}/lib", f"{BWRAP_ROOT}/submission"
    command = ["bwrap", *bwrap_namespaces(root), *bwrap_system()]
    # bwrap would create the parents of mount points with mode 0700: make them 0755.
    for folder in sorted({*prefix.parents, *Path(lib).parents} - {Path("/")}):
        command += ["--perms", "0755", "--dir", str(folder)]
    command += ["--ro-bind", str(prefix), str(prefix)]
    if prefix not in executable.parents:
        command += ["--ro-bind", str(executable), str(executable)]
    for site in interpreter_site_packages(prefix):
        command += ["--tmpfs", str(site)]
    command += ["--proc", "/proc", "--dev", "/dev"]
    command += ["--ro-bind", str(staged.lib), lib]
    for source in staged.numpy_dirs:
        command += ["--ro-bind", str(source), f"{lib}/{source.name}"]
    command += ["--ro-bind", str(staged.submission), submission]
    command += ["--perms", "1777", "--size", str(staged.disk_bytes), "--tmpfs", "/tmp"]
    command += ["--chdir", "/tmp", "--clearenv"]
    for key, value in env.items():
        command += ["--setenv", key, value]
    command += [*privilege_drop(staged.uid), *own_user_namespace(staged.user_namespace)]
    return View(command, "/", lib, submission, "/tmp", executable=str(executable))


# ------------------------------------------------------------------ unshare


def unshare_view(staged: Staged, hidden: list[Path]) -> View:
    """util-linux unshare (root): new pid, net, ipc, uts and mount namespaces. In the
    mount namespace a size-capped tmpfs covers /tmp, /var/tmp and /dev/shm, the worker's
    directory is bound back in at /tmp/.bpcheck, and empty tmpfs cover ``hidden``."""
    executable, prefix = interpreter()
    inside = "/tmp/.bpcheck"
    staged_python = staged.directory / "py"
    staged_python.mkdir(mode=0o755)
    mounts = [f"mount --bind {_q(prefix)} {_q(staged_python)}"]
    for source in staged.numpy_dirs:
        mounts.append(f"mount --bind {_q(source)} {_q(staged.lib / source.name)}")
    keep = [staged.directory, *map(Path, ("/usr", "/lib", "/lib64", "/bin", "/etc"))]
    hidden = [path for path in dict.fromkeys(hidden) if path.is_dir()]
    # The interpreter's own packages, as the worker reaches them through the staged prefix.
    hidden += [staged_python / p.relative_to(prefix) for p in interpreter_site_packages(prefix)]
    for path in hidden:
        covered = any(k == path or path in k.parents for k in keep)
        if not covered and not any(other in path.parents for other in hidden):
            mounts.append(f"mount -t tmpfs -o mode=0755,size=64k bpcheck-hidden {_q(path)}")
    # The worker's directory (under the host's /tmp) is held open as fd 9 while the
    # tmpfs covers /tmp, then bound back in through it.
    mounts += [
        "exec 9< " + _q(staged.directory),
        f"mount -t tmpfs -o mode=1777,size={staged.disk_bytes} bpcheck-scratch /tmp",
        "mount --bind /tmp /var/tmp",
        "mount --bind /tmp /dev/shm",
        f"mkdir -m 0755 {inside}",
        f"mount --rbind --no-canonicalize /proc/self/fd/9 {inside}",
        "exec 9<&-",
    ]

    def seen(path: Path) -> str:
        return f"{inside}/{path.relative_to(staged.directory)}"

    python = (
        seen(staged_python / executable.relative_to(prefix))
        if prefix in executable.parents
        else str(executable)
    )
    env = {"LD_LIBRARY_PATH": seen(staged_python / "lib")}
    # python runs as a child of sh (pid 1 of the namespace), not as pid 1 itself, so
    # that signals from the kernel (SIGXCPU, SIGSEGV) act on it as usual.
    prefix_words = [*privilege_drop(staged.uid), *own_user_namespace(staged.user_namespace)]
    script = "set -e\n" + "\n".join(mounts) + "\n" + " ".join(map(_q, prefix_words)) + " "
    # unshare has no --die-with-parent: setpriv gives it a parent-death signal.
    command = ["setpriv", "--pdeathsig=KILL", "--", "unshare", *UNSHARE_FLAGS, "--"]
    command += ["/bin/sh", "-c", script + '"$@"\nexit $?', "sh"]
    view = View(command, "/", seen(staged.lib), seen(staged.submission), "/tmp", env)
    view.executable = python
    return view


# ------------------------------------------------------------------ plain


def plain_view(staged: Staged, pdeathsig: bool) -> View:
    """A plain subprocess in its own session. With a dedicated uid (as root) it reaches
    the interpreter and NumPy through directory fds it inherits (``/proc/self/fd/N``),
    since that uid may not traverse their parents (/root is 0700)."""
    executable, prefix = interpreter()
    view = View([], str(staged.scratch), str(staged.lib), str(staged.submission), str(staged.scratch))
    view.executable = str(executable)
    if staged.uid is not None:
        view.pass_fds = [
            os.open(path, os.O_RDONLY | os.O_DIRECTORY)
            for path in (prefix, staged.numpy_dirs[0].parent)
        ]
        if prefix in executable.parents:
            view.executable = f"/proc/self/fd/{view.pass_fds[0]}/{executable.relative_to(prefix)}"
            view.env["LD_LIBRARY_PATH"] = f"/proc/self/fd/{view.pass_fds[0]}/lib"
    for source in staged.numpy_dirs:
        link = staged.lib / source.name
        link.symlink_to(f"/proc/self/fd/{view.pass_fds[1]}/{source.name}" if view.pass_fds else source)
    drop = privilege_drop(staged.uid)
    if drop:
        view.command = [*drop[:-1], "--pdeathsig=KILL", "--"]
    elif pdeathsig:
        view.command = ["setpriv", "--pdeathsig=KILL", "--"]
    view.command += own_user_namespace(staged.user_namespace)
    return view


def hidden_from_unshare(submission: Path) -> list[Path]:
    """What the unshare level covers with empty tmpfs: Python packages, bpcheck's and
    the reference's sources, and the folder the submission came from."""
    _, prefix = interpreter()
    hidden = [Path(p) for p in system_site_packages()]
    hidden += interpreter_site_packages(prefix)
    hidden += [Path(p) for p in {sys.prefix, sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}]
    hidden += _bpcheck_sources() + [submission.resolve().parent]
    return hidden


def _bpcheck_sources() -> list[Path]:
    """bpcheck's and the reference's source trees, and Hypothesis's."""
    import bpcheck_reference
    import hypothesis

    import bpcheck

    return [
        Path(bpcheck.__file__).resolve().parent.parent,
        Path(bpcheck_reference.__file__).resolve().parent,
        Path(hypothesis.__file__).resolve().parent,
    ]


def _q(word: object) -> str:
    return shlex.quote(str(word))
