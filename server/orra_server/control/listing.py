"""List: a project's orchestrations a page at a time, filtered and sorted, each with its
current status (the engine's for a live run: the store's rows lag it by a batch)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from orra_sdk.vocabulary import OrchestrationStatus, StepStatus

from ..core.errors import BadRequest
from ..core.ids import to_iso
from ..store import DEFAULT_SORT, Cursor, InvalidCursor, parse_sort
from .export import time_or_400
from .page import Page
from .runtime import Runtime

__all__ = ["DEFAULT_SORT", "ListOrchestrations", "list_orchestrations"]

_STATUSES = {s.value for s in OrchestrationStatus}


@dataclass(frozen=True, slots=True)
class ListOrchestrations:
    project_id: str
    status: str | None = None
    limit: int = 50
    offset: int = 0
    #: a previous page's ``nextCursor``: the page after it
    cursor: str | None = None
    sort: str = DEFAULT_SORT
    #: the action type, exactly
    action_type: str | None = None
    #: text in the action's content (any case)
    text: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def list_orchestrations(runtime: Runtime, command: ListOrchestrations) -> Page:
    status = command.status
    if status is not None:
        status = status.upper()
        if status not in _STATUSES:
            raise BadRequest(
                f"unknown status {status!r}; use one of {', '.join(sorted(_STATUSES))}",
                code="invalid_status",
                param="status",
            )
    sort, limit, offset = command.sort, command.limit, command.offset
    after = _cursor_or_400(command.cursor, sort, offset)
    await runtime.store.sync()  # the current-state tables lag the events by a few ms
    rows = runtime.store.orchestrations_of(
        command.project_id,
        status=status,
        action_type=command.action_type or None,
        text=command.text or None,
        since=time_or_400(command.since, "since"),
        until=time_or_400(command.until, "until"),
        sort=sort,
        after=after,
        limit=limit + 1,
        offset=offset,
    )
    more, rows = len(rows) > limit, rows[:limit]
    counts = runtime.store.step_counts([row.id for row in rows])
    items = []
    for row in rows:
        live = runtime.engine.runs.get(row.id)
        done, planned = counts.get(row.id, (0, 0))
        if live is not None:  # ahead of the store by a few ms
            steps = live.steps.values()
            done, planned = sum(s.status == StepStatus.COMPLETED for s in steps), len(steps)
        items.append(
            {
                "executionId": row.id,
                "status": live.status if live else row.status,
                "action": row.action,
                "createdAt": to_iso(row.created_at),
                "startTime": to_iso(row.start_time),
                "endTime": to_iso(row.end_time),
                "error": row.error,
                "stepsCompleted": done,
                "stepsPlanned": planned,
            }
        )
    next_cursor = Cursor.after(sort, rows[-1]).encode() if more else None
    return Page(items, next_cursor)


def _cursor_or_400(cursor: str | None, sort: str, offset: int) -> Cursor | None:
    try:
        parse_sort(sort)
    except ValueError as exc:
        raise BadRequest(str(exc), code="invalid_sort", param="sort") from None
    if cursor is None:
        return None
    if offset:
        raise BadRequest(
            "give either 'cursor' or 'offset', not both", code="invalid_cursor", param="cursor"
        )
    try:
        return Cursor.decode(cursor, sort)
    except InvalidCursor as exc:
        raise BadRequest(
            f"{exc}; pass the nextCursor of the previous page unchanged, with the same sort",
            code="invalid_cursor",
            param="cursor",
        ) from None


async def activity(runtime: Runtime, project_id: str, minutes: int) -> dict[str, Any]:
    """Runs created per minute over the last ``minutes``, by status (the Executions chart)."""
    await runtime.store.sync()
    since = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=minutes - 1)
    found = runtime.store.activity_of(project_id, since)
    buckets = [{"at": to_iso(a.at), "status": a.status, "runs": a.runs} for a in found]
    return {"since": to_iso(since), "bucketSeconds": 60, "buckets": buckets}
