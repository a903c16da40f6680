"""Live orchestration events for server-sent-event streams.

The store calls :meth:`EventBus.publish` on its writer thread after each commit, with the
committed events of the orchestrations :meth:`EventBus.watching` says someone watches (see
``Store.publish_events``): the others cost one set lookup.

A :class:`ChangeFeed` is told only *which* orchestrations changed (a list page redraws from
the store; it needs no event bodies): it holds each id once until read, up to a bound past which
it says "read everything again" instead of growing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..store import StoredEvent

__all__ = ["ChangeFeed", "EventBus"]


class ChangeFeed:
    """The ids of orchestrations whose events committed since the last :meth:`take`, each
    once. Bounded: past :attr:`limit` ids it drops them and reports an overflow instead."""

    limit = 1000

    def __init__(self) -> None:
        self._ids: dict[str, None] = {}
        self._overflow = False
        self.ended = False
        self._ready = asyncio.Event()

    def add(self, orchestration_id: str | None) -> None:
        if orchestration_id is None:
            return
        if len(self._ids) >= self.limit:
            self._overflow = True
        else:
            self._ids[orchestration_id] = None
        self._ready.set()

    def put_nowait(self, _item: object, /) -> None:
        """The key that opened the feed was revoked (:class:`~..control.revocation.KeyStreams`)."""
        self.ended = True
        self._ready.set()

    async def take(self, timeout: float) -> tuple[list[str], bool] | None:
        """``(ids, overflow)`` once something changed, or None after ``timeout`` seconds of
        nothing."""
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return None
        self._ready.clear()
        ids, overflow = list(self._ids), self._overflow
        self._ids, self._overflow = {}, False
        return ids, overflow


class EventBus:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watchers: dict[str, set[asyncio.Queue[StoredEvent]]] = {}
        #: watched runs owned by another replica → the number of the last event read back
        self._read_up_to: dict[str, int] = {}
        self._reading: dict[str, asyncio.Lock] = {}
        self._feeds: set[ChangeFeed] = set()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @contextmanager
    def watch(self, orchestration_id: str) -> Iterator[asyncio.Queue[StoredEvent]]:
        """A queue of the orchestration's events committed from now on."""
        queue: asyncio.Queue[StoredEvent] = asyncio.Queue()
        self._watchers.setdefault(orchestration_id, set()).add(queue)
        try:
            yield queue
        finally:
            watchers = self._watchers.get(orchestration_id)
            if watchers is not None:
                watchers.discard(queue)
                if not watchers:
                    self._watchers.pop(orchestration_id, None)
                    self._read_up_to.pop(orchestration_id, None)
                    self._reading.pop(orchestration_id, None)

    @contextmanager
    def watch_changes(self) -> Iterator[ChangeFeed]:
        """A feed of the ids of every orchestration whose events commit from now on (the
        caller keeps those of its project)."""
        feed = ChangeFeed()
        self._feeds.add(feed)
        try:
            yield feed
        finally:
            self._feeds.discard(feed)

    def watching(self, orchestration_id: str | None) -> bool:
        """Writer thread: whether an event of this orchestration has anywhere to go."""
        if self._loop is None:
            return False
        return bool(self._feeds) or orchestration_id in self._watchers

    def publish(self, events: list[StoredEvent]) -> None:
        """Writer thread: hand the events of watched orchestrations to the loop."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._deliver, events)

    def _deliver(self, events: list[StoredEvent], *, to_feeds: bool = True) -> None:
        for event in events:
            for queue in self._watchers.get(event.orchestration_id or "", ()):
                queue.put_nowait(event)
            if to_feeds:
                for feed in self._feeds:
                    feed.add(event.orchestration_id)

    async def committed_elsewhere(
        self, orchestration_ids: list[str], read: Callable[[str, int], list[StoredEvent]]
    ) -> None:
        """Another replica committed events of these runs: the watched ones are read back
        (``read(run, after)``, the store's ``events_of``) from the last event read, in order,
        and delivered. A stream drops what it had already (by ``seq``); a change feed is told
        the ids at once."""
        for feed in self._feeds:
            for orchestration_id in orchestration_ids:
                feed.add(orchestration_id)
        for orchestration_id in orchestration_ids:
            if orchestration_id not in self._watchers:
                continue
            lock = self._reading.setdefault(orchestration_id, asyncio.Lock())
            async with lock:  # one read at a time per run: each starts where the last ended
                after = self._read_up_to.get(orchestration_id, 0)
                rows = await asyncio.to_thread(read, orchestration_id, after)
                if rows and orchestration_id in self._watchers:
                    self._read_up_to[orchestration_id] = rows[-1].number or after
                    self._deliver(rows, to_feeds=False)
