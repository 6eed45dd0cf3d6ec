"""The grader's side of the worker protocol: requests out, strictly checked replies in.

Everything read from a worker is treated as forged until checked: the wire
layer (:mod:`bpcheck.grading._wire`) bounds sizes and dtypes, and the
decoders here check that a message has exactly the shape its request calls
for (a GradientCall's reply holds AL and ``backward_calls`` gradient dicts,
a LossCall's a number, ...) before a :class:`Reply` is built from it. A
message that fails raises :class:`~bpcheck.grading._wire.WireError`.

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
    Reply,
    StudentError,
    UpdateCall,
)
from bpcheck._student import OPTIONAL_ARITY, ApiReport
from bpcheck.grading import _wire as wire
from bpcheck.grading._wire import WireError

#: Seconds between checks on the worker while waiting for it.
TICK = 0.05
#: Bytes read from the socket at a time beyond what a message needs.
READ_AHEAD = 1 << 16
MAX_TEXT = 20_000
MAX_NAME = 200
MAX_ENTRIES = 1024

#: The student function a request is charged to when the worker cannot say.
FUNCTION_OF_CALL: dict[type, str] = {
    ForwardCall: "forward",
    GradientCall: "backward",
    ProbeCall: "forward",
    LossCall: "compute_loss",
    UpdateCall: "update",
}


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

    def send(self, tree: Any, deadline: float) -> None:
        data = memoryview(b"".join(wire.encode(tree)))
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

        def read_exact(n: int) -> bytes:
            # n has been checked against the message budget by the wire layer.
            while len(pending) < n:
                if time.monotonic() > deadline:
                    raise ChannelTimeout()
                try:
                    chunk = self.sock.recv(max(n - len(pending), READ_AHEAD))
                except (BlockingIOError, InterruptedError):
                    self._wait(select.POLLIN, deadline)
                    continue
                except OSError as exc:
                    raise ChannelClosed() from exc
                if not chunk:
                    raise ChannelClosed()
                pending.extend(chunk)
            data = bytes(pending[:n])
            del pending[:n]
            return data

        return wire.read_message(read_exact)


# ------------------------------------------------------------------ requests


def probe_tree(probe: Probe | DirectionProbe) -> dict[str, Any]:
    """One probe of a ProbeCall as a message: its kind and its fields."""
    if isinstance(probe, DirectionProbe):
        direction = {name: np.asarray(value) for name, value in probe.direction.items()}
        return {"kind": "DirectionProbe", "direction": direction, "step": float(probe.step)}
    return {"kind": "Probe", **dataclasses.asdict(probe)}


def call_tree(call: Call) -> dict[str, Any]:
    """``call`` as a message: its class name and its fields."""
    fields = {}
    for spec in dataclasses.fields(call):  # type: ignore[arg-type]
        value = getattr(call, spec.name)
        if spec.name == "probes":
            value = [probe_tree(probe) for probe in value]
        elif isinstance(value, dict):
            value = {name: np.asarray(item) for name, item in value.items()}
        fields[spec.name] = value
    return {"type": "call", "kind": type(call).__name__, "fields": fields}


# ------------------------------------------------------------------ replies


def _text(value: Any, what: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise WireError(f"{what} is not a string of at most {limit} characters")
    return value


def _array(value: Any, what: str) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise WireError(f"{what} is not an array")
    return value


def _arrays(value: Any, what: str) -> dict[str, np.ndarray]:
    if not isinstance(value, dict) or len(value) > MAX_ENTRIES:
        raise WireError(f"{what} is not a dict of arrays")
    return {
        _text(key, f"a key of {what}", MAX_NAME): _array(item, f"{what}[{key!r}]")
        for key, item in value.items()
    }


def _keys(tree: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(tree, dict):
        raise WireError("the message is not an object")
    unknown = set(tree) - allowed
    if unknown:
        raise WireError(f"unexpected fields {sorted(unknown)[:5]}")
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
    """The :class:`ApiReport` a worker's hello carries, and its ``fatal`` status if any."""
    tree = _keys(
        expect_type(tree, "hello"), {"type", "import_error", "problems", "optional", "fatal"}
    )
    fatal = _fatal(tree)
    problems = tree.get("problems", [])
    optional = tree.get("optional", [])
    if not isinstance(problems, list) or len(problems) > MAX_ENTRIES:
        raise WireError("problems is not a list")
    if not isinstance(optional, list) or not all(name in OPTIONAL_ARITY for name in optional):
        raise WireError("optional names functions outside the contract")
    error = tree.get("import_error")
    return (
        ApiReport(
            problems=tuple(_text(problem, "a problem") for problem in problems),
            import_error=None if error is None else student_error(error),
            optional=frozenset(optional),
        ),
        fatal,
    )


def _fatal(tree: dict[str, Any]) -> str | None:
    fatal = tree.get("fatal")
    if fatal not in (None, "memory_limit"):
        raise WireError("unknown fatal status")
    return fatal


def reply_of(tree: Any, call: Call) -> tuple[Reply, str | None]:
    """The :class:`Reply` a message carries for ``call``, and its ``fatal`` status if any."""
    tree = _keys(
        expect_type(tree, "reply"),
        {
            "type",
            "AL",
            "gradients",
            "returned_types",
            "loss",
            "params",
            "probes",
            "mutated",
            "cache_dtypes",
            "error",
            "fatal",
        },
    )
    fatal = _fatal(tree)
    if tree.get("error") is not None:
        return Reply(error=student_error(tree["error"])), fatal
    mutated = tree.get("mutated", [])
    if not isinstance(mutated, list) or len(mutated) > MAX_ENTRIES:
        raise WireError("mutated is not a list")
    cache_dtypes = tree.get("cache_dtypes", [])
    if not isinstance(cache_dtypes, list) or len(cache_dtypes) > MAX_ENTRIES:
        raise WireError("cache_dtypes is not a list")
    returned_types = tree.get("returned_types", {})
    if not isinstance(returned_types, dict) or len(returned_types) > MAX_ENTRIES:
        raise WireError("returned_types is not a dict")
    reply = Reply(
        returned_types={
            _text(key, "a returned_types key", MAX_NAME): _text(value, "a returned type", MAX_NAME)
            for key, value in returned_types.items()
        },
        mutated=tuple(_text(part, "a mutated name", MAX_NAME) for part in mutated),
        cache_dtypes=tuple(_text(name, "a cache dtype", MAX_NAME) for name in cache_dtypes),
    )
    if isinstance(call, (ForwardCall, GradientCall)):
        reply.AL = _array(tree.get("AL"), "AL")
    if isinstance(call, GradientCall):
        gradients = tree.get("gradients")
        if not isinstance(gradients, list) or len(gradients) != call.backward_calls:
            raise WireError(f"expected {call.backward_calls} gradient dicts")
        reply.gradients = [_arrays(grads, "the gradients") for grads in gradients]
    if isinstance(call, ProbeCall):
        reply.probes = _array(tree.get("probes"), "probes")
    if isinstance(call, LossCall):
        loss = tree.get("loss")
        if type(loss) not in (int, float):
            raise WireError("the loss is not a number")
        reply.loss = float(loss)
    if isinstance(call, UpdateCall):
        reply.params = _arrays(tree.get("params"), "the parameters")
    return reply, fatal


__all__ = [
    "FUNCTION_OF_CALL",
    "Channel",
    "ChannelClosed",
    "ChannelTimeout",
    "call_tree",
    "hello_report",
    "reply_of",
]
