"""``GET /export/{table}``: a project's orchestrations, steps and events for analysis.

Other processes never open the DuckDB file (that would break its lock), so notebooks and
dashboards read history here: Arrow IPC stream by default, Parquet, or JSON as a fallback.
"""

from __future__ import annotations

import asyncio
import io
from datetime import datetime
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ..core.errors import BadRequest
from ..core.statuses import OrchestrationStatus
from ..store import export_json, utc
from .auth import ProjectId
from .models import ERROR_RESPONSES
from .routing import OrjsonRoute
from .runtime import runtime_of

router = APIRouter(tags=["export"], route_class=OrjsonRoute, responses=ERROR_RESPONSES)

_STATUSES = {s.value for s in OrchestrationStatus}
#: exports built at the same time (the others wait their turn)
EXPORTS_AT_ONCE = 1

MEDIA_TYPES = {
    "arrow": "application/vnd.apache.arrow.stream",
    "parquet": "application/vnd.apache.parquet",
    "json": "application/json",
}

ExportTable = Literal["orchestrations", "steps", "events"]
ExportFormat = Literal["arrow", "parquet", "json"]


def time_or_400(moment: datetime | None, name: str) -> datetime | None:
    """A query's time bound as the store compares it; 400 when it has no UTC equivalent."""
    try:
        return utc(moment)
    except OverflowError:
        raise BadRequest(
            f"{name} {moment.isoformat()} is out of range in UTC; give a time between years 1 "
            "and 9999",
            code="invalid_request",
            param=name,
        ) from None


def _statuses(raw: list[str]) -> list[str]:
    """``status`` may repeat or hold a comma-separated list."""
    wanted = [s.strip().upper() for value in raw for s in value.split(",") if s.strip()]
    unknown = sorted(set(wanted) - _STATUSES)
    if unknown:
        raise BadRequest(
            f"unknown status {', '.join(map(repr, unknown))}; use any of "
            f"{', '.join(sorted(_STATUSES))}",
            code="invalid_status",
            param="status",
        )
    return wanted


def _render(table: pa.Table, name: str, fmt: str) -> bytes:
    if fmt == "json":
        return export_json(table, name)
    sink = io.BytesIO()
    if fmt == "parquet":
        pq.write_table(table, sink)
    else:
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
    return sink.getvalue()


@router.get(
    "/export/{table}",
    responses={200: {"content": {m: {} for m in MEDIA_TYPES.values()}}},
)
async def export_table(
    request: Request,
    project_id: ProjectId,
    table: ExportTable,
    format: ExportFormat | None = Query(
        default=None, description="arrow (IPC stream, the default), parquet or json"
    ),
    since: datetime | None = Query(default=None, description="orchestrations created at or after"),
    until: datetime | None = Query(default=None, description="orchestrations created before"),
    status: list[str] = Query(default=[], description="orchestration status; repeat or a,b"),
) -> Response:
    """Rows of the project's orchestrations whose creation time and status match the filters."""
    if format is None:
        accept = request.headers.get("accept", "")
        format = "json" if "json" in accept and "arrow" not in accept else "arrow"
    runtime = runtime_of(request)
    await runtime.store.sync()  # the current-state tables lag the events by a few ms
    wanted = _statuses(status)
    since, until = time_or_400(since, "since"), time_or_400(until, "until")

    def build() -> bytes:  # off the event loop: a big history takes a while to encode
        rows = runtime.store.export(project_id, table, since=since, until=until, statuses=wanted)
        return _render(rows, table, format)

    async with _turns(request):  # one whole export in memory at a time
        body = await asyncio.to_thread(build)
    return Response(body, media_type=MEDIA_TYPES[format])


def _turns(request: Request) -> asyncio.Semaphore:
    """The app's export gate: an export holds its rows and its encoded body (several times
    the table's size) in memory, so exports take turns rather than add up."""
    state = request.app.state
    gate = getattr(state, "export_turns", None)
    if gate is None:
        gate = state.export_turns = asyncio.Semaphore(EXPORTS_AT_ONCE)
    return gate
