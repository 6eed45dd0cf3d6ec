"""What a whole run asks of a correct student, and where its time goes.

    python benchmarks/forward_equivalents.py [--examples 20] [--seed 0] [--repeat 1]

Runs every check against a counting student (the reference, its calls
counted) in the grade profile, and prints:

- **forward-equivalents per verified case**: student forward passes plus
  2 × backward passes (a backward costs about two forwards), divided by the
  number of cases verified, where a case verified is one check body run to
  the end on one case (a check on the ten cases it was shown counts ten;
  a fixed check counts one);
- the same per check, from a run of each check alone, beside the
  whole run's share (so the saving of shared cases shows side by side);
- **Hypothesis's share of the CPU**: time inside Hypothesis's own code (the
  test runner, drawing, the engine) over the whole run, from cProfile; the
  property bodies, the student and the reference are the rest (with
  ``--repeat R``, the median of R profiled runs, each printed);
- **CPU seconds** of a whole run for a correct student in the student profile
  (20 examples) and in the grade profile (100 examples). With ``--repeat R``
  each is the least of R runs, taken in turn: the run least disturbed by
  whatever else the machine runs (on a shared machine the same run's CPU
  time moves by a fifth from one minute to the next). The load average is
  printed beside it.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import bpcheck_reference as reference
from tabulate import tabulate

from bpcheck import RunOptions, get_plugin_manager
from bpcheck._running import PlannedCheck, collect_checks, plan, run_plan
from bpcheck._sandbox.calls import Call, Reply
from bpcheck._sandbox.execute import StudentFunctions, execute
from bpcheck._student import inspect_functions


class CountingStudent:
    """The reference as a student, counting forward and backward passes."""

    name = spec = "counting_reference"

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

        def forward(*args: Any) -> Any:
            self.counts["forward"] += 1
            return reference.forward(*args)

        def backward(*args: Any) -> Any:
            self.counts["backward"] += 1
            return reference.backward(*args)

        self._functions = StudentFunctions(forward, backward, reference.compute_loss, reference.update)
        self.api = inspect_functions(self._functions)

    def call(self, request: Call) -> Reply:
        return execute(self._functions, request)

    def call_many(self, requests: Sequence[Call]) -> list[Reply]:
        return [self.call(request) for request in requests]

    @property
    def forward_equivalents(self) -> int:
        return self.counts["forward"] + 2 * self.counts["backward"]


def counted(planned: list[PlannedCheck], verified: Counter[str]) -> list[PlannedCheck]:
    """``planned`` with each body counting the cases it runs to the end."""

    def wrap(item: PlannedCheck) -> PlannedCheck:
        body = item.check.body

        def counting(*args: Any) -> None:
            body(*args)
            verified[item.check.id] += 1

        return replace(item, check=replace(item.check, body=counting))

    return [wrap(item) for item in planned]


def forward_equivalents(options: RunOptions, only: str | None = None) -> tuple[int, Counter[str]]:
    """(student forward-equivalents, verified cases by check) of one run."""
    student = CountingStudent()
    verified: Counter[str] = Counter()
    planned = [p for p in plan(collect_checks(get_plugin_manager()), options) if only in (None, p.check.id)]
    results = run_plan(counted(planned, verified), student, options)
    assert all(result.status in ("passed", "skipped") for result in results), "the reference must pass"
    return student.forward_equivalents, verified


def hypothesis_share(options: RunOptions) -> float:
    profile = cProfile.Profile()
    profile.enable()
    forward_equivalents(options)
    profile.disable()
    stats = pstats.Stats(profile)
    total = sum(entry[2] for entry in stats.stats.values())  # type: ignore[attr-defined]
    inside = sum(
        entry[2]
        for (filename, _, _), entry in stats.stats.items()  # type: ignore[attr-defined]
        if "/hypothesis/" in filename
    )
    return inside / total


def cpu_seconds(options: RunOptions) -> float:
    started = time.process_time()
    forward_equivalents(options)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="keep the least CPU time of R runs")
    arguments = parser.parse_args()
    grade = RunOptions(profile="grade", seed=arguments.seed, max_examples=arguments.examples)

    whole, verified = forward_equivalents(grade)
    rows = []
    for check_id in verified:
        alone, alone_verified = forward_equivalents(grade, only=check_id)
        rows.append([check_id, verified[check_id], f"{alone / max(alone_verified[check_id], 1):.2f}"])
    print(f"grade profile, {arguments.examples} examples, seed {arguments.seed}")
    print(tabulate(rows, headers=["check", "cases verified", "forward-equivalents per case, run alone"]))
    print(
        f"\nwhole run: {whole} forward-equivalents for {sum(verified.values())} verified cases: "
        f"{whole / sum(verified.values()):.2f} per verified case"
    )
    shares = sorted(hypothesis_share(grade) for _ in range(arguments.repeat))
    runs = f" (median of {len(shares)}: {', '.join(f'{share:.1%}' for share in shares)})"
    median = shares[len(shares) // 2]
    print(f"Hypothesis's share of the CPU: {median:.1%}{runs if len(shares) > 1 else ''}")
    profiles = {
        "student": RunOptions(profile="student", seed=arguments.seed),
        "grade": RunOptions(profile="grade", seed=arguments.seed),
    }
    seconds: dict[str, list[float]] = {name: [] for name in profiles}
    for _ in range(arguments.repeat):
        for name, options in profiles.items():
            seconds[name].append(cpu_seconds(options))
    least = {name: min(times) for name, times in seconds.items()}
    print(
        f"CPU of a correct student's whole run, least of {arguments.repeat}: "
        f"student profile {least['student']:.2f} s, grade profile {least['grade']:.2f} s "
        f"(grade profile runs: {', '.join(f'{value:.2f}' for value in seconds['grade'])}; "
        f"load average {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
