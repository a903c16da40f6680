"""Writing rows into DuckDB tables, for the writer thread and the replay.

A few rows go in one multi-row ``VALUES`` statement (cheaper to plan), many as one Arrow
table; large values go to ``large_values`` in parts (``large.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import duckdb
import pyarrow as pa

from . import large
from .schema import ARROW_SCHEMAS, KEYS

__all__ = ["insert", "replace", "rollback", "update", "write"]


def write(
    cursor: duckdb.DuckDBPyConnection,
    table: str,
    rows: list[dict[str, Any]],
    how: Callable[[duckdb.DuckDBPyConnection, str, list[dict[str, Any]]], None] | None = None,
) -> None:
    """Insert (or ``how``) ``rows``, their large values in parts (``large.py``): a rewritten
    row's old parts go first."""
    rows, parts, keys = large.split(table, rows, KEYS.get(table, ("seq",)))
    if keys and table in KEYS:
        marks = ", ".join("?" * len(keys))
        cursor.execute(f"DELETE FROM large_values WHERE key IN ({marks})", keys)
    (how or insert)(cursor, table, rows)
    if parts:
        insert(cursor, "large_values", parts)


def insert(cursor: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    """A few rows: one multi-row VALUES statement (cheaper to plan); many: one Arrow table."""
    if len(rows) <= 16:
        width = len(ARROW_SCHEMAS[table])
        placeholders = ", ".join(["(" + ", ".join(["?"] * width) + ")"] * len(rows))
        names = ARROW_SCHEMAS[table].names
        params = [row[name] for row in rows for name in names]
        cursor.execute(f"INSERT INTO {table} VALUES {placeholders}", params)
        return
    orra_batch = pa.Table.from_pylist(rows, schema=ARROW_SCHEMAS[table])  # noqa: F841
    cursor.execute(f"INSERT INTO {table} SELECT * FROM orra_batch")


def update(cursor: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    orra_changes = pa.Table.from_pylist(rows, schema=ARROW_SCHEMAS[table])  # noqa: F841
    keys = KEYS[table]
    assignments = ", ".join(
        f"{f.name} = c.{f.name}" for f in ARROW_SCHEMAS[table] if f.name not in keys
    )
    match = " AND ".join(f"{table}.{k} = c.{k}" for k in keys)
    cursor.execute(f"UPDATE {table} SET {assignments} FROM orra_changes AS c WHERE {match}")


def replace(cursor: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    orra_replay = pa.Table.from_pylist(rows, schema=ARROW_SCHEMAS[table])  # noqa: F841
    cursor.execute(f"INSERT OR REPLACE INTO {table} SELECT * FROM orra_replay")


def rollback(cursor: duckdb.DuckDBPyConnection) -> None:
    """Roll back, if a transaction is still open: otherwise DuckDB's "no transaction is
    active" would hide the error that made us roll back."""
    with contextlib.suppress(duckdb.Error):
        cursor.execute("ROLLBACK")
