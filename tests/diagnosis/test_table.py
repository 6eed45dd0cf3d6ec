"""Every buggy module of the table gets exactly its mistakes named; correct code gets none.

The whole path runs: the real checks, Hypothesis's shrinking (derandomized,
seed 0), the failure path and the diagnosis. Families are limited to those a
module's mistakes show in, to keep the suite quick; the full run is
``benchmarks/diagnosis_accuracy.py``.
"""

from __future__ import annotations

import pytest

from bpcheck import RunOptions
from tests.conftest import REFERENCE_SOURCE
from tests.diagnosis.table import Row, named, rows, run, unrecognised

ROWS = rows()
BUGGY = [r for r in ROWS if not r.correct and r.expected]
CORRECT = [r for r in ROWS if r.correct] + [Row("correct_reference", REFERENCE_SOURCE, frozenset())]
UNCATALOGUED = [r for r in ROWS if not r.correct and not r.expected]


def test_every_kind_of_row_is_in_the_table() -> None:
    """An empty parametrization is skipped, not failed: the tables below must not be."""
    assert BUGGY and [r for r in ROWS if r.correct] and UNCATALOGUED


def quick(row: Row) -> RunOptions:
    return row.quick(RunOptions(profile="grade", seed=0, max_examples=8))


@pytest.mark.parametrize("row", BUGGY, ids=lambda r: r.name)
def test_a_buggy_module_gets_its_mistakes_named_and_nothing_else(row: Row) -> None:
    report = run(row, quick(row))
    assert named(report) == row.expected


@pytest.mark.parametrize("row", CORRECT, ids=lambda r: r.name)
def test_correct_code_in_any_style_gets_no_diagnosis(row: Row) -> None:
    options = RunOptions(profile="grade", seed=0, max_examples=8)
    report = run(row, options)
    assert named(report) == set()
    assert unrecognised(report) == 0
    assert report.checks and all(result.diagnoses == [] for result in report.checks)


@pytest.mark.parametrize("row", UNCATALOGUED, ids=lambda r: r.name)
def test_a_module_whose_mistake_is_not_catalogued_gets_none_named(row: Row) -> None:
    assert named(run(row, quick(row))) == set()
