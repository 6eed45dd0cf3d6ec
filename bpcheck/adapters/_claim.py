"""How a built-in adapter answers the selection hook, from the variants of its course's API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bpcheck._scope import Scope
from bpcheck.adapters._adapter import AUTO, Adapter, AdapterRequest, StudentSource, Vocabulary


@dataclass(frozen=True)
class Variant:
    """One form of a course's API: the names that identify it (top-level
    names, or "Class.method"), and the scope, vocabulary and translation
    settings that go with it, and :attr:`Adapter.biases`."""

    needs: tuple[str, ...]
    scope: Scope
    vocabulary: Vocabulary
    settings: Mapping[str, Any] = field(default_factory=dict)
    biases: tuple[bool, ...] = (True,)


def claim(
    name: str,
    variants: Sequence[Variant],
    student: StudentSource,
    request: AdapterRequest,
    declined: list[str],
) -> Adapter | None:
    """The adapter ``name`` for ``student``, in the first variant whose names it defines.

    Asked for by name, it always answers (in its first variant when the source
    shows none: the translation then says what the module lacks). Under
    "auto" it answers only when a variant matches, else appends what it
    looked for to ``declined``.
    """
    if request.name not in (name, AUTO):
        return None
    for variant in variants:
        if not student.missing(variant.needs):
            how = "auto: the module defines" if request.name == AUTO else "the module defines"
            return _adapter(name, variant, f"{how} {', '.join(variant.needs)}")
    if request.name == name:
        return _adapter(name, variants[0], f"asked for in {request.source}")
    # A variant that needs more than another adds nothing to what was looked for.
    least = [v.needs for v in variants if not any(set(o.needs) < set(v.needs) for o in variants)]
    declined.append(f"{name} looked for " + " or ".join(", ".join(needs) for needs in least))
    return None


def _adapter(name: str, variant: Variant, reason: str) -> Adapter:
    return Adapter(
        name, name, variant.scope, variant.vocabulary, dict(variant.settings), reason, biases=variant.biases
    )
