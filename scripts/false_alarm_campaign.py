"""Run the grade profile over the generated correct styles (tests/styles) with
many seeds, and print every false alarm with the commands that reproduce it.
The only acceptable number of false alarms is 0.

    python scripts/false_alarm_campaign.py --sample 40 --seeds 3 [--first-seed 100] [--jobs 2]
    python scripts/false_alarm_campaign.py --limit 10      # the first 10 styles of the product
    python scripts/false_alarm_campaign.py --sample 20 --only no_extras,float64,float32
    python scripts/false_alarm_campaign.py                 # the whole product (millions of runs)

A false alarm is any check a correct style fails, except the one its style
explains: a textbook output derivative (output_delta textbook_delta or
clipped_textbook_delta) must fail numerical_stability on bce (and on cce
without biases, where that check saturates softmax) and be named
unstable_output_delta; it is a false alarm too if it passes there, and any
name given to a correct style that it does not have is one. A style without
biases (no_biases) runs in the bias-free scope, as its printed command
configures it. Every module run is kept in --out, so the printed pytest
command reruns it as it was.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bpcheck import InProcessStudent, RunOptions, RunReport, __version__, get_plugin_manager  # noqa: E402
from bpcheck._running import collect_checks, plan, run_plan, with_plugin_mistakes  # noqa: E402
from tests.styles import (  # noqa: E402
    Axis,
    Student,
    Style,
    all_styles,
    restricted,
    style_at,
    style_count,
)
from tests.styles._run import Outcome, configured, pytest_setup, write  # noqa: E402


def _counting(body: Callable[..., None], counter: Counter[str]) -> Callable[..., None]:
    def counted(*args: Any) -> None:
        counter["cases"] += 1
        body(*args)

    return counted


@dataclasses.dataclass(frozen=True)
class Result:
    """One run: its size, and each false alarm as (check name or "", what happened)."""

    style: str
    seed: int
    module: str
    max_examples: int | None
    checks: int
    cases: int
    alarms: list[tuple[str, str]]
    naming: str

    def describe(self) -> list[str]:
        """The run's false alarms, each with the command that reproduces it."""
        lines = [
            f"{self.style} seed {self.seed}",
            f"    module {self.module} (python -m tests.styles {self.style} > {Path(self.module).name})",
        ]
        for check, what in self.alarms:
            lines.append(f"    {check + ': ' if check else ''}{what}")
            if check:
                examples = f" --bpcheck-examples={self.max_examples}" if self.max_examples else ""
                lines.append(
                    f"        {pytest_setup(Style.parse(self.style))}"
                    f"pytest --student={self.module} --bpcheck-profile=grade "
                    f"--bpcheck-seed={self.seed}{examples} -k '{check}'"
                )
        return lines


def run(style_id: str, seed: int, module: str, max_examples: int | None) -> Result:
    """One style, already written to ``module``, under one seed, in the grade
    profile, every family, configured for the style (a network without biases
    in the bias-free scope)."""
    student = Student(Style.parse(style_id))
    manager = get_plugin_manager()
    under_test = InProcessStudent(module, manager)
    graded = RunOptions(profile="grade", seed=seed, max_examples=max_examples)
    options = with_plugin_mistakes(configured(student.style, Path(module), graded), manager)
    counter: Counter[str] = Counter()
    planned = [
        dataclasses.replace(item, check=dataclasses.replace(item.check, body=_counting(item.check.body, counter)))
        for item in plan(collect_checks(manager), options)
    ]
    results = run_plan(planned, under_test, options)
    report = RunReport(under_test.name, seed, options.profile, __version__, results)
    outcome = Outcome(student, report, options)
    alarms = [
        (result.name, result.message.splitlines()[0][:200]) for result in outcome.false_alarms
    ]
    missed = sorted(outcome.expected_failures - outcome.failed)
    if missed:
        alarms.append(("", f"passed {', '.join(missed)}, which a textbook output derivative fails"))
    if outcome.naming == "named wrong":
        wrong = sorted(outcome.named - outcome.expected_names)
        alarms.append(("", f"named {wrong}, mistakes this correct style does not have"))
    return Result(
        style_id, seed, module, max_examples, len(results), counter["cases"], alarms, outcome.naming
    )


def styles(arguments: argparse.Namespace, axes: tuple[Axis, ...]) -> Iterator[Style]:
    if arguments.sample is not None:
        chooser = random.Random(arguments.sample_seed)
        for index in sorted(chooser.sample(range(style_count(axes)), arguments.sample)):
            yield style_at(index, axes)
    else:
        yield from islice(all_styles(axes), arguments.limit)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--limit", type=int, help="only the first N styles of the product")
    chosen.add_argument("--sample", type=int, help="N styles drawn at random from the product")
    parser.add_argument("--sample-seed", type=int, default=0, help="which random sample")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated axis values to keep (e.g. no_extras,float64,float32): "
        "alternatives within an axis, all required across axes",
    )
    parser.add_argument("--seeds", type=int, default=3, help="how many bpcheck seeds per style")
    parser.add_argument("--first-seed", type=int, default=0, help="the first of them")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--max-examples", type=int, help="examples per check (default: the grade profile's)")
    parser.add_argument("--out", help="where the generated modules go (default: a temporary folder)")
    arguments = parser.parse_args()
    out = Path(arguments.out or tempfile.mkdtemp(prefix="bpcheck-campaign-"))
    out.mkdir(parents=True, exist_ok=True)
    seeds = range(arguments.first_seed, arguments.first_seed + arguments.seeds)
    try:
        axes = restricted(value for value in arguments.only.split(",") if value)
    except ValueError as error:
        parser.error(f"--only: {error}")
    written = {style.id: str(write(Student(style), out)) for style in styles(arguments, axes)}
    jobs = [(style, seed, module) for style, module in written.items() for seed in seeds]
    totals: Counter[str] = Counter()
    naming: Counter[str] = Counter()
    by_check: Counter[str] = Counter()
    alarmed: list[Result] = []
    with ProcessPoolExecutor(arguments.jobs) as pool:
        for result in pool.map(run, *zip(*jobs), [arguments.max_examples] * len(jobs)):
            totals["runs"] += 1
            totals["checks"] += result.checks
            totals["cases"] += result.cases
            naming[result.naming] += 1
            by_check.update(check.split("[")[0] or "other" for check, _ in result.alarms)
            if result.alarms:
                alarmed.append(result)
    print(
        f"styles: {len(written)} of {style_count(axes)}; seeds {seeds.start}..{seeds.stop - 1}; "
        f"runs: {totals['runs']}; checks run: {totals['checks']}; cases run: {totals['cases']}"
    )
    print(
        "textbook output derivatives on bce (and cce without biases): "
        f"named unstable_output_delta {naming['named right']}, "
        f"unnamed {naming['unnamed']}, passed numerical_stability {naming['missed']}"
    )
    checks = ", ".join(f"{check} {count}" for check, count in by_check.most_common())
    print(
        f"false alarms: {sum(by_check.values())} in {len(alarmed)} of {totals['runs']} runs"
        + (f" ({checks})" if checks else "")
    )
    for result in alarmed:
        print("\n".join(result.describe()))
    return 1 if alarmed else 0


if __name__ == "__main__":
    sys.exit(main())
