"""A covering sample: styles such that every pair of values of two different
axes appears together in at least one of them.

Greedy, in the manner of AETG: each new style starts from a pair not yet
covered and fills the other axes one at a time, in a shuffled order, with the
value that covers the most new pairs; the best of a few such candidates is
kept. Deterministic for a given seed.
"""

from __future__ import annotations

import itertools
import random

from tests.styles._style import AXES, Axis, Style

Pair = tuple[tuple[int, str], tuple[int, str]]
#: Candidates tried per new style.
CANDIDATES = 20


def _pairs(values: list[str | None]) -> set[Pair]:
    chosen = [(axis, value) for axis, value in enumerate(values) if value is not None]
    return set(itertools.combinations(chosen, 2))


def every_pair(axes: tuple[Axis, ...] = AXES) -> set[Pair]:
    """Every pair of values of two different axes."""
    return {
        ((i, a), (j, b))
        for i, j in itertools.combinations(range(len(axes)), 2)
        for a in axes[i].values
        for b in axes[j].values
    }


def _candidate(seed_pair: Pair, uncovered: set[Pair], rng: random.Random) -> list[str]:
    (i, a), (j, b) = seed_pair
    values: list[str | None] = [None] * len(AXES)
    values[i], values[j] = a, b
    for axis in rng.sample(range(len(AXES)), len(AXES)):
        if values[axis] is not None:
            continue

        def gain(value: str) -> int:
            trial = values.copy()
            trial[axis] = value
            return len(_pairs(trial) & uncovered)

        options = list(AXES[axis].values)
        rng.shuffle(options)
        values[axis] = max(options, key=gain)
    return [value for value in values if value is not None]


def covering_sample(seed: int = 0) -> list[Style]:
    """Styles that together contain every pair of values of two different axes."""
    rng = random.Random(seed)
    uncovered = every_pair()
    sample: list[Style] = []
    while uncovered:
        seed_pair = min(uncovered)
        best = max(
            (_candidate(seed_pair, uncovered, rng) for _ in range(CANDIDATES)),
            key=lambda values: len(_pairs(list(values)) & uncovered),
        )
        uncovered -= _pairs(list(best))
        sample.append(Style(*best))
    return sample
