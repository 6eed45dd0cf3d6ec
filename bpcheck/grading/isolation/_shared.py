"""The inputs of a batch of calls, in memory the grader and its worker share.

The grader writes every input array of a batch (params, X, Y, AL, grads,
probe directions) into one memfd that the worker maps too; the request then
names each array by its place (``{"$shared": [offset, dtype, shape]}``) and
the worker hands the student arrays that *are* that memory. After the batch,
the grader reads its memory back and compares it with its own copy of each
input: what the student changed in place is seen by the grader itself, not
reported by code the student could have replaced.

The memfd is sealed against shrinking (and against further seals) before the
worker gets it, so the worker cannot make the grader's mapping fault; it may
scribble on the memory at any time, which only changes its own verdicts.
"""

from __future__ import annotations

import fcntl
import mmap
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from bpcheck._sandbox.calls import (
    Call,
    ForwardCall,
    GradientCall,
    LossCall,
    RegularisedCall,
    UpdateCall,
)
from bpcheck._sandbox.execute import mutated_parts
from bpcheck.grading.isolation._wire import allowed_dtype

#: Bytes mapped at first; the memory grows (doubling) up to MAX_BYTES for a large batch.
FIRST_BYTES = 1 << 20
MAX_BYTES = 1 << 30
ALIGN = 64
#: The arguments whose arrays the student may not change, per call kind.
WATCHED: dict[type, tuple[str, ...]] = {
    ForwardCall: ("params", "X"),
    GradientCall: ("params", "X", "Y"),
    LossCall: ("AL", "Y"),
    UpdateCall: ("params", "grads"),
    RegularisedCall: ("params", "X", "Y"),
}


class SharedInputs:
    """One worker's shared input memory; :meth:`begin` starts laying out a batch."""

    def __init__(self) -> None:
        self.fd = os.memfd_create("bpcheck-inputs", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        self.size = 0
        self._map: mmap.mmap | None = None
        self._grow(FIRST_BYTES)
        fcntl.fcntl(self.fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL)
        self._used = 0
        self._snapshot = b""

    def _grow(self, size: int) -> None:
        """Map ``size`` bytes (what was written stays: the memory only grows; past
        what a worker may have grown it to itself, which the seal lets it do)."""
        if self._map is not None:
            self._map.close()
        size = max(size, os.fstat(self.fd).st_size)
        os.ftruncate(self.fd, size)
        self.size = size
        self._map = mmap.mmap(self.fd, size)

    def begin(self) -> None:
        """Start laying out a new batch: :meth:`reference` then writes each input."""
        self._used = 0
        self._snapshot = b""

    def seal(self) -> None:
        """Remember the batch's inputs as written, for :meth:`changed`."""
        assert self._map is not None
        self._snapshot = self._map[: self._used]

    def changed(self) -> bool:
        """Whether any byte of the batch's inputs differs from what was written: when
        not, no call changed anything in place, and :meth:`mutated` need not look."""
        assert self._map is not None
        return self._map[: len(self._snapshot)] != self._snapshot

    def reference(self, value: Any) -> dict[str, list[Any]]:
        """Write ``value`` (an array) at the next free place, the memory growing
        (doubling) as a batch needs, up to MAX_BYTES; the reference to it."""
        array = np.ascontiguousarray(value)
        kind = array.dtype
        if not allowed_dtype(kind):
            raise ValueError(f"an input of dtype {kind} cannot be shared")
        offset, size = self._used, array.nbytes
        if offset + size > self.size:
            self._grow_to(offset + size)
        assert self._map is not None
        self._map[offset : offset + size] = array.tobytes()
        self._used += _aligned(size)
        return {"$shared": [offset, kind.str, list(array.shape)]}

    def _grow_to(self, needed: int) -> None:
        if needed > MAX_BYTES:
            raise ValueError(f"a batch's inputs need {needed} bytes; at most {MAX_BYTES} are shared")
        size = self.size
        while size < needed:
            size *= 2
        self._grow(size)

    def mutated(self, call: Call, references: Mapping[str, Any]) -> tuple[str, ...]:
        """What of ``call``'s watched inputs differs now from the grader's own copy,
        named as :func:`~bpcheck._sandbox.execute.mutated_parts` names it."""
        found: list[str] = []
        for name in WATCHED.get(type(call), ()):
            original = getattr(call, name)
            now = self._read(references[name])
            found += mutated_parts(name, original, now)
        return tuple(found)

    def _read(self, reference: Any) -> Any:
        """A copy of what is now at ``reference`` (a dict of them, or one)."""
        if isinstance(reference, dict) and "$shared" not in reference:
            return {key: self._read(item) for key, item in reference.items()}
        offset, dtype, shape = reference["$shared"]
        assert self._map is not None
        count = int(np.prod(shape, dtype=np.int64))
        return np.frombuffer(self._map, np.dtype(dtype), count, offset).reshape(shape).copy()

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
        os.close(self.fd)


def _aligned(size: int) -> int:
    return (size + ALIGN - 1) // ALIGN * ALIGN
