"""Follow a run's events: every recorded one, then live ones as they commit, until the run has
told everything (its outcome, its compensation if one runs, and each webhook's first delivery
attempt). Ended at once when the key that opened it is revoked.

The transport frames what this yields (server-sent events in :mod:`..api.executions`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from orra_sdk.vocabulary import ENDING_EVENTS, EventKind

from ..store import StoredEvent
from .lookup import check_orchestration
from .revocation import REVOKED
from .runtime import Runtime

__all__ = ["FollowEvents", "Numbered", "StoredEvent", "follow", "start_following"]


@dataclass(frozen=True, slots=True)
class FollowEvents:
    project_id: str
    orchestration_id: str
    #: the hash of the key that opened the stream: revoking it ends the stream
    key_hash: str
    #: send only what comes after this event number within the run
    after: int = 0


@dataclass(frozen=True, slots=True)
class Numbered:
    """An event row and its number within the run (1, 2, …); ``live``: it came from the
    writer as it committed (its payload still JSON text), not from a read of the store."""

    row: dict[str, Any]
    number: int
    live: bool = False


def start_following(runtime: Runtime, project_id: str, orchestration_id: str) -> None:
    """The checks before a stream opens: a 404 for an orchestration the project does not have."""
    check_orchestration(runtime, project_id, orchestration_id)


class _End:
    """When a stream has told everything: the outcome, the compensation if one runs, and the
    first attempt of each webhook delivery (later retries may take minutes: ``/deliveries``
    has them)."""

    #: seconds a stream waits after the outcome for compensation and first delivery attempts
    settle_timeout = 20.0

    def __init__(self, runtime: Runtime, orchestration_id: str) -> None:
        self.runtime = runtime
        self.orchestration_id = orchestration_id
        self.terminal = False
        self.compensating = False
        self.deadline: float | None = None

    def see(self, kind: str) -> None:
        if kind in ENDING_EVENTS:
            self.terminal = True
        elif kind == EventKind.COMPENSATION_SCHEDULED:
            self.compensating = True
        elif kind == EventKind.COMPENSATIONS_FINISHED:
            self.compensating = False

    async def settled(self) -> bool:
        if not self.terminal:
            return False
        loop = asyncio.get_running_loop()
        if self.deadline is None:
            self.deadline = loop.time() + self.settle_timeout
        if loop.time() >= self.deadline:
            return True
        if self.compensating:
            return False
        await self.runtime.store.sync()  # deliveries are a projection: bring it up to date
        unattempted = await asyncio.to_thread(
            self.runtime.store.unattempted_deliveries, self.orchestration_id
        )
        return unattempted == 0


class _Position:
    """Where a stream is in its run: the newest event seen (by the store's ``seq``, to drop
    what arrives both from the store and live) and its number within the run."""

    def __init__(self) -> None:
        self.seq = 0
        self.number = 0

    def stored(self, row: StoredEvent) -> int:
        self.seq, self.number = row.seq, row.number
        return self.number

    def live(self, row: StoredEvent) -> int | None:
        """The number of a live event, or None when the store already gave it."""
        if row.seq <= self.seq:
            return None
        self.seq = row.seq
        self.number += 1  # a run's events commit in order, one writer: numbers follow
        return self.number


async def follow(
    runtime: Runtime, command: FollowEvents, disconnected: Callable[[], Awaitable[bool]]
) -> AsyncIterator[Numbered | None]:
    """The events to send; None when nothing came for a while (``ORRA_STREAM_KEEPALIVE``).
    ``disconnected``: whether the caller went away (asked only when idle)."""
    orchestration_id, key_hash, last = command.orchestration_id, command.key_hash, command.after
    end = _End(runtime, orchestration_id)
    at = _Position()
    with runtime.events.watch(orchestration_id) as queue, runtime.streams.hold(key_hash, queue):
        if key_hash not in runtime.key_hashes:
            return  # revoked while this stream opened
        # the whole history sets the state (a resumed stream may start after the outcome);
        # only what comes after ``last`` is sent
        stored = await asyncio.to_thread(runtime.store.events_of, orchestration_id, 0)
        for row in stored:
            end.see(row.type)
            if at.stored(row) > last:
                yield Numbered(row, at.number)
        if await end.settled():
            async for item in _rest(runtime, orchestration_id, max(last, at.number)):
                yield item
            return
        while True:
            wait = runtime.settings.stream_keepalive_seconds
            if end.deadline is not None:
                wait = max(0.05, min(wait, end.deadline - asyncio.get_running_loop().time()))
            try:
                row = await asyncio.wait_for(queue.get(), wait)
            except TimeoutError:
                if end.deadline is not None and await end.settled():
                    async for item in _rest(runtime, orchestration_id, max(last, at.number)):
                        yield item
                    return
                if await disconnected():
                    return
                yield None
                continue
            if row is REVOKED:
                return
            number = at.live(row)
            if number is None:
                continue
            end.see(row.type)
            if number > last:
                yield Numbered(row, number, live=True)
            if end.terminal and await end.settled():
                async for item in _rest(runtime, orchestration_id, max(last, at.number)):
                    yield item
                return


async def _rest(
    runtime: Runtime, orchestration_id: str, after: int
) -> AsyncIterator[Numbered | None]:
    """What committed after event number ``after`` but has not reached the stream's queue."""
    for row in await asyncio.to_thread(runtime.store.events_of, orchestration_id, after):
        yield Numbered(row, row.number)
