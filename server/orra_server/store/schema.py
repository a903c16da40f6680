"""The tables: DDL and the matching Arrow schemas the group-commit writer appends with.

JSON values are stored as JSON text; times as naive UTC ``TIMESTAMP``. Column order here is the
order of every row dict the writer receives.
"""

from __future__ import annotations

import pyarrow as pa

__all__ = ["ARROW_SCHEMAS", "DDL", "KEYS", "PROJECTED"]

_TS = pa.timestamp("us")

ARROW_SCHEMAS: dict[str, pa.Schema] = {
    "projects": pa.schema(
        [
            ("id", pa.string()),
            ("name", pa.string()),
            ("webhook_secret", pa.string()),
            ("created_at", _TS),
        ]
    ),
    "api_keys": pa.schema(
        [
            ("key_hash", pa.string()),
            ("project_id", pa.string()),
            ("name", pa.string()),
            ("created_at", _TS),
        ]
    ),
    "webhooks": pa.schema([("project_id", pa.string()), ("url", pa.string()), ("created_at", _TS)]),
    "services": pa.schema(
        [
            ("id", pa.string()),
            ("project_id", pa.string()),
            ("name", pa.string()),
            ("kind", pa.string()),
            ("description", pa.string()),
            ("input_schema", pa.string()),
            ("output_schema", pa.string()),
            ("revertible", pa.bool_()),
            ("version", pa.int64()),
            ("created_at", _TS),
            ("updated_at", _TS),
            ("policy", pa.string()),  # timeout and retry overrides given at registration
            ("requires_approval", pa.bool_()),  # every task waits for a person's approval
        ]
    ),
    "plan_cache": pa.schema(
        [
            ("key", pa.string()),  # sha-256 of the cache key (project, action shape, …)
            ("project_id", pa.string()),
            ("plan", pa.string()),
            ("provenance", pa.string()),
            ("created_at", _TS),
        ]
    ),
    "groundings": pa.schema(
        [
            ("project_id", pa.string()),
            ("name", pa.string()),
            ("domain", pa.string()),
            ("version", pa.string()),
            ("spec", pa.string()),
            ("created_at", _TS),
            ("updated_at", _TS),
            ("deleted_at", _TS),  # kept, not removed: a re-apply after a delete is an update
        ]
    ),
    "orchestrations": pa.schema(
        [
            ("id", pa.string()),
            ("project_id", pa.string()),
            ("action", pa.string()),
            ("data", pa.string()),
            ("status", pa.string()),
            ("plan", pa.string()),
            ("result", pa.string()),
            ("error", pa.string()),
            ("webhooks", pa.string()),
            ("created_at", _TS),
            ("start_time", _TS),
            ("end_time", _TS),
            ("options", pa.string()),  # the caller's timeout/retry/grace overrides
            ("parent_id", pa.string()),  # the orchestration this one re-runs, if any
        ]
    ),
    "steps": pa.schema(
        [
            ("orchestration_id", pa.string()),
            ("step_id", pa.string()),
            ("service_id", pa.string()),
            ("component", pa.string()),
            ("status", pa.string()),
            ("input", pa.string()),
            ("output", pa.string()),
            ("error", pa.string()),
            ("attempts", pa.int64()),
            ("idempotency_key", pa.string()),
            ("start_time", _TS),
            ("end_time", _TS),
            ("compensation", pa.string()),  # what a revertible service returned to undo it
            ("approval", pa.string()),  # required, approved or rejected (None: not gated)
        ]
    ),
    "compensations": pa.schema(
        [
            ("orchestration_id", pa.string()),
            ("step_id", pa.string()),
            ("service_id", pa.string()),
            ("component", pa.string()),
            ("status", pa.string()),  # pending, running, completed, partial, failed, expired
            ("reason", pa.string()),  # failed, aborted, cancelled
            ("context", pa.string()),  # the compensationContext payload sent with it
            ("position", pa.int64()),  # order of execution (reverse completion order)
            ("attempts", pa.int64()),
            ("input", pa.string()),
            ("ttl_ms", pa.int64()),
            ("idempotency_key", pa.string()),
            ("result", pa.string()),
            ("error", pa.string()),
            ("created_at", _TS),
            ("start_time", _TS),
            ("end_time", _TS),
        ]
    ),
    "compensation_failures": pa.schema(
        [
            ("id", pa.string()),
            ("project_id", pa.string()),
            ("orchestration_id", pa.string()),
            ("step_id", pa.string()),
            ("service_id", pa.string()),
            ("component", pa.string()),
            ("status", pa.string()),  # pending, resolved, ignored
            ("failure", pa.string()),
            ("resolution", pa.string()),
            ("attempts", pa.int64()),
            ("compensation", pa.string()),
            ("context", pa.string()),
            ("created_at", _TS),
            ("updated_at", _TS),
        ]
    ),
    "compensation_failure_webhooks": pa.schema(
        [("project_id", pa.string()), ("url", pa.string()), ("created_at", _TS)]
    ),
    "deliveries": pa.schema(
        [
            ("id", pa.string()),
            ("project_id", pa.string()),
            ("orchestration_id", pa.string()),
            ("kind", pa.string()),  # orchestration, compensation_failure
            ("url", pa.string()),
            ("body", pa.string()),
            ("status", pa.string()),  # pending, delivered, failed
            ("attempts", pa.int64()),
            ("last_status", pa.int64()),
            ("last_error", pa.string()),
            ("next_attempt_at", _TS),
            ("created_at", _TS),
            ("delivered_at", _TS),
        ]
    ),
    "events": pa.schema(
        [
            ("seq", pa.int64()),
            ("orchestration_id", pa.string()),
            ("step_id", pa.string()),
            ("type", pa.string()),
            ("occurred_at", _TS),
            ("payload", pa.string()),
            ("snapshot", pa.string()),  # the projected rows this event changed (for replay)
        ]
    ),
    # large values in parts (large.py): ``key`` is table, row key and column
    "large_values": pa.schema([("key", pa.string()), ("part", pa.int64()), ("text", pa.string())]),
}

#: the columns that identify a row of a current-state table (used by updates)
KEYS: dict[str, tuple[str, ...]] = {
    "projects": ("id",),
    "services": ("id",),
    "groundings": ("project_id", "name"),
    "plan_cache": ("key",),
    "orchestrations": ("id",),
    "steps": ("orchestration_id", "step_id"),
    "compensations": ("orchestration_id", "step_id"),
    "compensation_failures": ("id",),
    "deliveries": ("id",),
}

_SQL_TYPES = {pa.string(): "VARCHAR", _TS: "TIMESTAMP", pa.int64(): "BIGINT", pa.bool_(): "BOOLEAN"}


def _ddl(table: str, schema: pa.Schema) -> str:
    columns = [f"{f.name} {_SQL_TYPES[f.type]}" for f in schema]
    if table in KEYS:
        columns.append(f"PRIMARY KEY ({', '.join(KEYS[table])})")
    elif table == "api_keys":
        columns.append("PRIMARY KEY (key_hash)")
    return f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(columns)})"


#: tables whose rows are a projection of the events (written in deferred batches)
PROJECTED = frozenset({"orchestrations", "steps", "compensations", "deliveries"})

#: columns added after a table first shipped: (table, column); files made earlier get them
_ADDED_COLUMNS = [
    ("services", "policy"),
    ("orchestrations", "options"),
    ("steps", "compensation"),
    ("services", "requires_approval"),
    ("steps", "approval"),
    ("orchestrations", "parent_id"),
]

_PROJECTION_STATE = [
    "CREATE TABLE IF NOT EXISTS projection_state (id INTEGER PRIMARY KEY, projected_seq BIGINT)",
    "INSERT OR IGNORE INTO projection_state VALUES (1, 0)",
]

DDL: list[str] = [
    *(_ddl(t, s) for t, s in ARROW_SCHEMAS.items()),
    *(
        f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} "
        f"{_SQL_TYPES[ARROW_SCHEMAS[table].field(column).type]}"
        for table, column in _ADDED_COLUMNS
    ),
    *_PROJECTION_STATE,
    "CREATE INDEX IF NOT EXISTS large_values_key ON large_values (key)",
]
