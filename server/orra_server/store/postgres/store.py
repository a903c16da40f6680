"""The PostgreSQL store: the same reads and verbs as DuckDB's, for several replicas.

Reads share DuckDB's SQL (``store/reads.py``): parameters are written ``?`` there and become
psycopg's ``%s`` here, and the few phrases the dialects say differently are methods
(``_json_text``) or queries of their own (``export.py``). Reads take a connection from a pool
(autocommit: a read never holds a transaction open); every write goes through the
:class:`~orra_server.store.postgres.writer.PostgresWriter` thread.

The URL may hold a password: it is kept for connecting and never logged or shown
(:func:`safe_url` is what a log line or ``/health`` may say).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import psycopg
import pyarrow as pa
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from ..export import EXPORT_SCHEMAS
from ..reads import Reads
from ..verbs import Verbs
from .cluster import REPLICA_ID, ClusterTables, new_replica_id, session_name
from .export import POSTGRES, POSTGRES_EXPORT_TABLES
from .schema import migrate
from .unavailable import reachable
from .url import CONNECT_LIMITS, safe_url
from .writer import PostgresWriter

__all__ = ["PostgresStore"]

log = logging.getLogger("orra.store")


class PostgresStore(Reads, Verbs):
    #: committed rows are readable at once (DuckDB's current-state tables lag their events)
    projection_lags = False

    def __init__(self, url: str, *, pool_size: int = 8, connect_timeout: float = 10.0) -> None:
        self.url = url
        self.path = safe_url(url)
        #: the id this process has as a replica: every session it opens carries it in its
        #: ``application_name``, so a survivor that declares it dead can end them (a frozen
        #: process's session can hold a lock that no timeout of the server ends)
        self.identity = new_replica_id()
        try:
            with psycopg.connect(
                url,
                connect_timeout=int(connect_timeout),
                application_name=session_name("orra-migrate", self.identity),
            ) as connection:
                applied = migrate(connection)
        except psycopg.OperationalError as exc:
            # psycopg's message can quote the connection string: say only where and why
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            reason = reason.replace(url, self.path)
            raise ConnectionError(f"cannot reach PostgreSQL at {self.path}: {reason}") from None
        if applied:
            log.info("PostgreSQL schema migrated to version %d", applied[-1])
        self._pool = _pool(url, "orra-reads", self.identity, pool_size)
        self.writer = PostgresWriter(url, session_name("orra-writer", self.identity))
        #: set by :meth:`join_cluster`
        self.replica_id: str | None = None
        self._cluster_pool = _pool(url, "orra-cluster", self.identity, 2)
        self.cluster = ClusterTables(self._pool, liveness=self._cluster_pool)

    # -- plumbing ----------------------------------------------------------------------------
    def _rows(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[dict[str, Any]]:
        with reachable(), self._pool.connection() as connection:
            return connection.execute(_placeholders(sql), params).fetchall()  # type: ignore[return-value]

    def _owned(self, alias: str = "") -> str:
        return f" AND {alias}owner = '{self.replica_id}'" if self.replica_id else ""

    def _owned_run(self, alias: str = "") -> str:
        if not self.replica_id:
            return ""
        return (
            f" AND {alias}orchestration_id IN "
            f"(SELECT id FROM orchestrations WHERE owner = '{self.replica_id}')"
        )

    def drop_broken_connections(self) -> None:
        """Check the idle pooled connections and replace those the server dropped (it
        restarted): called when the cluster's listener had to reconnect."""
        self._pool.check()
        self._cluster_pool.check()

    def join_cluster(self) -> None:
        """From now on this store is replica :attr:`identity`: the recovery reads are its
        runs, the runs it inserts are its own, and every commit first checks that it is still
        alive (the writer's fence)."""
        if not REPLICA_ID.fullmatch(self.identity):  # it is written into SQL as a literal
            raise ValueError(f"not a replica id: {self.identity!r}")
        self.replica_id = self.identity
        self.writer.replica_id = self.identity

    _dialect = POSTGRES
    _export_queries = POSTGRES_EXPORT_TABLES

    def _arrow(self, table: str, sql: str, params: list[Any]) -> pa.Table:
        return pa.Table.from_pylist(self._rows(sql, params), schema=EXPORT_SCHEMAS[table])

    def close(self) -> None:
        self.writer.close()
        self._pool.close()
        self._cluster_pool.close()


def _pool(url: str, role: str, replica_id: str, size: int) -> ConnectionPool:
    """Autocommit connections named ``role`` (:func:`session_name`), returning dict rows."""
    return ConnectionPool(
        url,
        min_size=1,
        max_size=size,
        kwargs={
            "autocommit": True,
            "row_factory": dict_row,
            # as the writer's: a replica stopped mid-transaction (SIGSTOP) must not hold a
            # lock on its replicas row for ever (a frozen replica's row lock once blocked
            # takeover)
            "options": "-c idle_in_transaction_session_timeout=5000",
            "application_name": session_name(role, replica_id),
            **CONNECT_LIMITS,
        },
        name=role,
        # at most 5 s waiting for a connection (then a 503, not a 30 s stall); one the server
        # dropped is found by its first use (a 503) or by ``drop_broken_connections``, not by
        # a round trip before every read
        timeout=5.0,
        open=True,
    )


#: a ``?`` parameter of the shared SQL (none stands inside a quoted literal there)
_QUESTION = re.compile(r"\?")


def _placeholders(sql: str) -> str:
    """DuckDB's ``?`` as psycopg's ``%s``; a literal ``%`` doubled."""
    return _QUESTION.sub("%s", sql.replace("%", "%%"))
