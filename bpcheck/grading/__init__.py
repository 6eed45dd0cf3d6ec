"""Grading a whole course: ``bpcheck grade`` and ``bpcheck gradescope``.

Student code never runs in the grader's process here: each submission is
answered by an isolated worker (:mod:`bpcheck.grading.isolation`), and every
verdict is computed in the grader, from the plain arrays the worker returns
and from what the grader reads back of the inputs it shared with the worker
(``docs/grading.md`` names the three facts that stay the worker's word).
"""
