"""What a run recorded, read back: its events as readable log lines, and the webhook
deliveries of its outcome with each attempt."""

from __future__ import annotations

import asyncio
from typing import Any

from orra_sdk.vocabulary import DeliveryStatus, EventKind

from ..core.ids import to_iso
from ..delivery.logbook import log_line
from .lookup import check_orchestration, orchestration
from .runtime import Runtime

__all__ = ["deliveries_of", "logs_of"]


async def logs_of(
    runtime: Runtime, project_id: str, orchestration_id: str, after: int = 0
) -> dict[str, Any]:
    """The events after number ``after`` as lines (``level``, ``message``) with payloads."""
    run = orchestration(runtime, project_id, orchestration_id)
    components = {s.id: s.component for s in run.steps.values()}
    # payloads hold step results (up to a frame, 16 MiB): read and decoded off the loop
    events = await asyncio.to_thread(runtime.store.events_of, orchestration_id, after)
    return {
        "executionId": orchestration_id,
        "status": run.status,
        "logs": [log_line(e, components) for e in events],
    }


async def deliveries_of(runtime: Runtime, project_id: str, orchestration_id: str) -> dict[str, Any]:
    """Webhook deliveries of this orchestration's outcome (and its compensation failures)."""
    check_orchestration(runtime, project_id, orchestration_id)
    await runtime.store.sync()  # deliveries are a projection of the events: bring it up to date
    attempts: dict[str, list[dict[str, Any]]] = {}
    for event in await asyncio.to_thread(runtime.store.events_of, orchestration_id):
        if event.type == EventKind.WEBHOOK_ATTEMPT and isinstance(event.payload, dict):
            payload = event.payload
            attempts.setdefault(payload.get("deliveryId", ""), []).append(
                {
                    "attempt": payload.get("attempt"),
                    "time": to_iso(event.occurred_at),
                    "status": payload.get("status"),
                    "error": payload.get("error"),
                    "outcome": payload.get("outcome"),
                }
            )
    return {
        "executionId": orchestration_id,
        "deliveries": [
            {
                "id": row.id,
                "kind": row.kind,
                "url": row.url,
                "status": row.status,
                "attempts": row.attempts,
                "lastStatus": row.last_status,
                "lastError": row.last_error,
                "nextAttemptAt": to_iso(row.next_attempt_at)
                if row.status == DeliveryStatus.PENDING
                else None,
                "createdAt": to_iso(row.created_at),
                "deliveredAt": to_iso(row.delivered_at),
                "history": attempts.get(row.id, []),
            }
            for row in runtime.store.deliveries_of(orchestration_id)
        ],
    }
