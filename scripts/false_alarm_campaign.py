"""Run the grade profile over every correct implementation with many seeds and
count the cases run and the false alarms (any check not passed). The only
acceptable number of false alarms is 0.

    python scripts/false_alarm_campaign.py --seeds 10 [--first-seed 0] [--jobs 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bpcheck import InProcessStudent, RunOptions, get_plugin_manager  # noqa: E402
from bpcheck._running import collect_checks, plan, run_planned  # noqa: E402
from tests.conftest import REFERENCE_SOURCE  # noqa: E402
from tests.implementations import CORRECT, HERE  # noqa: E402


def run(path: str, seed: int) -> tuple[str, int, int, list[str]]:
    """(path, checks run, cases run, false alarms) for one implementation and seed."""
    manager = get_plugin_manager()
    student = InProcessStudent(path, manager)
    options = RunOptions(profile="grade", seed=seed)
    cases = 0

    def counting(body):  # type: ignore[no-untyped-def]
        def counted(*args):  # type: ignore[no-untyped-def]
            nonlocal cases
            cases += 1
            return body(*args)

        return counted

    alarms = []
    planned = plan(collect_checks(manager), options)
    for item in planned:
        item = dataclasses.replace(item, check=dataclasses.replace(item.check, body=counting(item.check.body)))
        result = run_planned(item, student, options)
        if result.status not in ("passed", "skipped"):
            alarms.append(f"{Path(path).stem} seed {seed} {result.name}: {result.message}")
    return path, len(planned), cases, alarms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10, help="how many seeds")
    parser.add_argument("--first-seed", type=int, default=0, help="the first of them")
    parser.add_argument("--jobs", type=int, default=1)
    arguments = parser.parse_args()
    paths = [str(HERE / f"{name}.py") for name in CORRECT] + [str(REFERENCE_SOURCE)]
    seeds = range(arguments.first_seed, arguments.first_seed + arguments.seeds)
    jobs = [(path, seed) for seed in seeds for path in paths]
    totals = {"runs": 0, "checks": 0, "cases": 0}
    alarms: list[str] = []
    with ProcessPoolExecutor(arguments.jobs) as pool:
        for _, checks, cases, found in pool.map(run, *zip(*jobs)):
            totals["runs"] += 1
            totals["checks"] += checks
            totals["cases"] += cases
            alarms += found
    print(f"implementations: {len(paths)}; seeds: {seeds.start}..{seeds.stop - 1}; runs: {totals['runs']}")
    print(f"checks run: {totals['checks']}; cases run: {totals['cases']}; false alarms: {len(alarms)}")
    for alarm in alarms:
        print("  " + alarm)
    sys.exit(1 if alarms else 0)


if __name__ == "__main__":
    main()
