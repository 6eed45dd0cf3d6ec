"""Naming accuracy of the diagnosis: over the table of student modules, and over
the generated style corpus, per style axis value and per mistake.

    python benchmarks/diagnosis_accuracy.py [--max-examples N] [--seed S] [--quick] [--jobs J]
        [--styles N] [--per-mistake K] [--no-table] [--no-corpus]

The table part runs every check (all families unless --quick) against every
module of tests/diagnosis/table.py and prints, per module, the mistakes
expected and named, then:

- correctly named: modules with catalogued mistakes that got every one named;
- nothing named: modules whose mistake is not catalogued (or that break the
  API, so there is nothing to diagnose) that got no mistake named;
- misnamed: modules given any mistake they do not have (must be 0);
- false diagnoses: correct modules given any diagnosis at all (must be 0).

The corpus part runs the covering sample of tests/styles (or --styles N drawn
at random from the full product) as correct students, and each mistake
injected into --per-mistake of them, and prints per axis value and per
mistake: correct runs and false alarms (a failure its style does not explain,
or a name it does not have); mistake runs, caught (some check failed), named
right (the mistake and nothing else), named wrong (a mistake it does not
have) and unnamed.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bpcheck import RunOptions  # noqa: E402
from bpcheck.diagnosis import BUILTIN_MISTAKES  # noqa: E402
from tests.diagnosis.table import named, rows, run, unrecognised  # noqa: E402
from tests.styles import AXES, Student, covering_sample, injections, style_at, style_count  # noqa: E402
from tests.styles._run import pytest_setup, quick  # noqa: E402
from tests.styles._run import run as run_student  # noqa: E402


def table(every: RunOptions, quick_families: bool) -> bool:
    """The table of hand-written modules; True when nothing is misnamed or falsely diagnosed."""
    buggy = correct = uncatalogued = misnamed = named_right = false_alarms = declined = 0
    for row in rows():
        options = row.quick(every) if quick_families else every
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
    return misnamed == 0 and false_alarms == 0


# ---------------------------------------------------------------- the style corpus

#: What one run counts for: a correct run, or a mistake's.
CORRECT_COLUMNS = ("correct runs", "false alarms")
MISTAKE_COLUMNS = ("mistake runs", "caught", "named right", "named wrong", "unnamed")


def judge(
    student: Student, rotation: int, options: RunOptions, quick_families: bool, out: str
) -> tuple[Counter[str], str | None]:
    """The counts one run of ``student`` adds to its axis values' and mistake's
    rows, and, when it went wrong, a line saying how and how to rerun it."""
    if quick_families:
        options = quick(student, rotation, options)
    outcome = run_student(student, Path(out), options)
    mistake = f" --mistake {student.mistake}" if student.mistake else ""
    rerun = (
        f"python -m tests.styles {student.style.id}{mistake} > s.py && "
        f"{pytest_setup(student.style)}pytest --student=s.py "
        f"--bpcheck-profile={options.profile} --bpcheck-seed={options.seed} "
        f"--bpcheck-examples={options.max_examples} "
        f"--bpcheck-activations={','.join(options.hidden_activations)} "
        f"--bpcheck-losses={','.join(options.losses)}"
    )
    got = f"named {sorted(outcome.named) or '-'}, expected {sorted(outcome.expected_names) or '-'}"
    if student.mistake is None:
        alarms = sorted(result.name for result in outcome.false_alarms)
        alarm = bool(alarms) or outcome.naming in ("named wrong", "missed")
        problem = f"false alarm {alarms}, {got}: {rerun}" if alarm else None
        return Counter({"correct runs": 1, "false alarms": int(alarm)}), problem
    counts = Counter({"mistake runs": 1})
    if outcome.naming != "missed":
        counts["caught"] += 1
        counts[outcome.naming] += 1
    wrong = outcome.naming in ("missed", "named wrong", "unnamed")
    return counts, f"{outcome.naming} {student.mistake}, {got}: {rerun}" if wrong else None


def _print_rows(title: str, counts: dict[str, Counter[str]], columns: tuple[str, ...]) -> None:
    width = max(len(title), *(len(name) for name in counts))
    print(f"{title:{width}}  " + "  ".join(f"{column:>12}" for column in columns))
    for name, row in counts.items():
        print(f"{name:{width}}  " + "  ".join(f"{row[column]:>12}" for column in columns))
    print()


def corpus(arguments: argparse.Namespace, every: RunOptions) -> bool:
    """The generated corpus; True when there is no false alarm and nothing named wrong."""
    if arguments.styles:
        chooser = random.Random(arguments.seed)
        styles = [style_at(i) for i in sorted(chooser.sample(range(style_count()), arguments.styles))]
    else:
        styles = covering_sample()
    students = [Student(style) for style in styles] + list(injections(styles, arguments.per_mistake))
    out = tempfile.mkdtemp(prefix="bpcheck-accuracy-")
    started = time.perf_counter()
    with ProcessPoolExecutor(arguments.jobs) as pool:
        results = list(
            pool.map(
                judge,
                students,
                range(len(students)),
                [every] * len(students),
                [arguments.quick] * len(students),
                [out] * len(students),
            )
        )
    by_value: dict[str, Counter[str]] = defaultdict(Counter)
    by_mistake: dict[str, Counter[str]] = defaultdict(Counter)
    problems = [problem for _, problem in results if problem is not None]
    for student, (counts, _) in zip(students, results, strict=True):
        for axis, value in student.style.values().items():
            by_value[f"{axis}={value}"].update(counts)
        if student.mistake:
            by_mistake[student.mistake].update(counts)
    print(
        f"style corpus: {len(styles)} styles, {len(students) - len(styles)} injected mistakes, "
        f"{time.perf_counter() - started:.0f}s"
    )
    print()
    ordered = {f"{axis.name}={value}": by_value[f"{axis.name}={value}"] for axis in AXES for value in axis.values}
    _print_rows("axis value", ordered, CORRECT_COLUMNS + MISTAKE_COLUMNS)
    catalogue = {mistake.id for mistake in BUILTIN_MISTAKES}
    labelled = {
        (name if name in catalogue else f"{name} (not catalogued)"): row
        for name, row in sorted(by_mistake.items())
    }
    _print_rows("mistake", labelled, MISTAKE_COLUMNS)
    total = sum((counts for counts, _ in results), Counter())
    print(
        f"correct runs: {total['correct runs']}, false alarms: {total['false alarms']}; "
        f"mistake runs: {total['mistake runs']}, caught {total['caught']}, named right "
        f"{total['named right']}, named wrong {total['named wrong']}, unnamed {total['unnamed']}"
    )
    for problem in problems:
        print("  " + problem)
    return total["false alarms"] == 0 and total["named wrong"] == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="only the families each module needs")
    parser.add_argument("--jobs", type=int, default=1, help="corpus runs in parallel")
    parser.add_argument("--styles", type=int, help="N styles drawn from the product (default: the covering sample)")
    parser.add_argument("--per-mistake", type=int, default=3, help="styles each mistake is injected into")
    parser.add_argument("--no-table", action="store_true", help="skip the hand-written modules")
    parser.add_argument("--no-corpus", action="store_true", help="skip the generated corpus")
    arguments = parser.parse_args()
    every = RunOptions(profile="grade", seed=arguments.seed, max_examples=arguments.max_examples)
    ok = True
    if not arguments.no_table:
        ok = table(every, arguments.quick) and ok
        print()
    if not arguments.no_corpus:
        ok = corpus(arguments, every) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
