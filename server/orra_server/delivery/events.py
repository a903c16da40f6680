"""Live orchestration events for server-sent-event streams.

The store calls :meth:`EventBus.publish` on its writer thread after each commit, with the
committed events of the orchestrations :meth:`EventBus.watching` says someone watches (see
``Store.publish_events``): the others cost one set lookup.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from ..store import StoredEvent

__all__ = ["EventBus"]


class EventBus:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watchers: dict[str, set[asyncio.Queue[StoredEvent]]] = {}

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

    def watching(self, orchestration_id: str | None) -> bool:
        """Writer thread: whether an event of this orchestration has anywhere to go."""
        return self._loop is not None and orchestration_id in self._watchers

    def publish(self, events: list[StoredEvent]) -> None:
        """Writer thread: hand the events of watched orchestrations to the loop."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._deliver, events)

    def _deliver(self, events: list[StoredEvent]) -> None:
        for event in events:
            for queue in self._watchers.get(event.orchestration_id or "", ()):
                queue.put_nowait(event)
