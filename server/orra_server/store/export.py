"""What ``/export`` offers: a project's orchestrations, steps and events as flat tables.

Flat columns for analysis, JSON values as JSON text, times as the store keeps them (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

import orjson
import pyarrow as pa

__all__ = [
    "DUCKDB",
    "EXPORT_SCHEMAS",
    "EXPORT_TABLES",
    "ExportDialect",
    "ExportFilters",
    "export_json",
    "export_query",
    "export_tables",
]


@dataclass(frozen=True)
class ExportDialect:
    """The phrases the export queries say differently on each backend."""

    #: the text at a key of a JSON column: ``json_text.format(column, key)``
    json_text: str
    #: milliseconds from ``{0}.start_time`` to ``{0}.end_time``
    duration_ms: str
    #: how many steps ``o.plan`` has
    step_count: str


DUCKDB = ExportDialect(
    json_text="json_extract_string({0}, '$.{1}')",
    duration_ms="epoch_ms({0}.end_time) - epoch_ms({0}.start_time)",
    step_count="CAST(json_array_length(json_extract(o.plan, '$.steps')) AS BIGINT)",
)


def export_tables(dialect: ExportDialect) -> dict[str, str]:
    """Table name → its query in ``dialect``; ``{where}`` filters the orchestrations (``o``)."""
    field = dialect.json_text.format
    return {
        "orchestrations": (
            f"SELECT o.id AS execution_id, {field('o.action', 'type')} AS action_type, "
            f"{field('o.action', 'content')} AS action_content, o.status, "
            "o.created_at, o.start_time, o.end_time, "
            f"{dialect.duration_ms.format('o')} AS duration_ms, "
            f"{dialect.step_count} AS step_count, "
            "o.error, o.data, o.plan, o.result "
            "FROM orchestrations o WHERE {where} ORDER BY o.created_at, o.id"
        ),
        "steps": (
            "SELECT s.orchestration_id AS execution_id, s.step_id, s.component, s.status, "
            "s.attempts, s.start_time, s.end_time, "
            f"{dialect.duration_ms.format('s')} AS duration_ms, "
            "s.error, s.input, s.output "
            "FROM steps s JOIN orchestrations o ON o.id = s.orchestration_id WHERE {where} "
            "ORDER BY o.created_at, s.orchestration_id, s.step_id"
        ),
        "events": (
            "SELECT row_number() OVER (PARTITION BY e.orchestration_id ORDER BY e.seq) AS seq, "
            "e.orchestration_id AS execution_id, e.step_id, e.type, e.occurred_at, "
            "e.payload FROM events e JOIN orchestrations o ON o.id = e.orchestration_id "
            "WHERE {where} ORDER BY o.created_at, e.orchestration_id, e.seq"
        ),
    }


#: table name → its query on DuckDB
EXPORT_TABLES: dict[str, str] = export_tables(DUCKDB)

_TIME = pa.timestamp("us")

#: the columns of each export, whichever backend answers it
EXPORT_SCHEMAS: dict[str, pa.Schema] = {
    "orchestrations": pa.schema(
        [
            *(("execution_id", pa.string()), ("action_type", pa.string())),
            *(("action_content", pa.string()), ("status", pa.string())),
            *(("created_at", _TIME), ("start_time", _TIME), ("end_time", _TIME)),
            *(("duration_ms", pa.int64()), ("step_count", pa.int64())),
            *((name, pa.string()) for name in ("error", "data", "plan", "result")),
        ]
    ),
    "steps": pa.schema(
        [
            *((name, pa.string()) for name in ("execution_id", "step_id", "component", "status")),
            *(("attempts", pa.int64()), ("start_time", _TIME), ("end_time", _TIME)),
            ("duration_ms", pa.int64()),
            *((name, pa.string()) for name in ("error", "input", "output")),
        ]
    ),
    "events": pa.schema(
        [
            *(("seq", pa.int64()), ("execution_id", pa.string()), ("step_id", pa.string())),
            *(("type", pa.string()), ("occurred_at", _TIME), ("payload", pa.string())),
        ]
    ),
}


class ExportFilters(TypedDict, total=False):
    """Which orchestrations an export covers: created at or after ``since``, before ``until``,
    in one of ``statuses``."""

    since: datetime | None
    until: datetime | None
    statuses: list[str] | None


def export_query(
    table: str,
    project_id: str,
    since: datetime | None,
    until: datetime | None,
    statuses: list[str] | None,
    queries: dict[str, str] = EXPORT_TABLES,
) -> tuple[str, list[Any]]:
    """The SQL and parameters of one export; ``since`` and ``until`` naive UTC; ``queries``:
    another backend's SQL of the same tables."""
    where = ["o.project_id = ?"]
    params: list[Any] = [project_id]
    if since is not None:
        where.append("o.created_at >= ?")
        params.append(since)
    if until is not None:
        where.append("o.created_at < ?")
        params.append(until)
    if statuses:
        where.append(f"o.status IN ({', '.join('?' for _ in statuses)})")
        params += statuses
    return queries[table].format(where=" AND ".join(where)), params


def export_json(table: pa.Table, name: str) -> bytes:
    """An export as JSON: ``{"table", "count", "rows"}``, times in UTC (``…Z``)."""
    return orjson.dumps(
        {"table": name, "count": table.num_rows, "rows": table.to_pylist()},
        option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z,
    )
