"""The current-state tables as a projection of the events: the writer's operations, the rows
waiting for the next projection batch, the snapshot each event keeps of the rows it changed,
and the replay of those snapshots at start-up (after a crash between a commit and a batch).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from . import large, tables
from .schema import ARROW_SCHEMAS, KEYS

__all__ = [
    "Delete",
    "Insert",
    "Operation",
    "Projection",
    "Update",
    "replay_projection",
    "snapshot_of",
]


@dataclass(slots=True)
class Insert:
    table: str
    row: dict[str, Any]


@dataclass(slots=True)
class Update:
    """Replace the non-key columns of one existing row with ``row`` (a complete row)."""

    table: str
    row: dict[str, Any]


@dataclass(slots=True)
class Delete:
    """Delete the rows of a non-projected table whose columns equal ``match``."""

    table: str
    match: dict[str, Any]


Operation = Insert | Update | Delete


class Projection:
    """Pending current-state rows: key → (is_new, row), newest version wins."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[tuple[Any, ...], tuple[bool, dict[str, Any]]]] = {}
        self.seq = 0
        self.since: float | None = None

    def add(self, op: Insert | Update) -> None:
        table = self.rows.setdefault(op.table, {})
        key = tuple(op.row[k] for k in KEYS[op.table])
        pending = table.get(key)
        is_new = isinstance(op, Insert) or (pending is not None and pending[0])
        table[key] = (is_new, op.row)
        if self.since is None:
            self.since = time.monotonic()

    def __len__(self) -> int:
        return sum(len(t) for t in self.rows.values())

    def put_back(self, failed: Projection) -> None:
        """The rows of a flush that failed, under any newer version of the same row (still an
        insert if either was), so the next flush writes them."""
        for table, keyed in failed.rows.items():
            pending = self.rows.setdefault(table, {})
            for key, (is_new, row) in keyed.items():
                newer = pending.get(key)
                pending[key] = (is_new or newer[0], newer[1]) if newer else (is_new, row)
        if failed.since is not None:
            self.since = failed.since if self.since is None else min(self.since, failed.since)


def snapshot_of(ops: list[Insert | Update]) -> str | None:
    """The JSON an event keeps of the projected rows it changed (timestamps as ISO text)."""
    if not ops:
        return None
    # UTF-8, not ``\uXXXX`` escapes: a non-ASCII result was stored three times its size
    return orjson.dumps(
        [
            [
                op.table,
                {k: v.isoformat() if isinstance(v, datetime) else v for k, v in op.row.items()},
            ]
            for op in ops
        ]
    ).decode()


def replay_projection(connection: duckdb.DuckDBPyConnection) -> int:
    """Apply the snapshots of events newer than the projection mark; returns how many."""
    with connection.cursor() as cursor:  # closed on every path: see _replay
        return _replay(cursor)


def _replay(cursor: duckdb.DuckDBPyConnection) -> int:
    mark = cursor.execute("SELECT projected_seq FROM projection_state WHERE id = 1").fetchall()
    since = int(mark[0][0]) if mark else 0
    found = cursor.execute(
        "SELECT seq, snapshot FROM events WHERE seq > ? AND snapshot IS NOT NULL ORDER BY seq",
        (since,),
    ).fetchall()
    if not found:
        return 0
    snapshots = large.resolve(
        [{"snapshot": snapshot} for _, snapshot in found], partial(large.fetch, cursor)
    )
    latest: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {}
    for item in snapshots:
        for table, row in json.loads(item["snapshot"]):
            for field in ARROW_SCHEMAS[table]:
                if pa.types.is_timestamp(field.type) and isinstance(row.get(field.name), str):
                    row[field.name] = datetime.fromisoformat(row[field.name])
            latest.setdefault(table, {})[tuple(row[k] for k in KEYS[table])] = row
    cursor.execute("BEGIN TRANSACTION")
    for table, keyed in latest.items():
        tables.write(cursor, table, list(keyed.values()), tables.replace)
    cursor.execute("UPDATE projection_state SET projected_seq = ? WHERE id = 1", (found[-1][0],))
    cursor.execute("COMMIT")
    return len(found)
