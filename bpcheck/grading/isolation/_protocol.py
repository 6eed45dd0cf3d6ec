"""The grader's side of the worker protocol: batches out, strictly checked replies in.

The grader sends a batch of calls in one message (their input arrays in
shared memory, :mod:`~bpcheck.grading.isolation._shared`); the worker answers
every call and sends the replies together in one message.

Everything read from a worker is treated as forged until checked: the wire
layer (:mod:`~bpcheck.grading.isolation._wire`) bounds sizes and dtypes, and
the decoders here check that a message has exactly the shape its request
calls for (one reply per call; a GradientCall's reply holds AL and
``backward_calls`` gradient dicts, a LossCall's a number, ...) before a
:class:`Reply` is built from it. A message that fails raises
:class:`~bpcheck.grading.isolation._wire.WireError`, and nothing else:
every decoder here is total over whatever JSON and arrays arrive.

Sending and receiving never block past a deadline, and never wait for the end
of a stream: a tick callback runs at least every :data:`TICK` seconds and
may abort the wait (the worker died, its output grew too large).
"""

from __future__ import annotations

import dataclasses
import select
import socket
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bpcheck._sandbox.calls import (
    Call,
    DirectionProbe,
    ForwardCall,
    GradientCall,
    LossCall,
    Probe,
    ProbeCall,
    RegularisedCall,
    Reply,
    StudentError,
    UpdateCall,
)
from bpcheck._sandbox.execute import FUNCTION_OF_CALL, ContractViolation, gradient_arrays
from bpcheck._student import OPTIONAL_ARITY, ApiReport
from bpcheck.grading.isolation import _wire as wire
from bpcheck.grading.isolation._wire import WireError

#: Seconds between checks on the worker while waiting for it.
TICK = 0.05
#: Bytes read from the socket at a time beyond what a message needs.
READ_AHEAD = 1 << 16
#: Seconds the rest of a message has once it has begun to arrive, past the
#: deadline if need be: a reply larger than the socket's buffer waits in the
#: worker for the grader to read it, and the grader may come to it late.
MESSAGE_GRACE = 2.0
MAX_TEXT = 20_000
MAX_NAME = 200
MAX_ENTRIES = 1024

class ChannelTimeout(Exception):
    """The deadline passed before the message was complete."""


class ChannelClosed(Exception):
    """The worker's end of the channel closed (it exited or closed the socket)."""


# ------------------------------------------------------------------ channel


class Channel:
    """The grader's end of a worker's socket, with deadlines on every read and write."""

    def __init__(self, sock: socket.socket, tick: Callable[[], None]) -> None:
        self.sock = sock
        self.sock.setblocking(False)
        self.tick = tick
        #: Bytes received but not yet consumed (at most one read-ahead past a message).
        self._pending = bytearray()

    def _wait(self, events: int, deadline: float) -> None:
        poller = select.poll()
        poller.register(self.sock, events | select.POLLHUP | select.POLLERR)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ChannelTimeout()
            if poller.poll(min(remaining, TICK) * 1000):
                return
            self.tick()

    def send(self, tree: Any, deadline: float, *, trusted: bool = False) -> None:
        """Send ``tree``; ``trusted``: one the grader built itself (:func:`wire.encode_trusted`)."""
        data = memoryview(b"".join((wire.encode_trusted if trusted else wire.encode)(tree)))
        while data:
            if time.monotonic() > deadline:
                raise ChannelTimeout()
            try:
                sent = self.sock.send(data)
            except (BlockingIOError, InterruptedError):
                self._wait(select.POLLOUT, deadline)
                continue
            except OSError as exc:  # EPIPE, ECONNRESET: the worker is gone
                raise ChannelClosed() from exc
            data = data[sent:]

    def receive(self, deadline: float) -> Any:
        pending = self._pending
        read = 0  # bytes of ``pending`` this message has read, dropped at its end
        # Once a message has begun to arrive the worker answered in time: the rest
        # of it (which may not fit the socket's buffer) gets MESSAGE_GRACE from then.
        begun: float | None = time.monotonic() if pending else None

        def read_exact(n: int) -> bytes:
            # n has been checked against the message budget by the wire layer. What
            # has arrived is read even past the deadline (a batch sent ahead may be
            # read late); the deadline binds whenever the worker has not answered yet.
            nonlocal read, begun
            while len(pending) - read < n:
                try:
                    chunk = self.sock.recv(max(n - len(pending) + read, READ_AHEAD))
                except (BlockingIOError, InterruptedError):
                    rest = deadline if begun is None else max(deadline, begun + MESSAGE_GRACE)
                    self._wait(select.POLLIN, rest)
                    continue
                except OSError as exc:
                    raise ChannelClosed() from exc
                if not chunk:
                    raise ChannelClosed()
                begun = time.monotonic() if begun is None else begun
                pending.extend(chunk)
            data = bytes(pending[read : read + n])
            read += n
            return data

        try:
            return wire.read_message(read_exact)
        finally:
            del pending[:read]


# ------------------------------------------------------------------ requests

#: Turns an input array into what the message carries: the array itself, or a
#: reference to it in shared memory (:meth:`SharedInputs.reference`).
Share = Callable[[Any], Any]


def _inline(value: Any) -> Any:
    return np.asarray(value)


def probe_tree(probe: Probe | DirectionProbe, share: Share = _inline) -> dict[str, Any]:
    """One probe of a ProbeCall as a message: its kind and its fields."""
    if isinstance(probe, DirectionProbe):
        direction = {name: share(value) for name, value in probe.direction.items()}
        return {"kind": "DirectionProbe", "direction": direction, "step": float(probe.step)}
    return {"kind": "Probe", **dataclasses.asdict(probe)}


def call_tree(call: Call, share: Share = _inline) -> dict[str, Any]:
    """``call`` as a message: its class name and its fields, arrays through ``share``."""
    fields: dict[str, Any] = {}
    for name, value in vars(call).items():  # a dataclass's fields, in order
        if name == "probes":
            value = [probe_tree(probe, share) for probe in value]
        elif isinstance(value, dict):
            value = {key: share(item) for key, item in value.items()}
        elif isinstance(value, np.ndarray):
            value = share(value)
        fields[name] = value
    return {"kind": type(call).__name__, "fields": fields}


def batch_tree(trees: list[dict[str, Any]]) -> dict[str, Any]:
    """The message of one batch: its calls (the worker maps the shared memory
    again when a reference lies past the end of its mapping)."""
    return {"type": "batch", "calls": trees}


# ------------------------------------------------------------------ replies


def _text(value: Any, what: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise WireError(f"{what} is not a string of at most {limit} characters")
    return value


def _texts(value: Any, what: str, limit: int = MAX_NAME) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_ENTRIES:
        raise WireError(f"{what} is not a list of at most {MAX_ENTRIES} strings")
    return tuple(_text(item, f"an entry of {what}", limit) for item in value)


def _array(value: Any, what: str) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise WireError(f"{what} is not an array")
    return value


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict) or len(value) > MAX_ENTRIES:
        raise WireError(f"{what} is not an object of at most {MAX_ENTRIES} entries")
    for key in value:
        _text(key, f"a key of {what}", MAX_NAME)
    return value


def _arrays(value: Any, what: str) -> dict[str, np.ndarray]:
    return {key: _array(item, f"{what}[{key!r}]") for key, item in _mapping(value, what).items()}


def _keys(tree: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(tree, dict):
        raise WireError("the message is not an object")
    unknown = set(tree) - allowed
    if unknown:
        raise WireError(f"unexpected fields {sorted(unknown)[:5]}"[:300])
    return tree


def student_error(tree: Any) -> StudentError:
    tree = _keys(tree, {"function", "summary", "traceback", "exception"})
    return StudentError(
        _text(tree.get("function"), "error.function", MAX_NAME),
        _text(tree.get("summary"), "error.summary"),
        _text(tree.get("traceback", ""), "error.traceback"),
        _text(tree.get("exception", ""), "error.exception", MAX_NAME),
    )


def expect_type(tree: Any, kind: str) -> dict[str, Any]:
    if not isinstance(tree, dict) or tree.get("type") != kind:
        raise WireError(f"expected a {kind!r} message")
    return tree


def hello_report(tree: Any) -> tuple[ApiReport, str | None]:
    """The :class:`ApiReport` a worker's hello carries (what the adapted module
    lacks, its optional functions, the notebook cells that raised), and its
    ``fatal`` status if any."""
    tree = _keys(
        expect_type(tree, "hello"),
        {"type", "import_error", "problems", "optional", "warnings", "fatal"},
    )
    fatal = _fatal(tree)
    problems = _texts(tree.get("problems", []), "problems", MAX_TEXT)
    warnings = _texts(tree.get("warnings", []), "warnings", MAX_TEXT)
    optional = _texts(tree.get("optional", []), "optional")
    if not all(name in OPTIONAL_ARITY for name in optional):
        raise WireError("optional names functions outside the contract")
    error = tree.get("import_error")
    return (
        ApiReport(
            problems=problems,
            import_error=None if error is None else student_error(error),
            optional=frozenset(optional),
            warnings=warnings,
        ),
        fatal,
    )


def _fatal(tree: dict[str, Any]) -> str | None:
    fatal = tree.get("fatal")
    if fatal not in (None, "memory_limit"):
        raise WireError("unknown fatal status")
    return fatal  # type: ignore[no-any-return]


_REPLY_FIELDS = {
    "AL", "gradients", "returned_types", "loss", "params", "probes", "mutated", "cache_dtypes",
    "error",
}  # fmt: skip


def replies_of(tree: Any, calls: list[Call]) -> tuple[list[Reply], str | None]:
    """The replies a batch's message carries, one per call in order, and its
    ``fatal`` status: with one, the replies may stop short (the calls after the
    fatal one were not run)."""
    tree = _keys(expect_type(tree, "replies"), {"type", "replies", "fatal"})
    fatal = _fatal(tree)
    replies = tree.get("replies")
    if not isinstance(replies, list) or len(replies) > len(calls):
        raise WireError(f"expected a list of at most {len(calls)} replies")
    if fatal is None and len(replies) != len(calls):
        raise WireError(f"expected {len(calls)} replies, got {len(replies)}")
    return [reply_of(item, call) for item, call in zip(replies, calls)], fatal


def reply_of(tree: Any, call: Call) -> Reply:
    """The :class:`Reply` one entry of a batch's replies carries for ``call``.

    Gradients arrive as arrays the worker converted, with the types it names
    (``returned_types``: the worker's word, as whether a value was an array
    always was); anything else in them (lists and numbers as JSON, from a
    worker whose harness was tampered with) is converted, and its type named,
    here.
    """
    tree = _keys(tree, _REPLY_FIELDS)
    if tree.get("error") is not None:
        return Reply(error=student_error(tree["error"]))
    reply = Reply(
        mutated=_texts(tree.get("mutated", []), "mutated"),
        cache_dtypes=_texts(tree.get("cache_dtypes", []), "cache_dtypes"),
    )
    if isinstance(call, (ForwardCall, GradientCall)):
        reply.AL = _array(tree.get("AL"), "AL")
    if not isinstance(call, (GradientCall, RegularisedCall)) and "returned_types" in tree:
        raise WireError("returned_types in the reply to a call that returns no gradients")
    if isinstance(call, (GradientCall, RegularisedCall)):
        count = call.backward_calls if isinstance(call, GradientCall) else 1
        gradients = tree.get("gradients")
        if not isinstance(gradients, list) or len(gradients) != count:
            raise WireError(f"expected {count} gradient dicts")
        try:
            for index, grads in enumerate(gradients):
                arrays, types = gradient_arrays(_mapping(grads, "a gradient dict"))
                reply.gradients.append(arrays)
                if index == 0:  # what the worker says of the keys it sent, and what is seen here
                    named = _mapping(tree.get("returned_types", {}), "returned_types")
                    said = {
                        key: _text(name, "a returned type", MAX_NAME)
                        for key, name in named.items()
                        if key in arrays
                    }
                    reply.returned_types = {**said, **types}
        except ContractViolation as violation:
            return Reply(error=StudentError(violation.function, str(violation)))
    if isinstance(call, ProbeCall):
        reply.probes = _array(tree.get("probes"), "probes")
    if isinstance(call, (LossCall, RegularisedCall)):
        loss = tree.get("loss")
        if type(loss) not in (int, float):
            raise WireError("the loss is not a number")
        reply.loss = float(loss)
    if isinstance(call, UpdateCall):
        reply.params = _arrays(tree.get("params"), "the parameters")
    return reply


__all__ = [
    "FUNCTION_OF_CALL",
    "Channel",
    "ChannelClosed",
    "ChannelTimeout",
    "batch_tree",
    "call_tree",
    "hello_report",
    "replies_of",
    "reply_of",
]
