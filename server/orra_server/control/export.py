"""Export: a project's orchestrations, steps and events for analysis, as Arrow, Parquet or JSON.

Other processes never open the DuckDB file (that would break its lock), so notebooks and
dashboards read history here. An export holds its rows and its encoded body in memory, so
exports take turns (:attr:`Runtime.export_turns`) rather than add up.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq

from orra_sdk.vocabulary import OrchestrationStatus

from ..core.errors import BadRequest
from ..store import export_json, utc
from .runtime import Runtime

__all__ = ["Export", "ExportFormat", "ExportTable", "export", "time_or_400"]

_STATUSES = {s.value for s in OrchestrationStatus}

ExportTable = Literal["orchestrations", "steps", "events"]
ExportFormat = Literal["arrow", "parquet", "json"]


@dataclass(frozen=True, slots=True)
class Export:
    project_id: str
    table: ExportTable
    format: ExportFormat
    #: orchestrations created at or after the first, before the second (None: open)
    created: tuple[datetime | None, datetime | None] = (None, None)
    #: orchestration statuses; each item may hold a comma-separated list
    status: tuple[str, ...] = ()


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


def _statuses(raw: tuple[str, ...]) -> list[str]:
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


async def export(runtime: Runtime, command: Export) -> bytes:
    """The rows whose creation time and status match, encoded in ``command.format``."""
    await runtime.store.sync()  # the current-state tables lag the events by a few ms
    wanted = _statuses(command.status)
    since, until = command.created
    since, until = time_or_400(since, "since"), time_or_400(until, "until")
    project_id, table, fmt = command.project_id, command.table, command.format

    def build() -> bytes:  # off the event loop: a big history takes a while to encode
        rows = runtime.store.export(project_id, table, since=since, until=until, statuses=wanted)
        return _render(rows, table, fmt)

    async with runtime.export_turns:  # one whole export in memory at a time
        return await asyncio.to_thread(build)
