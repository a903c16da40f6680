"""Streams held open by an API key, so that revoking the key ends them at once.

A server-sent-event stream is authorised once, when it opens; without this it would go on
delivering events for as long as its orchestration runs, whatever happened to its key. Each
stream registers its event queue under the hash of the key that opened it; revoking or rotating
the key puts an end marker in every such queue, and the stream returns when it reads it. (Service
websockets are closed by :meth:`~..connections.ServiceHub.close_key`, code 4001.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

__all__ = ["REVOKED", "KeyStreams", "Stream"]

#: put in a stream's queue when its key is revoked: the stream ends when it reads it
REVOKED: dict[str, Any] = {"type": "api_key_revoked"}


class Stream(Protocol):
    """What a stream reads from: an event queue, or a change feed."""

    def put_nowait(self, item: dict[str, Any], /) -> None: ...


class KeyStreams:
    """key hash → the event queues of the streams that key opened."""

    def __init__(self) -> None:
        self._open: dict[str, set[Stream]] = {}

    @contextmanager
    def hold(self, key_hash: str, queue: Stream) -> Iterator[None]:
        queues = self._open.setdefault(key_hash, set())
        queues.add(queue)
        try:
            yield
        finally:
            queues.discard(queue)
            if not queues and self._open.get(key_hash) is queues:
                del self._open[key_hash]

    def end(self, key_hash: str) -> int:
        """Tell every stream opened with this key to end; returns how many."""
        queues = self._open.pop(key_hash, set())
        for queue in queues:
            queue.put_nowait(REVOKED)
        return len(queues)
