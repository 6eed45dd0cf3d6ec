"""How much isolation and parallel grading cost, measured side by side in one run.

    python benchmarks/grading_throughput.py [--submissions 8] [--examples 10] [--repeat 1]
                                            [--calls 200]

Generates a batch of submissions (copies of a correct and a buggy
implementation, alternating) and grades it three times, each into a fresh
output directory so that nothing is resumed:

1. in-process, one at a time (trusted code only: the student's module is
   imported into this process);
2. isolated, one at a time (a worker per submission, as ``bpcheck grade``);
3. isolated, two at a time (``--jobs 2``: a pool of two grader processes);
4. isolated, one at a time on one core (this process and its workers pinned
   to one CPU, as ``taskset`` or a one-core container would: the grader does
   not overlap with its worker, since no core is spare).

It prints the time per submission of each, the share of the machine's cores
each kept busy (from ``/proc/stat``: the whole machine, so whatever else runs
counts too) and the core-seconds that makes per submission, and three ratios:
isolated over in-process time per submission, ``--jobs 2`` over ``--jobs 1``
throughput, and ``--jobs 2`` over ``--jobs 1`` on one core: how grading scales
from one core to two. ``--jobs 1`` on two cores already keeps part of the
second busy (calls are sent ahead, and the next worker starts while the grader
works), so the second ratio is less than the third by what that overlap gains.
Since both isolated runs on two cores spend the same core-seconds per
submission, ``--jobs 2`` can gain at most 1 / (cores busy of ``--jobs 1``)
over ``--jobs 1``, reached only with both cores busy all the time: that
ceiling is printed under the ratio.
Then it times ``--calls`` gradient calls of a small case against one correct
submission three ways: in-process, isolated one call per round trip
(``call``), and isolated in batches of 10 (``call_many``), to show what a
round trip costs.
The pool's start-up is part of the ``--jobs 2`` time, as it is for a grader.
With ``--repeat R`` the three runs are repeated R times, in turn, and each
keeps its fastest time: the least disturbed by whatever else the machine runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from tabulate import tabulate

from bpcheck import InProcessStudent, get_plugin_manager
from bpcheck._options import RawOption
from bpcheck._sandbox.calls import GradientCall
from bpcheck.grading._config import GradingConfig, load_config
from bpcheck.grading._grade import Graded, grade_all
from bpcheck.grading._pool import local_executor
from bpcheck.grading._submissions import Submission, find_submissions
from bpcheck.grading.isolation import Limits, WorkerStudent, describe_isolation

IMPLEMENTATIONS = Path(__file__).resolve().parents[1] / "tests" / "implementations"
SOURCES = ("correct_table.py", "buggy_missing_activation_derivative_1.py")


def generate(directory: Path, count: int) -> list[Submission]:
    """``count`` submissions named student_00, student_01, ...: correct and buggy in turn."""
    directory.mkdir(parents=True)
    paths = []
    for index in range(count):
        path = directory / f"student_{index:02d}.py"
        shutil.copy(IMPLEMENTATIONS / SOURCES[index % len(SOURCES)], path)
        paths.append(path)
    return find_submissions(paths)


def measure(
    submissions: list[Submission],
    config: GradingConfig,
    out: Path,
    isolation: str,
    jobs: int,
    cores: int | None = None,
) -> tuple[float, float, list[str]]:
    """Seconds to grade the batch into ``out``, the share of the machine's cores
    busy meanwhile, and each submission's outcome in a line. With ``cores``,
    this process (and so its workers) runs pinned to that many CPUs."""
    allowed = os.sched_getaffinity(0)
    if cores is not None:
        os.sched_setaffinity(0, sorted(allowed)[:cores])
    try:
        busy_before, started = busy_core_seconds(allowed), time.perf_counter()
        with local_executor(jobs) as executor:
            outcomes = grade_all(submissions, config, out, executor=executor, isolation=isolation)
        seconds = time.perf_counter() - started
        busy = (busy_core_seconds(allowed) - busy_before) / (seconds * len(allowed))
    finally:
        os.sched_setaffinity(0, allowed)
    return seconds, busy, [describe(graded) for graded in outcomes]


def busy_core_seconds(cores: set[int]) -> float:
    """Core-seconds the CPUs ``cores`` have been busy since boot (user, system,
    interrupts), from their lines of ``/proc/stat``."""
    allowed = {f"cpu{core}" for core in cores}
    busy = 0
    with open("/proc/stat") as stat:
        for line in stat:
            name, *fields = line.split()
            if name in allowed:
                user, nice, system, _idle, _iowait, irq, softirq = map(int, fields[:7])
                busy += user + nice + system + irq + softirq  # not steal, nor guest (in user)
    return busy / os.sysconf("SC_CLK_TCK")


def describe(graded: Graded) -> str:
    """``name: status score``, and for a submission not graded in full, its first error."""
    if graded.report is None:
        return f"{graded.submission.name}: {graded.status} {graded.message.splitlines()[-1:]}"
    line = f"{graded.submission.name}: {graded.status} {graded.report.score:g}"
    errors = [result.message for result in graded.report.checks if result.status == "error"]
    return line if graded.status == "graded" or not errors else f"{line} ({errors[0][:300]})"


RUNS = {  # name: (isolation, jobs, cores: None for all)
    "in-process, --jobs 1": ("in-process", 1, None),
    "isolated, --jobs 1": ("worker", 1, None),
    "isolated, --jobs 2": ("worker", 2, None),
    "isolated, --jobs 1, one core": ("worker", 1, 1),
}


def per_call(source: Path, calls: int) -> dict[str, float]:
    """Microseconds per gradient call: in-process, isolated one by one, isolated in batches."""
    rng = np.random.default_rng(0)
    params = {"W1": rng.normal(size=(8, 4)), "b1": rng.normal(size=(8, 1)),
              "W2": rng.normal(size=(2, 8)), "b2": rng.normal(size=(2, 1))}  # fmt: skip
    call = GradientCall(params, rng.normal(size=(4, 16)), rng.normal(size=(2, 16)),
                        ("relu", "linear"), "mse")  # fmt: skip
    timings = {}
    local = InProcessStudent(str(source), get_plugin_manager())
    started = time.perf_counter()
    for _ in range(calls):
        local.call(call)
    timings["in-process call"] = time.perf_counter() - started
    with WorkerStudent(source, Limits()) as student:
        student.call(call)  # warm
        started = time.perf_counter()
        for _ in range(calls):
            student.call(call)
        timings["isolated call, one per round trip"] = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(calls // 10):
            student.call_many([call] * 10)
        timings["isolated call_many, 10 per round trip"] = time.perf_counter() - started
    return {name: 1e6 * total / calls for name, total in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=8, help="batch size (default 8)")
    parser.add_argument("--examples", type=int, default=10, help="examples per check (default 10)")
    parser.add_argument("--repeat", type=int, default=1, help="keep the best of R runs (default 1)")
    parser.add_argument("--calls", type=int, default=200, help="calls for the per-call times")
    arguments = parser.parse_args()
    count = arguments.submissions
    config = load_config(None, {"max_examples": RawOption(arguments.examples, "--examples")}, [])
    print(
        f"{count} submissions, {arguments.examples} examples per check, {os.cpu_count()} CPUs, "
        f"best of {arguments.repeat}, load average {os.getloadavg()[0]:.1f} at the start"
    )
    print(describe_isolation())

    with tempfile.TemporaryDirectory(prefix="bpcheck-benchmark-") as scratch:
        submissions = generate(Path(scratch) / "submissions", count)
        seconds: dict[str, float] = {}
        busy: dict[str, float] = {}
        measured: dict[str, list[str]] = {}
        for repeat in range(arguments.repeat):
            for name, (isolation, jobs, cores) in RUNS.items():
                out = Path(scratch) / f"{name} #{repeat}"
                total, share, measured[name] = measure(
                    submissions, config, out, isolation, jobs, cores
                )
                if name not in seconds or total < seconds[name]:
                    seconds[name], busy[name] = total, share
    if len({str(outcomes) for outcomes in measured.values()}) != 1:
        print("warning: the runs disagree on statuses or scores, so they timed different work:")
        for name, outcomes in measured.items():
            print(f"  {name}:\n    " + "\n    ".join(outcomes))
    cores = len(os.sched_getaffinity(0))
    rows = [
        (
            name,
            f"{total:.2f}",
            f"{total / count:.3f}",
            f"{count / total:.2f}",
            f"{busy[name]:.0%}",
            f"{busy[name] * total * cores / count:.3f}",
        )
        for name, total in seconds.items()
    ]
    print()
    headers = (
        "run", "total s", "s per submission", "submissions per s", "cores busy",
        "core-s per submission",
    )  # fmt: skip
    print(tabulate(rows, headers=headers))
    print()
    isolated, in_process = seconds["isolated, --jobs 1"], seconds["in-process, --jobs 1"]
    print(f"time per submission, isolated / in-process:  {isolated / in_process:.2f}x")
    pool = seconds["isolated, --jobs 2"]
    print(f"throughput, --jobs 2 / --jobs 1 (isolated):  {isolated / pool:.2f}x")
    print(
        "  at most, with both cores busy all the time (1 / cores busy of --jobs 1):  "
        f"{1 / busy['isolated, --jobs 1']:.2f}x"
    )
    print(
        "throughput, --jobs 2 / --jobs 1 on one core (isolated):  "
        f"{seconds['isolated, --jobs 1, one core'] / pool:.2f}x"
    )
    print()
    timings = per_call(IMPLEMENTATIONS / SOURCES[0], arguments.calls)
    print(tabulate([(name, f"{value:.0f}") for name, value in timings.items()],
                   headers=("gradient call, 4 -> 8 relu -> 2, batch 16", "µs per call")))  # fmt: skip
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
