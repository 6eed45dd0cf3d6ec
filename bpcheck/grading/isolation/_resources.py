"""What one worker holds on the host, released exactly once: :class:`Resources`."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
from pathlib import Path

from bpcheck.grading.isolation._processes import has_marker, kill_all
from bpcheck.grading.isolation._shared import SharedInputs
from bpcheck.grading.isolation._uids import release_uid, remove_files_of


class Resources:
    """What one worker holds, released exactly once (by close() or at garbage collection)."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.directory: Path | None = None
        self.uid: int | None = None
        self.uid_lock: int | None = None
        self.marker = f"bpcheck-worker-{secrets.token_hex(8)}"
        self.sock: socket.socket | None = None
        self.shared: SharedInputs | None = None
        self.outputs: list[int] = []
        self.held_fds: list[int] = []
        self.survivors: list[int] = []
        self.output_tail = ""
        #: Whether the worker could write to the host's world-writable folders (plain).
        self.sweep = False
        self.released = False
        self.lock = threading.Lock()

    def belongs(self, pid: str, info: tuple[int, str]) -> bool:
        if self.uid is not None and info[0] == self.uid:
            return True
        return has_marker(pid, f"BPCHECK_WORKER={self.marker}".encode())

    def kill(self) -> None:
        """SIGKILL the worker's whole process tree and reap it."""
        process = self.process
        if process is not None and process.returncode is None:
            for kill in (lambda: os.killpg(process.pid, signal.SIGKILL), process.kill):
                try:
                    kill()
                except OSError:
                    pass
        self.survivors = kill_all(self.belongs)
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
        if self.shared is not None:
            self.shared.close()
        for fd in self.outputs:
            try:
                size = os.fstat(fd).st_size
                self.output_tail += os.pread(fd, 4000, max(0, size - 4000)).decode(errors="replace")
            except OSError:
                pass
            os.close(fd)
        for fd in self.held_fds:
            os.close(fd)
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
        if self.uid is not None and self.uid_lock is not None:
            if self.sweep:
                remove_files_of(self.uid)
            release_uid(self.uid, self.uid_lock)
