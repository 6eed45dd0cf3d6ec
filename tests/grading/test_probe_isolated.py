"""The derivative probe reads, through a real bwrap worker, what it reads
in-process: its three readings travel in one batch, and every correct habit
of the table (a cache popped, extra keys, a float32 forward, rows for examples,
a recursive backward) and every derivative mistake reads the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bpcheck import InProcessStudent, get_plugin_manager
from bpcheck.diagnosis._probe import Reading, read_derivative
from bpcheck.grading.isolation import WorkerStudent
from tests.diagnosis.table import OWN
from tests.grading.test_isolation import LIMITS

#: The table's modules whose f′ is right, each written its own way (the last
#: pops its cache, and misses 1/M, which the probe's quotient cancels).
RIGHT = [*sorted(OWN.glob("correct_*.py")), OWN / "buggy_batch_mean_missing_coursera_pop.py"]
#: The table's modules whose f′ is wrong.
WRONG = [
    OWN / name
    for name in (
        "buggy_wrong_activation_derivative_coursera.py",
        "buggy_wrong_activation_derivative_recursive.py",
        "buggy_wrong_activation_derivative_rows.py",
        "buggy_missing_activation_derivative_float32.py",
        "buggy_activation_derivative_of_output_coursera.py",
    )
]
#: (hidden activation, output activation, loss) the probe reads through.
PROBES = [("tanh", "linear", "mse"), ("sigmoid", "softmax", "cce"), ("relu", "sigmoid", "bce")]


def _seen(reading: Reading | None) -> tuple[str, str, bytes] | None:
    if reading is None:
        return None
    formula = reading.formula.mistake if reading.formula is not None else "unknown"
    return formula, reading.yours.dtype.str, np.asarray(reading.yours).tobytes()


@pytest.mark.parametrize("module", RIGHT + WRONG, ids=lambda path: path.stem)
def test_the_probe_reads_the_same_in_a_worker_as_in_process(module: Path) -> None:
    trusted = InProcessStudent(str(module), get_plugin_manager())
    with WorkerStudent(module, LIMITS) as worker:
        assert worker.api.usable and worker.isolation.startswith("bwrap"), worker.isolation
        readings = {probe: _seen(read_derivative(trusted, *probe)) for probe in PROBES}
        for probe, here in readings.items():
            assert _seen(read_derivative(worker, *probe)) == here, (module.stem, probe)
    formulas = {probe: None if seen is None else seen[0] for probe, seen in readings.items()}
    if module in RIGHT:  # the lesson's f′, at every probe
        assert set(formulas.values()) == {""}, (module.stem, formulas)
    else:  # the mistake is read at some probe
        assert set(formulas.values()) - {None, ""}, (module.stem, formulas)
