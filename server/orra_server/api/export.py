"""``GET /export/{table}``: a project's orchestrations, steps and events for analysis (the
format chosen by ``format`` or the ``Accept`` header)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ..control.export import Export, ExportFormat, ExportTable, export
from .auth import ProjectId
from .models import ERROR_RESPONSES
from .routing import OrjsonRoute
from .runtime import runtime_of

router = APIRouter(tags=["export"], route_class=OrjsonRoute, responses=ERROR_RESPONSES)

MEDIA_TYPES = {
    "arrow": "application/vnd.apache.arrow.stream",
    "parquet": "application/vnd.apache.parquet",
    "json": "application/json",
}


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
    command = Export(project_id, table, format, (since, until), tuple(status))
    body = await export(runtime_of(request), command)
    return Response(body, media_type=MEDIA_TYPES[format])
