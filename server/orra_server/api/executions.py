"""Following and steering a running orchestration: cancel, live events (server-sent events
framed here), logs, deliveries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from orra_sdk.vocabulary import OrchestrationStatus

from ..control import history
from ..control.cancel import Cancel, cancel
from ..control.changes import Changed, FollowChanges, follow_changes
from ..control.events import FollowEvents, Numbered, StoredEvent, follow, start_following
from ..core.errors import BadRequest
from ..core.grammar import decimal
from ..core.ids import to_iso
from .auth import ProjectId
from .models import (
    ERROR_RESPONSES,
    CancelIn,
    answers,
)
from .routing import OrjsonRoute
from .runtime import runtime_of
from .schemas import DeliveriesOut, LogsOut, OrchestrationOut

router = APIRouter(tags=["orchestrations"], route_class=OrjsonRoute, responses=ERROR_RESPONSES)


@router.post(
    "/orchestrations/{orchestration_id}/cancel", **answers(OrchestrationOut, conflicts=True)
)
async def cancel_orchestration(
    request: Request, project_id: ProjectId, orchestration_id: str, body: CancelIn | None = None
) -> dict[str, Any]:
    """Stop it: no new step starts, running ones are told, completed revertible ones undone."""
    body = body or CancelIn()
    command = Cancel(project_id, orchestration_id, body.reason, body.compensate)
    live = await cancel(runtime_of(request), command)
    return live.body(OrchestrationStatus.CANCELLED)


def _event_body(row: StoredEvent, number: int) -> dict[str, Any]:
    """An event as the API shows it: ``seq`` is its number within the run (1, 2, …)."""
    payload = row.payload
    if isinstance(payload, str):  # straight from the writer: still JSON text
        payload = orjson.loads(payload)
    return {
        "seq": number,
        "type": row.type,
        "stepId": row.step_id,
        "time": to_iso(row.occurred_at),
        "payload": payload,
    }


def _last_event_id(header: str | None, after: int | None) -> int:
    if header is None:
        return after or 0
    number = decimal(header)  # ASCII digits only: '²'.isdigit() is true
    if number is None:
        raise BadRequest(
            f"Last-Event-ID {header[:40]!r} is not an event number; send the 'id' of the last "
            "event you received (a whole number)",
            code="invalid_last_event_id",
            param="Last-Event-ID",
        )
    return number


async def _frames(events: AsyncIterator[Numbered | None]) -> AsyncIterator[bytes]:
    """The events as server-sent-event frames; a comment when the stream idles."""
    async for item in events:
        if item is None:
            yield b": keep-alive\n\n"
        elif item.live:
            yield await _frame_off_loop(item.row, item.number)
        else:
            yield _frame(item.row, item.number)


#: a live event's payload text longer than this is decoded and encoded in a worker thread
_OFF_LOOP_CHARS = 256 * 1024


async def _frame_off_loop(row: StoredEvent, number: int) -> bytes:
    """:func:`_frame` for a live event: its payload is JSON text, a step's result maybe (up to
    a frame, 16 MiB): a large one is handled in a worker thread."""
    payload = row.payload
    if isinstance(payload, str) and len(payload) > _OFF_LOOP_CHARS:
        return await asyncio.to_thread(_frame, row, number)
    return _frame(row, number)


def _frame(row: StoredEvent, number: int) -> bytes:
    body = _event_body(row, number)
    return f"id: {number}\nevent: {body['type']}\ndata: ".encode() + orjson.dumps(body) + b"\n\n"


@router.get(
    "/orchestrations/{orchestration_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_events(
    request: Request,
    project_id: ProjectId,
    orchestration_id: str,
    after: int | None = Query(
        default=None,
        ge=0,
        le=2**62,
        description="start after this event number within the run (as Last-Event-ID)",
    ),
    last_event_id: str | None = Header(default=None, alias="Last-Event-ID"),
) -> StreamingResponse:
    """Server-sent events: every recorded event, then live ones, until the outcome, its
    compensation and each webhook's first delivery attempt are recorded. Resume with
    ``Last-Event-ID``: a finished orchestration's stream sends what is left and ends."""
    runtime = runtime_of(request)
    start_following(runtime, project_id, orchestration_id)
    last = _last_event_id(last_event_id, after)
    command = FollowEvents(project_id, orchestration_id, request.state.key_hash, last)
    return StreamingResponse(
        _frames(follow(runtime, command, request.is_disconnected)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _change_frames(changes: AsyncIterator[Changed | None]) -> AsyncIterator[bytes]:
    async for item in changes:
        if item is None:
            yield b": keep-alive\n\n"
        else:
            body = {"executionIds": item.execution_ids, "everything": item.everything}
            yield b"event: changed\ndata: " + orjson.dumps(body) + b"\n\n"


@router.get(
    "/activity/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_changes(request: Request, project_id: ProjectId) -> StreamingResponse:
    """Server-sent events, one ``changed`` event per batch: ``{"executionIds": [...],
    "everything": false}`` names the project's orchestrations whose events just committed
    (``everything``: read the list again — the first event, once the stream watches, and
    whenever too many changed to list). For a live run list; a run's own events are at
    ``/orchestrations/{id}/events``. Never ends on its own."""
    command = FollowChanges(project_id, request.state.key_hash)
    return StreamingResponse(
        _change_frames(follow_changes(runtime_of(request), command, request.is_disconnected)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/orchestrations/{orchestration_id}/logs", **answers(LogsOut))
async def orchestration_logs(
    request: Request,
    project_id: ProjectId,
    orchestration_id: str,
    after: int = Query(
        default=0, ge=0, le=2**62, description="only events after this number within the run"
    ),
) -> dict[str, Any]:
    """The events as readable lines (``level``, ``message``) with their payloads."""
    return await history.logs_of(runtime_of(request), project_id, orchestration_id, after)


@router.get("/orchestrations/{orchestration_id}/deliveries", **answers(DeliveriesOut))
async def orchestration_deliveries(
    request: Request, orchestration_id: str, project_id: ProjectId
) -> dict[str, Any]:
    """Webhook deliveries of this orchestration's outcome (and its compensation failures)."""
    return await history.deliveries_of(runtime_of(request), project_id, orchestration_id)
