"""``/export``'s queries in PostgreSQL's words: the same tables, columns and types as DuckDB's
(``store/export.py``), so ``%%orra sql``, the studio's Analytics page and ``orra export`` read
a replica's history as they read the embedded file's."""

from __future__ import annotations

__all__ = ["POSTGRES_EXPORT_TABLES"]

_DURATION_MS = (
    "(floor(extract(epoch FROM {0}.end_time) * 1000) "
    "- floor(extract(epoch FROM {0}.start_time) * 1000))::bigint"
)
_STEPS = "(o.plan::jsonb -> 'steps')"

#: table name → its query; ``{where}`` filters the orchestrations (alias ``o``)
POSTGRES_EXPORT_TABLES: dict[str, str] = {
    "orchestrations": (
        "SELECT o.id AS execution_id, o.action::jsonb ->> 'type' AS action_type, "
        "o.action::jsonb ->> 'content' AS action_content, o.status, "
        "o.created_at, o.start_time, o.end_time, "
        f"{_DURATION_MS.format('o')} AS duration_ms, "
        f"CASE WHEN jsonb_typeof({_STEPS}) = 'array' THEN jsonb_array_length({_STEPS}) END "
        "::bigint AS step_count, o.error, o.data, o.plan, o.result "
        "FROM orchestrations o WHERE {where} ORDER BY o.created_at, o.id"
    ),
    "steps": (
        "SELECT s.orchestration_id AS execution_id, s.step_id, s.component, s.status, "
        "s.attempts, s.start_time, s.end_time, "
        f"{_DURATION_MS.format('s')} AS duration_ms, "
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
