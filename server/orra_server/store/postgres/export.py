"""``/export``'s phrases in PostgreSQL's words: the same tables, columns and types as DuckDB's
(``store/export.py``), so ``%%orra sql``, the studio's Analytics page and ``orra export`` read
a replica's history as they read the embedded file's."""

from __future__ import annotations

from ..export import ExportDialect, export_tables

__all__ = ["POSTGRES", "POSTGRES_EXPORT_TABLES"]

_STEPS = "(o.plan::jsonb -> 'steps')"

POSTGRES = ExportDialect(
    json_text="({0}::jsonb ->> '{1}')",
    duration_ms=(
        "(floor(extract(epoch FROM {0}.end_time) * 1000) "
        "- floor(extract(epoch FROM {0}.start_time) * 1000))::bigint"
    ),
    step_count=(
        f"(CASE WHEN jsonb_typeof({_STEPS}) = 'array' THEN jsonb_array_length({_STEPS}) END)"
        "::bigint"
    ),
)

#: table name → its query on PostgreSQL
POSTGRES_EXPORT_TABLES: dict[str, str] = export_tables(POSTGRES)
