"""How often directional finite differences miss a wrong gradient, measured.

    python benchmarks/directional_detection.py [--trials 2000] [--width 16]

For random networks (two tanh layers n → n → n, linear output, mse, batch 8,
the reference's parameters) it takes the reference's gradients, plants an
error in one tensor, and asks bpcheck's finite-difference judgement
(:func:`bpcheck.checks._differences.directional_differences`, the same code
the ``finite_differences`` check runs) whether the gradients agree.

The error is confined to ``k`` entries of W1 (1, 3, or all of them) and has
relative size ``r`` = ‖error‖ / ‖dW1‖. It prints, per (k, r), the fraction
of cases on which the check misses it, and what that means for a check that
sees 20 cases (the student profile) or 100 (the grade profile) when the
mistake shows on every case.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from tabulate import tabulate

import bpcheck_reference as reference
from bpcheck import Architecture, Case, InProcessStudent, get_plugin_manager
from bpcheck.checks import CheckContext
from bpcheck.checks._differences import directional_differences
from bpcheck.checks._precision import FLOAT64


def random_case(rng: np.random.Generator, n: int) -> Case:
    architecture = Architecture((n, n, n), ("tanh", "linear"), "mse")
    params = {
        name: rng.normal(0, 1 / math.sqrt(n), shape) for name, shape in architecture.parameter_shapes().items()
    }
    return Case(architecture, params, rng.normal(size=(n, 8)), rng.normal(size=(n, 8)))


def missed(rng: np.random.Generator, context: CheckContext, n: int, entries: int | None, size: float) -> bool:
    case = random_case(rng, n)
    AL, cache = reference.forward(case.params, case.X, case.architecture.activations)
    grads = reference.backward(case.params, cache, case.Y, case.architecture.activations, "mse")
    true = grads["dW1"]
    error = np.zeros(true.size)
    where = rng.choice(true.size, size=entries or true.size, replace=False)
    error[where] = rng.normal(size=where.size)
    error *= size * np.linalg.norm(true) / np.linalg.norm(error)
    wrong = {**grads, "dW1": true + error.reshape(true.shape)}
    judged = directional_differences(context, case, FLOAT64, wrong, AL)
    context.forget()
    return not judged.wrong()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--width", type=int, default=16)
    arguments = parser.parse_args()
    rng = np.random.default_rng(0)
    context = CheckContext(InProcessStudent("bpcheck_reference", get_plugin_manager()), None, ())
    rows = []
    for entries in (1, 3, None):
        for size in (1e-1, 1e-3, 1e-5):
            misses = sum(missed(rng, context, arguments.width, entries, size) for _ in range(arguments.trials))
            rate = misses / arguments.trials
            rows.append(
                [
                    entries or f"all {arguments.width**2}",
                    f"{size:g}",
                    f"{misses}/{arguments.trials} = {rate:.2g}",
                    f"{rate**20:.2g}",
                    f"{rate**100:.2g}",
                ]
            )
    print(f"W1 of {arguments.width} × {arguments.width}; tolerance {FLOAT64.finite:g}")
    print(
        tabulate(
            rows,
            headers=["entries wrong", "relative size", "missed per case", "missed on all of 20", "of 100"],
        )
    )


if __name__ == "__main__":
    main()
