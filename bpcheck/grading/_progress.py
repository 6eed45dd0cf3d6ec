"""The progress shown while a class is graded, on stderr.

On a terminal: one bar, redrawn in place, that moves with every check result
of every submission being graded (a submission's units of work report them as
they go: :data:`bpcheck.grading._grade.Tick`). Anywhere else (a log, CI): one
plain line per finished submission, so a log says what was graded.
"""

from __future__ import annotations

import shutil
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from bpcheck.grading._grade import Graded

BAR_WIDTH = 28


class Progress:
    """Counts check results out of every submission's planned checks (``planned``
    maps each submission's name to how many its adapter's plan holds); call
    :meth:`tick` per check result (from any thread) and :meth:`advance` per
    finished submission. A check heard twice (a cluster retrying a unit of
    work) counts once."""

    def __init__(self, planned: Mapping[str, int], stream: TextIO | None = None) -> None:
        """``stream`` defaults to the current ``sys.stderr``."""
        self.submissions, self.stream = len(planned), stream or sys.stderr
        self.planned = dict(planned)
        self.total = sum(self.planned.values())
        self.done = 0
        self.interactive = self.stream.isatty()
        self._heard: dict[str, set[str]] = {}
        self._finished: set[str] = set()
        self._lock = threading.Lock()

    @property
    def checks(self) -> int:
        """Check results heard so far, a finished submission's all counted."""
        unfinished = ((name, h) for name, h in self._heard.items() if name not in self._finished)
        return sum(self.planned.get(name, 0) for name in self._finished) + sum(
            min(len(heard), self.planned.get(name, 0)) for name, heard in unfinished
        )

    def tick(self, submission: str, check: str) -> None:
        """One check result of ``submission`` made (ignored once it has finished)."""
        with self._lock:
            if submission in self._finished:
                return
            self._heard.setdefault(submission, set()).add(check)
            if self.interactive:
                self._draw(f"{submission}: {check}")

    def advance(self, graded: Graded) -> None:
        with self._lock:
            self.done += 1
            self._finished.add(graded.submission.name)
            score = (
                f"{graded.report.score:g}/{graded.report.max_score:g}"
                if graded.report
                else "no score"
            )
            last = f"{graded.submission.name}: {graded.status}, {score}" + (
                "" if graded.fresh else " (up to date, not regraded)"
            )
            if not self.interactive:
                print(f"[{self.done}/{self.submissions}] {last}", file=self.stream, flush=True)
                return
            self._draw(last)
            if self.done == self.submissions:
                self.stream.write("\n")
                self.stream.flush()

    def _draw(self, last: str) -> None:
        checks = self.checks
        filled = BAR_WIDTH * checks // max(self.total, 1)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        line = (
            f"[{bar}] {checks}/{self.total} checks, {self.done}/{self.submissions} "
            f"submissions  {last}"
        )
        # A line longer than the terminal wraps, and \r would then redraw only its tail.
        self.stream.write("\r\x1b[K" + line[: shutil.get_terminal_size().columns - 1])
        self.stream.flush()
