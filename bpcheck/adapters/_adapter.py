"""What an adapter is, as plain data: :class:`Adapter`, :class:`Vocabulary`,
and the request and student source that an adapter is chosen from.

An adapter translates a course's API to the harness's contract and does
nothing else. The grader chooses it from the student's *source* (never by
running it); the translation named by :attr:`Adapter.translation` runs
wherever the student's code runs (see ``bpcheck/_sandbox/adapters``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bpcheck._scope import Scope

#: The adapter name that means "detect the style from what the module defines".
AUTO = "auto"
#: The code a student of the functional contract starts from, as the api check names it.
TEMPLATE = "the template (`bpcheck init`)"


@dataclass(frozen=True)
class Vocabulary:
    """How a course names and lays out what reports show.

    ``gradients`` and ``parameters`` map a parameter kind ("W", "b") to a
    template of its name, with ``{layer}`` (1-based, as the lesson counts),
    ``{index}`` (0-based) and ``{name}`` ("W2"): ``dW2`` is ``grads['W2']``
    in CS231n and ``nabla_w[1]`` in Nielsen's book. ``functions`` maps the
    contract's function names to the course's. The layout fields say how the
    student's arrays differ from the lesson's: batch-first X, W of shape
    (in, out), biases as a "row" (1, out) or "flat" (out,), labels as class indices.
    ``starter`` is the code a student should start from, named where the api
    check names :data:`TEMPLATE`: the course's own starter code.
    """

    gradients: Mapping[str, str] = field(default_factory=lambda: {"W": "dW{layer}", "b": "db{layer}"})
    parameters: Mapping[str, str] = field(default_factory=lambda: {"W": "W{layer}", "b": "b{layer}"})
    functions: Mapping[str, str] = field(default_factory=dict)
    batch_first: bool = False
    weights_in_out: bool = False
    bias: str = "column"
    class_indices: bool = False
    starter: str = TEMPLATE


@dataclass(frozen=True)
class Adapter:
    """The adapter chosen for one student.

    ``translation`` names the module of ``bpcheck._sandbox.adapters`` that
    runs it, with ``settings`` (plain JSON data) as its options. ``scope`` is
    the course's standard scope (a configuration's ``[scope]`` table may
    override it); ``reason`` says why this adapter was chosen, for the header
    and the report. ``problems`` are what the module lacks, found from its
    source: set when no adapter matched, and reported by the ``api`` check.
    ``biases`` are the values of :attr:`Scope.biases` the translation can
    run: a course whose code always has biases (the default) cannot be
    graded on networks without them, and the reverse.
    """

    name: str
    translation: str
    scope: Scope = field(default_factory=Scope)
    vocabulary: Vocabulary = field(default_factory=Vocabulary)
    settings: Mapping[str, Any] = field(default_factory=dict)
    reason: str = ""
    problems: tuple[str, ...] = ()
    biases: tuple[bool, ...] = (True,)

    def describe(self) -> str:
        """``dlai (auto: the module defines L_model_forward, L_model_backward)``."""
        return f"{self.name} ({self.reason})" if self.reason else self.name


@dataclass(frozen=True)
class AdapterRequest:
    """Which adapter was asked for: a name or "auto", and the declarative
    ``[tool.bpcheck.adapter]`` table when the configuration has one, with
    ``source`` saying where each came from."""

    name: str = AUTO
    table: Mapping[str, Any] | None = None
    source: str = "the default"


@dataclass(frozen=True)
class StudentSource:
    """What a student's module defines at top level, read from its source
    (or a notebook's code cells) with :mod:`ast`, without running it.

    ``names`` holds every top-level function, class, assignment and imported
    name; ``methods`` each top-level class's methods. ``error`` says why the
    source could not be read or parsed (then nothing is defined).
    """

    path: str
    names: frozenset[str] = frozenset()
    methods: Mapping[str, frozenset[str]] = field(default_factory=dict)
    error: str = ""

    def defines(self, name: str) -> bool:
        """Whether ``name`` ("L_model_forward", or "Network.backprop") is defined."""
        owner, _, method = name.partition(".")
        if method:
            return method in self.methods.get(owner, frozenset())
        return owner in self.names

    def missing(self, names: Sequence[str]) -> list[str]:
        return [name for name in names if not self.defines(name)]
