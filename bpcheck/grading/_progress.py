"""The progress shown while a class is graded, on stderr.

On a terminal: one bar, redrawn in place. Anywhere else (a log, CI): one
plain line per finished submission, so a log says what was graded.
"""

from __future__ import annotations

import shutil
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from bpcheck.grading._grade import Graded

BAR_WIDTH = 28


class Progress:
    """Counts finished submissions out of ``total``; call :meth:`advance` per submission."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        """``stream`` defaults to the current ``sys.stderr``."""
        self.total, self.stream = total, stream or sys.stderr
        self.done = 0
        self.interactive = self.stream.isatty()

    def advance(self, graded: Graded) -> None:
        self.done += 1
        score = (
            f"{graded.report.score:g}/{graded.report.max_score:g}" if graded.report else "no score"
        )
        last = f"{graded.submission.name}: {graded.status}, {score}" + (
            "" if graded.fresh else " (up to date, not regraded)"
        )
        if not self.interactive:
            print(f"[{self.done}/{self.total}] {last}", file=self.stream, flush=True)
            return
        filled = BAR_WIDTH * self.done // max(self.total, 1)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        line = f"[{bar}] {self.done}/{self.total}  {last}"
        # A line longer than the terminal wraps, and \r would then redraw only its tail.
        self.stream.write("\r\x1b[K" + line[: shutil.get_terminal_size().columns - 1])
        if self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()
