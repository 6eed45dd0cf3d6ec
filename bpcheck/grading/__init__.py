"""Grading a whole course: ``bpcheck grade`` and ``bpcheck gradescope``.

Student code never runs in the grader's process here: each submission is
answered by an isolated worker, and every verdict is computed in the grader
from the plain arrays the worker returns.
"""
