"""Follow a project's activity: which of its orchestrations changed, as they change.

A run list (the studio's Executions page) redraws from the store when a run it may show
changes; it needs the ids, not the events. The bus tells every feed the id of each
orchestration whose events commit, on this replica or another; this keeps the project's own
(one store read per batch, ids only: another project's ids never reach the caller). Ended at
once when the key that opened it is revoked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from .runtime import Runtime

__all__ = ["Changed", "FollowChanges", "follow_changes"]


@dataclass(frozen=True, slots=True)
class FollowChanges:
    project_id: str
    #: the hash of the key that opened the stream: revoking it ends the stream
    key_hash: str


@dataclass(frozen=True, slots=True)
class Changed:
    """Orchestrations of the project that changed; ``everything``: too many changed to list
    (read the whole page again)."""

    execution_ids: list[str]
    everything: bool = False


async def follow_changes(
    runtime: Runtime, command: FollowChanges, disconnected: Callable[[], Awaitable[bool]]
) -> AsyncIterator[Changed | None]:
    """What changed, batch by batch, after a first "everything" once the feed is registered;
    None when nothing did for a while (a keep-alive)."""
    with runtime.events.watch_changes() as feed, runtime.streams.hold(command.key_hash, feed):
        if command.key_hash not in runtime.key_hashes:
            return  # revoked while this stream opened
        # watched from here on: a list read now misses nothing (what changed before the
        # stream opened is in it), so the first frame says "read everything"
        yield Changed([], everything=True)
        while True:
            batch = await feed.take(runtime.settings.stream_keepalive_seconds)
            if feed.ended:
                return
            if batch is None:
                if await disconnected():
                    return
                yield None
                continue
            ids, overflow = batch
            if overflow:
                yield Changed([], everything=True)
                continue
            await runtime.store.projected()  # a new run's row is read from the projection
            own = await asyncio.to_thread(runtime.store.of_project, command.project_id, ids)
            if own:
                yield Changed(own)
