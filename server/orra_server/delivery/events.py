"""Live orchestration events for server-sent-event streams.

The group-commit writer calls :meth:`EventBus.publish` on its thread after each commit, with the
committed event rows (``seq`` set). Only orchestrations someone watches cost anything: the
rows of others are dropped after one set lookup.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["EventBus"]


class EventBus:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watchers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @contextmanager
    def watch(self, orchestration_id: str) -> Iterator[asyncio.Queue[dict[str, Any]]]:
        """A queue of the orchestration's events committed from now on."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._watchers.setdefault(orchestration_id, set()).add(queue)
        try:
            yield queue
        finally:
            watchers = self._watchers.get(orchestration_id)
            if watchers is not None:
                watchers.discard(queue)
                if not watchers:
                    self._watchers.pop(orchestration_id, None)

    def publish(self, rows: list[dict[str, Any]]) -> None:
        """Writer thread: hand the rows of watched orchestrations to the loop."""
        if not self._watchers or self._loop is None:
            return
        watched = [r for r in rows if r.get("orchestration_id") in self._watchers]
        if watched:
            self._loop.call_soon_threadsafe(self._deliver, watched)

    def _deliver(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            for queue in self._watchers.get(row["orchestration_id"], ()):
                queue.put_nowait(row)
