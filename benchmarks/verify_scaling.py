"""What verifying one case's gradients costs as the network grows, measured side by side.

    python benchmarks/verify_scaling.py [--sizes 1e2,1e3,1e4,1e5] [--repeat 3] [--max-elementwise 1e5]

For networks of about P parameters (two square layers, widths chosen to hit P,
a batch of 8, the reference as the student, in-process) it times, per case:

1. bpcheck's ``finite_differences`` check (directional differences: one
   random direction per tensor and one across all, the round-off model once);
2. element-wise central differences (2P forward passes, what the check did
   before; skipped above ``--max-elementwise``);
3. a directional baseline: one central difference along one random direction,
   2 forwards + 1 backward in plain NumPy, the least any such check can do;
4. ``jax.test_util.check_grads`` on the same network written in jax.numpy,
   when jax is installed (never a dependency of bpcheck).

Each time is the fastest of ``--repeat`` runs. It prints the times, the ratio
of each method to bpcheck's check, and the scaling exponent of each in P (the
slope of log time against log P between the smallest and the largest size).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np
from tabulate import tabulate

import bpcheck_reference as reference
from bpcheck import Architecture, Case, InProcessStudent, get_plugin_manager
from bpcheck._numerics import relative_error
from bpcheck.checks import CheckContext
from bpcheck.checks._differences import element_differences
from bpcheck.checks._precision import FLOAT64
from bpcheck.checks.gradients import finite_differences

BATCH = 8


def network(parameters: float) -> Case:
    """Two tanh layers n → n → n with a linear output and mse: 2n² + 2n ≈ P."""
    n = max(2, round((-1 + math.sqrt(1 + 2 * parameters)) / 2))
    architecture = Architecture((n, n, n), ("tanh", "linear"), "mse")
    rng = np.random.default_rng(0)
    params = {
        name: rng.normal(0, 1 / math.sqrt(n), shape)
        for name, shape in architecture.parameter_shapes().items()
    }
    return Case(architecture, params, rng.normal(size=(n, BATCH)), rng.normal(size=(n, BATCH)))


def fastest(run: Callable[[], object], repeat: int) -> float:
    best = math.inf
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def bpcheck_check(case: Case) -> Callable[[], None]:
    student = InProcessStudent("bpcheck_reference", get_plugin_manager())

    def run() -> None:
        fresh = Case(case.architecture, dict(case.params), case.X, case.Y)  # nothing cached
        finite_differences.body(CheckContext(student, None, ()), fresh)

    return run


def elementwise(case: Case) -> Callable[[], None]:
    student = InProcessStudent("bpcheck_reference", get_plugin_manager())

    def run() -> None:
        element_differences(CheckContext(student, None, ()), case, FLOAT64, list(case.params))

    return run


def directional_baseline(case: Case) -> Callable[[], float]:
    activations, loss = case.architecture.activations, case.architecture.loss

    def run() -> float:
        AL, cache = reference.forward(case.params, case.X, activations)
        grads = reference.backward(case.params, cache, case.Y, activations, loss)
        rng = np.random.default_rng(1)
        direction = {name: rng.normal(size=value.shape) for name, value in case.params.items()}
        epsilon = 1e-5
        losses = []
        for sign in (1, -1):
            moved = {name: value + sign * epsilon * direction[name] for name, value in case.params.items()}
            losses.append(reference.compute_loss(reference.forward(moved, case.X, activations)[0], case.Y, loss))
        estimate = (losses[0] - losses[1]) / (2 * epsilon)
        claimed = sum(float(np.sum(grads[f"d{name}"] * part)) for name, part in direction.items())
        return relative_error(np.array(claimed), np.array(estimate))

    return run


def jax_check(case: Case) -> Callable[[], None] | None:
    try:
        import jax
        import jax.numpy as jnp
        from jax.test_util import check_grads
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    X, Y = jnp.asarray(case.X), jnp.asarray(case.Y)
    params = {name: jnp.asarray(value) for name, value in case.params.items()}

    def loss(params: dict[str, object]) -> object:
        A = jnp.tanh(params["W1"] @ X + params["b1"])  # type: ignore[operator]
        AL = params["W2"] @ A + params["b2"]  # type: ignore[operator]
        return jnp.sum((AL - Y) ** 2) / Y.shape[1]

    def run() -> None:
        check_grads(loss, (params,), order=1, modes=["rev"])

    return run


def exponent(sizes: list[float], times: list[float | None]) -> str:
    known = [(p, t) for p, t in zip(sizes, times, strict=True) if t is not None and t > 0]
    if len(known) < 2:
        return "—"
    (p0, t0), (p1, t1) = known[0], known[-1]
    return f"{math.log(t1 / t0) / math.log(p1 / p0):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1e2,1e3,1e4,1e5")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-elementwise", type=float, default=1e5)
    arguments = parser.parse_args()
    sizes = [float(size) for size in arguments.sizes.split(",")]
    methods = ["bpcheck finite_differences", "element-wise central", "directional baseline", "jax check_grads"]
    times: dict[str, list[float | None]] = {method: [] for method in methods}
    rows = []
    for size in sizes:
        case = network(size)
        P = case.size() - case.X.size - case.Y.size
        runs: dict[str, Callable[[], object] | None] = {
            methods[0]: bpcheck_check(case),
            methods[1]: elementwise(case) if P <= arguments.max_elementwise else None,
            methods[2]: directional_baseline(case),
            methods[3]: jax_check(case),
        }
        measured = {
            method: fastest(run, 1 if method == methods[1] else arguments.repeat) if run else None
            for method, run in runs.items()
        }
        for method, seconds in measured.items():
            times[method].append(seconds)
        ours = measured[methods[0]]
        rows.append(
            [P]
            + [f"{seconds * 1e3:.3g} ms" if seconds is not None else "—" for seconds in measured.values()]
            + [
                f"{seconds / ours:.3g}×" if seconds is not None and ours else "—"
                for method, seconds in measured.items()
                if method != methods[0]
            ]
        )
    headers = ["P", *methods, *(f"{method} / bpcheck" for method in methods[1:])]
    print(tabulate(rows, headers=headers))
    print()
    print(tabulate([[method, exponent(sizes, times[method])] for method in methods], headers=["method", "scaling exponent in P"]))


if __name__ == "__main__":
    main()
