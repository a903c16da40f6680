"""A local DuckDB of a project's history, fed by ``/export`` (never the control plane's file).

The notebook's ``%%orra sql`` and the studio's Analytics page query it. A refresh fetches only
what can have changed: the orchestrations created since the oldest one that had not ended at
the last refresh (or since the newest one, when all had), with their steps and events, and
replaces those rows; the first refresh fetches everything.

``locked`` (the studio) turns off file and network access, caps memory and turns off spilling
to disk (no temporary directory: DuckDB's default is a ``.tmp/`` in the working directory), so
a query typed into a web page can read the project's history and nothing else on the machine.
:meth:`LocalHistory.fetch` bounds a result's rows and bytes while it streams out of DuckDB, in
small Arrow batches, before anything becomes a DataFrame.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orra_sdk.vocabulary import TERMINAL

from .client import Client

__all__ = ["EXPORT_TABLES", "Capped", "LocalHistory", "QueryTooSlow"]

EXPORT_TABLES = ("orchestrations", "steps", "events")
#: rows per Arrow batch read from DuckDB: the most a capped result holds beyond its cap
BATCH_ROWS = 64


class QueryTooSlow(Exception):
    pass


@dataclass(frozen=True)
class Capped:
    """A result cut to a bound: the rows kept, and why it was cut (None: it was whole)."""

    frame: Any  # a pandas DataFrame
    cut: str | None = None


class LocalHistory:
    def __init__(self, *, locked: bool = False, memory_limit: str = "512MB") -> None:
        import duckdb

        config: dict[str, Any] = {}
        if locked:
            # no temp_directory: nothing spills to disk, so no .tmp/ appears in the cwd
            config = {"memory_limit": memory_limit, "temp_directory": ""}
        self._db = duckdb.connect(":memory:", config=config)
        if locked:  # in this order: with external access off, temp_directory is read-only
            self._db.execute("SET enable_external_access = false")
            self._db.execute("SET lock_configuration = true")
        self._since: datetime | None = None
        self._loaded = False
        self._lock = threading.Lock()

    def refresh(self, client: Client) -> dict[str, int]:
        """Bring the local tables up to date; rows fetched per table."""
        with self._lock:
            since = self._since
            fetched = {n: client.export(n, since=since) for n in EXPORT_TABLES}
            cursor = self._db.cursor()
            for name, table in fetched.items():
                cursor.register("_incoming", table)
                if not self._loaded:
                    cursor.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _incoming")
                else:
                    # rows of the refetched orchestrations are replaced, whatever changed in them
                    cursor.execute(
                        f"DELETE FROM {name} WHERE execution_id IN "
                        "(SELECT execution_id FROM orchestrations WHERE created_at >= ?) "
                        "OR execution_id IN (SELECT execution_id FROM _incoming)",
                        [since],
                    )
                    cursor.execute(f"INSERT INTO {name} SELECT * FROM _incoming")
                cursor.unregister("_incoming")
            self._loaded = True
            self._since = self._watermark(cursor)
            return {name: table.num_rows for name, table in fetched.items()}

    def _watermark(self, cursor: Any) -> datetime | None:
        ended = ", ".join(f"'{s}'" for s in sorted(TERMINAL))
        row = cursor.execute(
            "SELECT coalesce(min(created_at) FILTER (WHERE status NOT IN (" + ended + ")), "
            "max(created_at)) FROM orchestrations"
        ).fetchone()
        return row[0] if row else None

    def query(self, sql: str, *, timeout: float | None = None, limit: int | None = None):
        """The result as a DataFrame (at most ``limit`` rows); :class:`QueryTooSlow` after
        ``timeout`` seconds (the query is interrupted)."""
        with self._relation(sql, timeout) as relation:
            if relation is None:
                return None
            return (relation if limit is None else relation.limit(limit)).df()

    def fetch(self, sql: str, *, timeout: float, max_rows: int, max_bytes: int) -> Capped | None:
        """At most ``max_rows`` rows and about ``max_bytes`` bytes of Arrow data: the rows
        stream out of DuckDB in batches of :data:`BATCH_ROWS` and the reading stops at a bound,
        so a huge result never exists in this process whole (only its first batches do)."""
        import pyarrow as pa

        with self._relation(sql, timeout) as relation:
            if relation is None:
                return None
            reader = relation.limit(max_rows + 1).fetch_record_batch(BATCH_ROWS)
            batches, rows, size, cut = [], 0, 0, None
            for batch in reader:
                if rows + batch.num_rows > max_rows:
                    batch, cut = batch.slice(0, max_rows - rows), f"{max_rows:,} rows"
                if size + batch.nbytes > max_bytes:
                    room = (max_bytes - size) / max(batch.nbytes, 1)
                    batch = batch.slice(0, int(batch.num_rows * room))
                    cut = f"{max_bytes / 2**20:g} MiB"
                batches.append(batch)
                rows, size = rows + batch.num_rows, size + batch.nbytes
                if cut is not None:
                    break
            reader.close()
            table = pa.Table.from_batches(batches, schema=reader.schema)
            return Capped(table.to_pandas(), cut)

    @contextmanager
    def _relation(self, sql: str, timeout: float | None) -> Iterator[Any]:
        """The relation ``sql`` makes, read within the ``with`` (interrupted after ``timeout``
        s); None for blank text or a statement that returns no rows."""
        if not sql.strip():
            yield None
            return
        with self._interrupted_after(timeout) as cursor:
            yield cursor.sql(sql)

    @contextmanager
    def _interrupted_after(self, timeout: float | None) -> Iterator[Any]:
        """A cursor whose query is interrupted after ``timeout`` s (:class:`QueryTooSlow`)."""
        cursor = self._db.cursor()
        timer = None
        if timeout is not None:
            timer = threading.Timer(timeout, cursor.interrupt)
            timer.start()
        try:
            yield cursor
        except Exception as exc:
            if timer is not None and not timer.is_alive() and "INTERRUPT" in str(exc).upper():
                raise QueryTooSlow(
                    f"the query ran longer than {timeout:g} s and was stopped"
                ) from exc
            raise
        finally:
            if timer is not None:
                timer.cancel()
            cursor.close()

    def close(self) -> None:
        self._db.close()
