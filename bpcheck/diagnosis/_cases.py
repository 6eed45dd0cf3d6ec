"""The further cases the diagnosis runs the student on, beside the counterexample.

A counterexample is Hypothesis's smallest, where one unit, one example or one
gradient tensor can make mistakes look alike: :func:`variant_case` is wider,
with a larger batch; :func:`deeper_case` has a hidden layer more. Both are
drawn with a fixed seed, so a diagnosis is the same on every run.
"""

from __future__ import annotations

import numpy as np

from bpcheck._contract import Architecture, Case
from bpcheck.strategies import _draw_parameters as draw_parameters
from bpcheck.strategies import _draw_targets as draw_targets
from bpcheck.strategies import repair_kinks


def variant_case(case: Case) -> Case:
    """Another case for the same activations and loss, drawn afresh: two more
    units in every layer (so equal widths stay equal) and a batch larger than
    every width, so that what one unit or one example could not tell apart
    shows, and no factor of M can pass for a factor of a width."""
    old = case.architecture
    widths = tuple(width + 2 for width in old.widths)
    return _drawn(Architecture(widths, old.activations, old.loss, old.biases))


#: The hidden activations :func:`deeper_case` tries, in turn, until the student's code runs.
DEEPER_HIDDEN = ("linear", "tanh", "relu", "sigmoid")


def deeper_case(case: Case, hidden: str = "linear") -> Case:
    """:func:`variant_case` with a hidden layer of ``hidden`` put under the
    output layer (as wide as the input): a network with more gradient tensors
    than a one-layer counterexample has."""
    old = variant_case(case).architecture
    widths = (*old.widths[:-1], old.widths[-2], old.widths[-1])
    activations = (*old.activations[:-1], hidden, old.activations[-1])
    return _drawn(Architecture(widths, activations, old.loss, old.biases))


def _drawn(architecture: Architecture) -> Case:
    """A case for ``architecture`` drawn with a fixed seed, its batch larger than every width."""
    rng = np.random.default_rng(20261128)
    batch = max(architecture.widths) + 1
    X = rng.normal(0.0, 1.0, (architecture.widths[0], batch))
    Y = draw_targets(rng, architecture.loss, architecture.widths[-1], batch)
    return repair_kinks(Case(architecture, draw_parameters(rng, architecture), X, Y))
