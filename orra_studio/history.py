"""A local DuckDB of a project's history, fed by ``/export`` (never the control plane's file).

The notebook's ``%%orra sql`` and the studio's Analytics page query it. A refresh fetches only
what can have changed: the orchestrations created since the oldest one that had not ended at
the last refresh (or since the newest one, when all had), with their steps and events, and
replaces those rows; the first refresh fetches everything.

``locked`` (the studio) turns off file and network access and caps memory, so a query typed
into a web page can read the project's history and nothing else on the machine.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from .client import Client
from .statuses import TERMINAL_STATUSES

__all__ = ["EXPORT_TABLES", "LocalHistory", "QueryTooSlow"]

EXPORT_TABLES = ("orchestrations", "steps", "events")


class QueryTooSlow(Exception):
    pass


class LocalHistory:
    def __init__(self, *, locked: bool = False, memory_limit: str = "512MB") -> None:
        import duckdb

        config: dict[str, Any] = {}
        if locked:
            config = {
                "enable_external_access": False,
                "memory_limit": memory_limit,
                "lock_configuration": True,
            }
        self._db = duckdb.connect(":memory:", config=config)
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
        ended = ", ".join(f"'{s}'" for s in sorted(TERMINAL_STATUSES))
        row = cursor.execute(
            "SELECT coalesce(min(created_at) FILTER (WHERE status NOT IN (" + ended + ")), "
            "max(created_at)) FROM orchestrations"
        ).fetchone()
        return row[0] if row else None

    def query(self, sql: str, *, timeout: float | None = None, limit: int | None = None):
        """The result as a DataFrame (at most ``limit`` rows); :class:`QueryTooSlow` after
        ``timeout`` seconds (the query is interrupted)."""
        if not sql.strip():
            return None
        cursor = self._db.cursor()
        timer = None
        if timeout is not None:
            timer = threading.Timer(timeout, cursor.interrupt)
            timer.start()
        try:
            relation = cursor.sql(sql)
            if relation is None:
                return None
            if limit is not None:
                relation = relation.limit(limit)
            return relation.df()
        except Exception as exc:
            if timer is not None and not timer.is_alive() and "INTERRUPT" in str(exc).upper():
                raise QueryTooSlow(
                    f"the query ran longer than {timeout:g} s and was stopped"
                ) from exc
            raise
        finally:
            if timer is not None:
                timer.cancel()

    def close(self) -> None:
        self._db.close()
