"""Run a submission in an isolated worker process: :class:`WorkerStudent`.

The grader never runs student code in its own process. A :class:`WorkerStudent`
starts one worker per submission; the worker imports the student's module and
answers :mod:`~bpcheck._sandbox.calls` requests with
:func:`~bpcheck._sandbox.execute.execute`, over a private socket that carries
JSON and ``.npy`` only (:mod:`._wire`), in batches: one message of calls out,
one message of replies back (:mod:`._protocol`); a batch may be sent ahead
(``send_ahead``) and its replies read later, while the grader works on
(``overlap``, for a grader with a core to spare).
Hypothesis, the reference and every verdict stay in the grader. A worker
may be started ahead of its turn (``ahead=True``): it boots, and waits for
the grader's go (``begin``) before it imports the student's module.

One job per module: :mod:`._machine` probes the levels once per run,
:mod:`._describe` says what each protects, :mod:`._views` builds each
level's filesystem view and command, :mod:`._staging` finds the module and
copies the submission, :mod:`._uids` hands out dedicated uids,
:mod:`._processes` finds and kills a worker's processes, :mod:`._launch`
starts one, :mod:`._seccomp` builds the syscall filter, :mod:`._shared`
holds the inputs the grader reads back, :mod:`._limits` the limits, and
:mod:`._worker` drives a worker.

Submissions
    A ``.py`` file, a ``.ipynb`` notebook, or a directory: then the module is
    the directory's only top-level ``.py`` or ``.ipynb`` file; among several,
    ``mlp.py``, else the only notebook. The grader parses a notebook's code
    cells (JSON, nothing run) and the worker runs them. The grader
    stages a copy (regular files only, at most 64 MB and 10 000 files;
    symbolic links and special files are left out, with a note in the api
    check); the worker copies it into its own writable space and works
    there, so a module may read its own data files by relative path, and
    writing there changes only the worker's copy.

Levels of isolation, best first (:func:`describe_isolation` says which this
machine offers; ``BPCHECK_ISOLATION`` or ``level=`` picks one):

``bwrap``
    bubblewrap with new pid, net, ipc, uts (and cgroup) namespaces and a
    private filesystem view: /usr and the system libraries, the
    interpreter's prefix (its site-packages hidden), NumPy, the harness
    package and the staged submission, all read-only; a fresh /dev and
    /proc; and a tmpfs of ``Limits.disk_mb`` MB (plus the submission's size)
    as /tmp, HOME and the working directory: the worker's only writable
    space. As root, ``setpriv`` then drops to a dedicated unprivileged uid
    (no capabilities, no_new_privs); then the worker enters a user namespace
    of its own. Killing the worker's bwrap ends the pid namespace, and with
    it every process the student started; ``--die-with-parent`` ends it if
    the grader dies.
``unshare``
    As root without bwrap: util-linux ``unshare`` with new pid, net, ipc,
    uts and mount namespaces. In the mount namespace a tmpfs of the same
    size covers /tmp, /var/tmp and /dev/shm (the worker's writable space),
    and empty tmpfs cover the Python packages, bpcheck's and the reference's
    sources and the submission's folder. The rest of the host's filesystem
    stays visible, protected only by ordinary permissions: the worker can
    read what its uid may read (other submissions that are world-readable,
    say) and write to other world-writable folders. Dedicated uid and user
    namespace as for bwrap.
``plain``
    A plain subprocess in its own session, with rlimits, a scrubbed
    environment and a working directory of its own. As root it drops to a
    dedicated uid and reaches the interpreter and NumPy through directory
    file descriptors it inherits; not as root, it runs as the grader's user.
    No namespaces but its own user namespace: it reaches the network, reads
    whatever its uid may, shares /tmp and /dev/shm with the machine, and its
    disk space is not capped. As root without setpriv it would run AS ROOT.

``bpcheck grade`` warns in its first lines when the level in use protects
less than bwrap with a seccomp filter (:func:`weaker_warning`).

Every level, in the worker before NumPy or student code is imported:
RLIMIT_AS, RLIMIT_CPU (SIGXCPU, then SIGKILL a second later), RLIMIT_FSIZE,
RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_CORE = 0; umask 077; one BLAS thread;
and the seccomp filter of :mod:`._seccomp` (keyrings, ptrace, mounts and
namespaces, sockets, SysV and POSIX message IPC, kernel modules and clocks
denied), when libseccomp2 is installed. A dedicated uid is drawn at random
and locked machine-wide, so no two live workers of any run share one. The
worker's stdout and stderr go to files the grader caps at
``Limits.output_bytes`` and never parses.

Verdicts the worker cannot forge
    Every input array of a call lives in memory shared with the grader; the
    student gets arrays that are that memory, and after the call the grader
    compares it with its own copy: ``Reply.mutated`` for arrays changed in
    place is the grader's own observation. Gradients come back as arrays
    (the worker converts lists and numbers, as in-process grading does, so
    that they travel as ``.npy`` and not as JSON), and the grader computes
    every verdict from them. What stays the worker's word, and what a
    student who tampers with the worker's copy of the harness could gain
    from it: that a *container* changed (a key of params added, removed or
    rebound: the same as not doing so, which is always possible), what type
    a gradient was returned as (``Reply.returned_types``: saying "a numpy
    array" of a list is the same as calling ``np.asarray`` on it), and
    ``cache_dtypes`` (the same as keeping a
    float32 array in the cache). The checks that read these are weighted by
    the rubric (``[points]`` ``no_mutation``, ``gradient_shapes``,
    ``update``).

``termination`` (None while the worker is healthy) says why it stopped:

``timeout``          a call, a batch, the import, or the whole submission ran out of wall-clock time
``memory_limit``     the student's code raised MemoryError (RLIMIT_AS) at import or in a call
``cpu_limit``        the worker was killed by SIGXCPU (RLIMIT_CPU)
``output_limit``     stdout + stderr grew past ``Limits.output_bytes``
``disk_limit``       the worker filled its writable space (``Limits.disk_mb``), as the grader sees it
``file_size_limit``  the worker was killed by SIGXFSZ writing a file past RLIMIT_FSIZE (rare:
                     Python ignores SIGXFSZ, so the write usually raises OSError in student code)
``crashed``          the worker died any other way: ``os._exit``, a signal, a segfault
                     (e.g. a recursion limit raised past the C stack), or it closed its channel
``protocol_error``   the worker sent anything that breaks the wire format or the protocol
``worker_error``     the worker failed before any student code ran (an environment problem,
                     not the student's: e.g. a memory limit too small to import NumPy)

``import_error`` and ``api_error`` are not terminations: they come from
``api`` (``api.import_error``, ``api.problems``). When the import itself
ended the worker, both are set: ``termination`` says how, ``api.import_error``
what the student sees. After a termination every call returns at once a
Reply whose ``error`` says what happened.
"""

from __future__ import annotations

from bpcheck.grading.isolation._describe import describe_isolation, weaker_warning
from bpcheck.grading.isolation._limits import Limits
from bpcheck.grading.isolation._machine import LEVELS, Machine, adopt, machine
from bpcheck.grading.isolation._staging import MODULE_SUFFIXES, find_module, printable
from bpcheck.grading.isolation._worker import NOT_STARTED, WorkerStudent

__all__ = [
    "LEVELS",
    "MODULE_SUFFIXES",
    "NOT_STARTED",
    "Limits",
    "Machine",
    "WorkerStudent",
    "adopt",
    "describe_isolation",
    "find_module",
    "machine",
    "printable",
    "weaker_warning",
]
