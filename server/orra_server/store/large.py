"""Large values are stored in 8 KiB parts in a table of their own, never in their row.

Why: at each checkpoint DuckDB rewrites a table's last row group, reading its values 2,048
rows at a time, every one in memory at once. With multi-megabyte results in ``events``,
``steps`` and ``orchestrations`` that working set grew with every run (≈ 30 MiB a run of a
6 MB result) and never shrank; under a ``memory_limit`` the checkpoint failed and DuckDB
closed the database (issue 24). In parts, 2,048 rows are at most 16 MiB of text.

A value over :data:`THRESHOLD` characters in one of :data:`LARGE_COLUMNS` is written as
``MARK + key`` and its text as rows ``(key, part, text)`` of ``large_values``; reads put
the text back (:func:`resolve`, :func:`resolve_arrow`), so nothing above the store sees parts.
A row's key is fixed (table, row key, column): rewriting the row replaces its parts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "LARGE_COLUMNS",
    "MARK",
    "PART",
    "THRESHOLD",
    "fetch",
    "resolve",
    "resolve_arrow",
    "split",
]

#: starts a stored reference; no JSON text and no error message starts with NUL
MARK = "\x00orra-large:"
#: values longer than this (in characters) are stored in parts
THRESHOLD = 64 * 1024
#: characters per part
PART = 8 * 1024
#: the columns that may hold a large value (never one that SQL reads into: action, plan)
LARGE_COLUMNS: dict[str, frozenset[str]] = {
    "events": frozenset({"payload", "snapshot"}),
    "orchestrations": frozenset({"data", "result", "error"}),
    "steps": frozenset({"input", "output", "error"}),
    "compensations": frozenset({"input", "result", "error"}),
    "deliveries": frozenset({"body"}),
}

Fetch = Callable[[list[str]], dict[str, str]]


def split(
    table: str, rows: list[dict[str, Any]], key_columns: Iterable[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """``rows`` with their large values replaced by references (copies; the originals are
    left alone), the parts to insert, and the keys whose old parts must go first."""
    columns = LARGE_COLUMNS.get(table)
    if not columns:
        return rows, [], []
    key_columns = tuple(key_columns)
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    keys: list[str] = []
    for row in rows:
        large = [c for c in columns if (v := row.get(c)) is not None and len(v) > THRESHOLD]
        if not large:
            out.append(row)
            continue
        row = dict(row)
        identity = "\x1f".join(str(row[k]) for k in key_columns)
        for column in large:
            key = f"{table}\x1f{identity}\x1f{column}"
            text = row[column]
            parts += [
                {"key": key, "part": number, "text": text[start : start + PART]}
                for number, start in enumerate(range(0, len(text), PART))
            ]
            keys.append(key)
            row[column] = MARK + key
        out.append(row)
    return out, parts, keys


def _references(rows: list[dict[str, Any]]) -> list[str]:
    return [
        value[len(MARK) :]
        for row in rows
        for value in row.values()
        if value.__class__ is str and value.startswith(MARK)
    ]


def fetch(cursor: Any, keys: list[str]) -> dict[str, str]:
    """The texts of ``keys``, joined from their parts (one query)."""
    unique = sorted(set(keys))
    found: dict[str, list[str]] = {}
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        rows = cursor.execute(
            f"SELECT key, text FROM large_values WHERE key IN ({', '.join('?' * len(chunk))}) "
            "ORDER BY key, part",
            chunk,
        ).fetchall()
        for key, text in rows:
            found.setdefault(key, []).append(text)
    return {key: "".join(parts) for key, parts in found.items()}


def resolve(rows: list[dict[str, Any]], fetch: Fetch) -> list[dict[str, Any]]:
    """Put large values back into ``rows`` (in place); ``fetch`` reads texts by key."""
    wanted = _references(rows)
    if not wanted:
        return rows
    texts = fetch(wanted)
    for row in rows:
        for column, value in row.items():
            if value.__class__ is str and value.startswith(MARK):
                row[column] = texts.get(value[len(MARK) :])
    return rows


def resolve_arrow(table: pa.Table, fetch: Fetch) -> pa.Table:
    """The same for an Arrow table (exports), column by column."""
    for index, field in enumerate(table.schema):
        if not pa.types.is_string(field.type):
            continue
        column = table.column(index)
        if not pc.any(pc.starts_with(column, MARK)).as_py():
            continue
        values = column.to_pylist()
        texts = fetch([v[len(MARK) :] for v in values if v is not None and v.startswith(MARK)])
        values = [
            texts.get(v[len(MARK) :]) if v is not None and v.startswith(MARK) else v for v in values
        ]
        table = table.set_column(index, field, pa.array(values, type=field.type))
    return table
