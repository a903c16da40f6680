"""Deciding for a run another replica owns: the decision goes to the owner's inbox, and the
answer is the run once the owner has applied it.

On one process every live run is in this engine. With replicas (PostgreSQL) a request may
reach a replica that does not own the run: approving, rejecting or cancelling it there is
checked against the stored state, then handed to the owner (``cluster/replica.py`` applies it
as if asked there) — or, when the owner died, to whoever takes its runs over.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from ..core.errors import ServiceUnavailable
from ..engine import Run
from .lookup import orchestration, owned_elsewhere
from .runtime import Runtime

__all__ = ["forward", "owned_elsewhere"]


async def forward(
    runtime: Runtime,
    run: Run,
    kind: str,
    body: dict[str, Any],
    applied: Callable[[Run], bool],
) -> Run:
    """Hand ``kind`` (approve, reject, cancel) to the run's owner; the run as stored once
    ``applied`` says the owner has done it. 503 when no replica did within the time a
    takeover takes (the decision stays in the inbox and is applied when one does)."""
    assert runtime.cluster is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + runtime.settings.replica_dead_after_seconds + 10
    with runtime.events.watch(run.id) as committed:  # the owner's events reach this replica
        await runtime.cluster.forward(run.id, kind, body)
        while True:
            current = orchestration(runtime, run.project_id, run.id)
            if applied(current):
                return current
            left = deadline - loop.time()
            if left <= 0:
                raise ServiceUnavailable(
                    f"the replica that owns orchestration '{run.id}' has not applied the "
                    f"{kind} yet; it will when that replica (or the one taking its runs over) "
                    "gets to it",
                    code="owner_busy",
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(committed.get(), min(left, 1.0))
