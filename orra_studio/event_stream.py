"""Reading the control plane's server-sent event streams (``GET /orchestrations/ID/events``):
their frames, their timeouts and a wall-clock deadline that keep-alives cannot postpone.

httpx fixes a stream's read timeout when it opens, and the server sends a keep-alive every
15 s on a quiet stream, so a deadline is kept by checking the clock after each line and, when
the next read could run past it, opening the stream again (resumed after the last event) with a
read timeout that ends in time. Used by both clients' ``events``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson

from .errors import ServerUnreachable

__all__ = [
    "ChangesReader",
    "EventFrames",
    "EventReader",
    "events_request",
    "overdue",
    "read_timeout",
    "stream_errors",
]


class EventFrames:
    """Server-sent-event lines in, the JSON event bodies their ``data`` lines carry out."""

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed(self, line: str) -> dict[str, Any] | None:
        if line.startswith("data:"):
            self._data.append(line[5:].lstrip())
        elif line == "" and self._data:
            event = orjson.loads("\n".join(self._data))
            self._data = []
            return event
        return None


def _stream_timeout(idle: float | None) -> httpx.Timeout:
    """For event streams: connect quickly, then wait ``idle`` seconds (None: forever) for each
    read; the server sends a keep-alive every 15 s."""
    return httpx.Timeout(10.0, read=idle)


@contextmanager
def stream_errors(url: str) -> Iterator[None]:
    """An event stream that goes quiet for its idle timeout just ends; a broken connection is
    :class:`ServerUnreachable`."""
    try:
        yield
    except httpx.ReadTimeout:
        return
    except httpx.TransportError as exc:
        raise ServerUnreachable(url, type(exc).__name__) from exc


#: a stream whose next read could carry it this far past its deadline is opened again with a
#: shorter read timeout (a keep-alive resets the read timeout, so a deadline needs this)
DEADLINE_SLACK = 1.0
#: the control plane sends a keep-alive this often on a quiet stream: no read waits longer
KEEPALIVE_SECONDS = 15.0


def read_timeout(idle: float | None, deadline: float | None) -> float | None:
    """How long one read of an event stream may wait: ``idle``, but never past ``deadline``."""
    if deadline is None:
        return idle
    left = max(0.0, deadline - time.monotonic())
    return left if idle is None else min(idle, left)


def overdue(deadline: float | None, read: float | None) -> bool | None:
    """After a line of the stream: True once ``deadline`` has passed, None when the next read
    could wait past it by more than the slack (open the stream again), else False."""
    if deadline is None:
        return False
    left = deadline - time.monotonic()
    if left <= 0:
        return True
    longest = KEEPALIVE_SECONDS if read is None else min(read, KEEPALIVE_SECONDS)
    return None if left < longest - DEADLINE_SLACK else False


def events_request(execution_id: str, after: int, timeout: float | None) -> dict[str, Any]:
    """A stream resumed after event number ``after`` says so as browsers do (Last-Event-ID)."""
    return {
        "method": "GET",
        "url": f"/orchestrations/{execution_id}/events",
        "headers": {"Last-Event-ID": str(after)} if after else None,
        "timeout": _stream_timeout(timeout),
    }


class EventReader:
    """One reading of a run's event stream, however often it is opened: where it resumes, how
    long a read may wait, when it ends. Both clients' ``events`` drive it, each with its own
    kind of I/O."""

    def __init__(
        self, execution_id: str, after: int, idle: float | None, deadline: float | None
    ) -> None:
        self.execution_id, self.after, self.idle, self.deadline = (
            execution_id,
            after,
            idle,
            deadline,
        )
        self.read: float | None = None
        self._again = True
        self._frames = EventFrames()

    def next_request(self) -> dict[str, Any] | None:
        """How to open the stream (again), or None when the reading is over."""
        if not self._again:
            return None
        self.read, self._again = read_timeout(self.idle, self.deadline), False
        if self.read == 0.0:
            return None
        self._frames = EventFrames()
        return events_request(self.execution_id, self.after, self.read)

    def feed(self, line: str) -> tuple[dict[str, Any] | None, bool]:
        """The event ``line`` completes (if any), and whether to stop reading this opening
        (the deadline passed, or the stream is to be opened again with a shorter wait)."""
        event = self._frames.feed(line)
        if event is not None:
            self.after = event.get("seq", self.after)
        late = overdue(self.deadline, self.read)
        self._again = late is None
        return event, late is not False


class ChangesReader:
    """The project's change stream (``GET /activity/events``), read by the same loop as a run's
    events (``_read_events``): opened once, read until the caller stops or the stream drops
    (a keep-alive comes every 15 s, so a read that waits a minute is a dead connection)."""

    def __init__(self) -> None:
        self._opened = False
        self._frames = EventFrames()

    def next_request(self) -> dict[str, Any] | None:
        if self._opened:
            return None
        self._opened = True
        timeout = httpx.Timeout(10.0, read=60.0)
        return {"method": "GET", "url": "/activity/events", "timeout": timeout}

    def feed(self, line: str) -> tuple[dict[str, Any] | None, bool]:
        return self._frames.feed(line), False
