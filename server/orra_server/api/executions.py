"""Following and steering a running orchestration: cancel, live events, logs, deliveries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from ..core.errors import BadRequest, Conflict
from ..core.grammar import decimal
from ..core.ids import to_iso
from ..core.statuses import OrchestrationStatus
from ..delivery.logbook import log_line
from ..engine import TERMINAL
from ..store import StoredEvent
from .auth import ProjectId
from .models import (
    ERROR_RESPONSES,
    CancelIn,
    answers,
)
from .revocation import REVOKED
from .routing import OrjsonRoute
from .runtime import Runtime, runtime_of
from .schemas import DeliveriesOut, LogsOut, OrchestrationOut

router = APIRouter(tags=["orchestrations"], route_class=OrjsonRoute, responses=ERROR_RESPONSES)

#: seconds between keep-alive comments on an idle event stream
KEEP_ALIVE = 15.0


@router.post(
    "/orchestrations/{orchestration_id}/cancel", **answers(OrchestrationOut, conflicts=True)
)
async def cancel_orchestration(
    request: Request,
    project_id: ProjectId,
    orchestration_id: str,
    body: CancelIn | None = None,
) -> dict[str, Any]:
    """Stop it: no new step starts, running ones are told, completed revertible ones undone."""
    runtime = runtime_of(request)
    run = runtime.orchestration(project_id, orchestration_id)
    live = runtime.engine.runs.get(orchestration_id)
    if live is None or live.finishing:
        status = "ending" if live is not None else run.status
        raise Conflict(
            f"orchestration '{orchestration_id}' is already {status}; only a pending, running "
            "or paused orchestration can be cancelled",
            code="orchestration_finished",
        )
    body = body or CancelIn()
    await runtime.engine.cancel(live, body.reason, body.compensate)
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
        if kind.startswith("orchestration_") and kind.removeprefix("orchestration_").upper() in (
            TERMINAL
        ):
            self.terminal = True
        elif kind == "compensation_scheduled":
            self.compensating = True
        elif kind == "compensations_finished":
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


async def _stream(
    runtime: Runtime, request: Request, orchestration_id: str, key_hash: str, last: int
) -> AsyncIterator[bytes]:
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
                yield _frame(row, at.number)
        if await end.settled():
            async for frame in _rest(runtime, orchestration_id, max(last, at.number)):
                yield frame
            return
        while True:
            wait = KEEP_ALIVE
            if end.deadline is not None:
                wait = max(0.05, min(wait, end.deadline - asyncio.get_running_loop().time()))
            try:
                row = await asyncio.wait_for(queue.get(), wait)
            except TimeoutError:
                if end.deadline is not None and await end.settled():
                    async for frame in _rest(runtime, orchestration_id, max(last, at.number)):
                        yield frame
                    return
                if await request.is_disconnected():
                    return
                yield b": keep-alive\n\n"
                continue
            if row is REVOKED:
                return
            number = at.live(row)
            if number is None:
                continue
            end.see(row.type)
            if number > last:
                yield await _frame_off_loop(row, number)
            if end.terminal and await end.settled():
                async for frame in _rest(runtime, orchestration_id, max(last, at.number)):
                    yield frame
                return


async def _rest(runtime: Runtime, orchestration_id: str, after: int) -> AsyncIterator[bytes]:
    """What committed after event number ``after`` but has not reached the stream's queue."""
    for row in await asyncio.to_thread(runtime.store.events_of, orchestration_id, after):
        yield _frame(row, row.number)


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
    runtime.check_orchestration(project_id, orchestration_id)
    last = _last_event_id(last_event_id, after)
    return StreamingResponse(
        _stream(runtime, request, orchestration_id, request.state.key_hash, last),
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
    runtime = runtime_of(request)
    run = runtime.orchestration(project_id, orchestration_id)
    components = {s.id: s.component for s in run.steps.values()}
    # payloads hold step results (up to a frame, 16 MiB): read and decoded off the loop
    events = await asyncio.to_thread(runtime.store.events_of, orchestration_id, after)
    return {
        "executionId": orchestration_id,
        "status": run.status,
        "logs": [log_line(e, components) for e in events],
    }


@router.get("/orchestrations/{orchestration_id}/deliveries", **answers(DeliveriesOut))
async def orchestration_deliveries(
    request: Request, orchestration_id: str, project_id: ProjectId
) -> dict[str, Any]:
    """Webhook deliveries of this orchestration's outcome (and its compensation failures)."""
    runtime = runtime_of(request)
    runtime.check_orchestration(project_id, orchestration_id)
    await runtime.store.sync()  # deliveries are a projection of the events: bring it up to date
    attempts: dict[str, list[dict[str, Any]]] = {}
    for event in await asyncio.to_thread(runtime.store.events_of, orchestration_id):
        if event.type == "webhook_attempt" and isinstance(event.payload, dict):
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
                "nextAttemptAt": to_iso(row.next_attempt_at) if row.status == "pending" else None,
                "createdAt": to_iso(row.created_at),
                "deliveredAt": to_iso(row.delivered_at),
                "history": attempts.get(row.id, []),
            }
            for row in runtime.store.deliveries_of(orchestration_id)
        ],
    }
