"""Naming accuracy of the diagnosis over the table of student modules.

    /work/venv/bin/python benchmarks/diagnosis_accuracy.py [--max-examples N] [--seed S] [--quick]

Runs every check (all families unless --quick) against every module of
tests/diagnosis/table.py and prints, per module, the mistakes expected and
named, then:

- correctly named: modules with catalogued mistakes that got every one named;
- nothing named: modules whose mistake is not catalogued (or that break the
  API, so there is nothing to diagnose) that got no mistake named;
- misnamed: modules given any mistake they do not have (must be 0);
- false diagnoses: correct modules given any diagnosis at all (must be 0).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bpcheck import RunOptions
from tests.diagnosis.table import named, rows, run, unrecognised


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="only the families each module needs")
    arguments = parser.parse_args()
    buggy = correct = uncatalogued = misnamed = named_right = false_alarms = declined = 0
    every = RunOptions(profile="grade", seed=arguments.seed, max_examples=arguments.max_examples)
    for row in rows():
        options = row.quick(every) if arguments.quick else every
        started = time.perf_counter()
        report = run(row, options)
        got = named(report)
        wrong = got - row.expected
        if row.correct:
            correct += 1
            alarm = bool(got) or unrecognised(report) > 0
            false_alarms += alarm
            verdict = "FALSE DIAGNOSIS" if alarm else "ok"
        elif not row.expected:
            uncatalogued += 1
            misnamed += bool(wrong)
            declined += not got
            verdict = f"MISNAMED {sorted(wrong)}" if wrong else "ok"
        else:
            buggy += 1
            misnamed += bool(wrong)
            right = row.expected <= got and not wrong
            named_right += right
            verdict = "ok" if right else f"MISNAMED {sorted(wrong)}" if wrong else "missed"
        print(
            f"{verdict:>16}  {row.name:58} expected {sorted(row.expected) or '-'} "
            f"named {sorted(got) or '-'} unrecognised failures {unrecognised(report)}  "
            f"{time.perf_counter() - started:.1f}s",
            flush=True,
        )
    print()
    print(f"correctly named:       {named_right} / {buggy} modules with catalogued mistakes")
    print(
        f"nothing named:         {declined} / {uncatalogued} modules whose mistake is not catalogued"
    )
    print(f"misnamed:              {misnamed} (any module given a mistake it does not have)")
    print(f"false diagnoses:       {false_alarms} / {correct} correct modules")
    return 0 if misnamed == 0 and false_alarms == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
