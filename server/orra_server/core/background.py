"""Tasks started and not awaited: held until they end, cancelled together at shutdown.

The event loop keeps only weak references to its tasks, so a task that nobody holds may be
collected before it ends; the engine, the webhook outbox and the runtime keep theirs in one
of these.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any

__all__ = ["Background"]


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coroutine`` as a task of the running loop, held here until it ends."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def __iter__(self) -> Iterator[asyncio.Task[Any]]:
        """The tasks not yet ended (a copy: they leave as they end)."""
        return iter(list(self._tasks))
