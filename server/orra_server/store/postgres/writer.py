"""Group commit on PostgreSQL: every write of this replica goes through one thread and one
connection, as on DuckDB (``store/writer.py``), so that under load many callers share a commit.

Unlike DuckDB, PostgreSQL charges little per statement, so there is no projection to defer:
the current-state rows go in the same transaction as the events that changed them, and a read
on any replica sees them as soon as the commit returns. Event numbers come from a sequence
(several replicas commit events at once), taken for the whole batch in one round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby
from typing import Any

import orjson
import psycopg

from ..handoff import Handoff, resolve, retry_piecewise
from ..projection import Delete, Insert, Operation, Update
from ..records import DuplicateKey
from ..schema import ARROW_SCHEMAS, KEYS
from .cut_commit import outcome_of
from .unavailable import as_unavailable
from .url import CONNECT_LIMITS

__all__ = [
    "CHANGES_CHANNEL",
    "CLUSTER_INSERTS",
    "EVENTS_CHANNEL",
    "Fenced",
    "Notify",
    "PostgresWriter",
    "changes_of",
]

log = logging.getLogger("orra.store")

#: tables where adding a row that is already there changes nothing (a URL added twice, at
#: once, on two replicas, is still one webhook)
_IDEMPOTENT_INSERTS = frozenset({"webhooks", "compensation_failure_webhooks"})


class _Flush:
    """A request answered once every write handed over before it has committed."""


@dataclass(slots=True)
class Notify:
    """A ``NOTIFY`` sent with the transaction: the listeners hear it only if it commits."""

    channel: str
    payload: str
    table: str = ""  # (operations are grouped by table)


class Fenced(RuntimeError):
    """This replica was declared dead: its runs belong to others, it may write nothing more."""


#: the channel that says which runs have new events (``payload``: their ids, comma-separated)
EVENTS_CHANNEL = "orra_events"
#: seconds before deferred writes are tried again while the database is away
_AWAY_PAUSE = 1.0
#: seconds a session of the writer may sit in a transaction doing nothing before the server
#: ends it (and rolls the transaction back)
_IDLE_TIMEOUT = 5.0
#: NOTIFY's payload limit is 8,000 bytes
_PAYLOAD_LIMIT = 7900


class PostgresWriter(Handoff):
    """The writer thread; its caller side is that of DuckDB's ``GroupCommitWriter``."""

    def __init__(
        self,
        url: str,
        application_name: str,
        *,
        lazy_interval: float = 0.2,
        max_batch: int = 4096,
    ) -> None:
        self._url = url
        self._application_name = application_name
        #: this replica's id once it joined the cluster: every transaction then checks first
        #: that the replica is still alive (a fence: one declared dead commits nothing), and
        #: the runs it inserts are its own
        self.replica_id: str | None = None
        #: called once, on the writer thread, when the fence refused a commit
        self.on_fenced: Callable[[], None] | None = None
        self.fenced = False
        self._connection = self._connect()
        super().__init__("orra-pg-writer")
        self._lazy: list[Operation] = []
        self._lazy_since: float | None = None
        self._lazy_interval = lazy_interval
        self._max_batch = max_batch
        self.batches_committed = 0
        #: called on the writer thread with each committed batch's event rows (seq set)
        self.on_events: Callable[[list[dict[str, Any]]], None] | None = None
        self._thread.start()

    def _connect(self) -> psycopg.Connection:
        # a replica stopped mid-transaction (SIGSTOP) must not hold its fence's lock for
        # ever: the server ends such a session, and the takeover waiting on it goes on
        return psycopg.connect(
            self._url,
            application_name=self._application_name,
            options=f"-c idle_in_transaction_session_timeout={int(_IDLE_TIMEOUT * 1000)}",
            **CONNECT_LIMITS,
        )

    # -- caller side -------------------------------------------------------------------------
    async def sync(self) -> None:
        await self.when_projected()

    def when_projected(self) -> asyncio.Future[None]:
        """Resolved once everything handed over before has committed (lazy writes too):
        there is no projection to wait for."""
        return self._ask([_Flush()])

    def _closed(self) -> None:
        self._connection.close()

    # -- writer thread -----------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            due = None if self._lazy_since is None else self._lazy_since + self._lazy_interval
            taken = self._take(due, self._max_batch)
            if taken is None:  # the lazy writes are due
                self._commit([])
                continue
            batch, stop = taken
            if stop or any(future is not None for _, _, future in batch):
                self._commit(batch)  # its deferred items ride in place, in handed order
            else:
                for ops, _, _ in batch:
                    self._lazy.extend(ops)
                if self._lazy_since is None:
                    self._lazy_since = time.monotonic()
            if stop:
                return

    def _commit(self, items: list[Any]) -> None:
        """Commit the deferred writes of earlier batches, then ``items`` in the order they
        were handed over, in one transaction; one bad item fails alone (the rest are tried
        again piece by piece)."""
        carried, self._lazy, self._lazy_since = self._lazy, [], None
        waiting = [item for item in items if item[2] is not None]
        work = [op for ops, _, _ in items for op in ops if not isinstance(op, _Flush)]
        try:
            self._apply([*carried, *work])
            resolve(waiting, None)
            return
        except Exception as exc:
            away = as_unavailable(exc)
            if away is not exc:
                # the database is away: every item would fail the same way, so nothing is
                # tried again now (a commit cut off mid-way was asked after: it did not
                # happen, or nobody could tell); the deferred writes wait for the next
                # commit, the callers hear 503
                self._keep([*carried, *(op for ops, _, f in items if f is None for op in ops)])
                if waiting:
                    log.warning("the database is away (%s): %d write(s) refused", exc, len(waiting))
                resolve(waiting, away)
                return
            log.warning("batch of %d failed (%s); retrying items one by one", len(waiting), exc)
        retry_piecewise(
            [(carried, None, None), *items],
            lambda ops: self._apply([op for op in ops if not isinstance(op, _Flush)]),
            self._heard,
            self._gone,
            self._keep,
        )

    @staticmethod
    def _heard(exc: Exception) -> BaseException:
        """What a caller hears of its item's failure."""
        if isinstance(exc, psycopg.errors.UniqueViolation):
            return DuplicateKey(str(exc).splitlines()[0])
        return as_unavailable(exc)

    @staticmethod
    def _gone(exc: Exception) -> bool:
        """Nothing more can be written now: the database went away, or this replica was
        fenced."""
        return isinstance(exc, Fenced) or as_unavailable(exc) is not exc

    def _keep(self, ops: list[Operation]) -> None:
        """Deferred writes not written because the database is away: tried again a second
        from now, not every lazy interval (a fenced replica's are dropped: it writes nothing
        more)."""
        if self.fenced or not ops:
            return
        self._lazy.extend(ops)
        self._lazy_since = time.monotonic() + _AWAY_PAUSE

    def _apply(self, ops: list[Operation]) -> None:
        if not ops:
            return
        if self._connection.closed or self._connection.broken:
            self._connection = self._connect()  # the server restarted: a new session
        events = [op.row for op in ops if isinstance(op, Insert) and op.table == "events"]
        if self.fenced:
            raise Fenced("this replica was declared dead; it writes nothing more")
        connection = self._connection
        try:
            with connection.cursor() as cursor:
                transaction = self._begin(cursor)  # its id: was a commit cut off done?
                if events:
                    cursor.execute(
                        "SELECT nextval('events_seq') FROM generate_series(1, %s)", (len(events),)
                    )
                    for row, (seq,) in zip(events, sorted(cursor.fetchall()), strict=True):
                        row["seq"] = seq
                for (kind, table), group in groupby(ops, lambda op: (type(op), op.table)):
                    _execute(cursor, kind, table, list(group), self.replica_id)
                for payload in _run_lists({row["orchestration_id"] or "" for row in events}):
                    cursor.execute("SELECT pg_notify(%s, %s)", (EVENTS_CHANNEL, payload))
                changes = changes_of(ops)
                if changes:
                    payload = orjson.dumps({"from": self.replica_id, "changes": changes})
                    if len(payload) > _PAYLOAD_LIMIT:  # too many to list: forget everything
                        payload = orjson.dumps({"from": self.replica_id, "changes": [["all"]]})
                    cursor.execute("SELECT pg_notify(%s, %s)", (CHANGES_CHANNEL, payload.decode()))
        except BaseException:
            self._undo(connection, events)
            raise
        try:
            connection.commit()
        except BaseException as exc:
            if not (as_unavailable(exc) is not exc and self._committed_after_all(transaction)):
                self._undo(connection, events)
                raise
        self.batches_committed += 1
        if events and self.on_events is not None:
            try:
                self.on_events(events)
            except Exception:
                log.exception("event listener failed")

    def _begin(self, cursor: psycopg.Cursor) -> str:
        """Start the transaction: check the fence (once this replica joined) and learn the
        transaction's id, in one round trip."""
        if self.replica_id is None:
            cursor.execute("SELECT pg_current_xact_id()::text")
            return cursor.fetchone()[0]
        return self._check_fence(cursor)

    @staticmethod
    def _undo(connection: psycopg.Connection, events: list[dict[str, Any]]) -> None:
        if not connection.closed:
            with contextlib.suppress(psycopg.Error):
                connection.rollback()
        for row in events:
            row["seq"] = None

    def _committed_after_all(self, transaction: str) -> bool:
        """The connection went while COMMIT was under way: a new session (which becomes the
        writer's) asks what became of it. One that happened is a commit (its callers
        succeed, its events are published); anything else, or no answer, is not."""
        with contextlib.suppress(psycopg.Error):
            self._connection.close()
        connection, status = outcome_of(transaction, self._connect, _IDLE_TIMEOUT)
        if connection is not None:
            self._connection = connection
        return status == "committed"

    def _check_fence(self, cursor: psycopg.Cursor) -> str:
        """Hold this replica's row (shared) for the transaction, or refuse it: a takeover
        declares a replica dead by updating that row, so it waits for a commit under way, and
        no commit starts after it. The transaction's id."""
        cursor.execute(
            "SELECT status, pg_current_xact_id()::text FROM replicas WHERE id = %s FOR SHARE",
            (self.replica_id,),
        )
        found = cursor.fetchone()
        if found is None or found[0] != "alive":
            self.fenced = True
            if self.on_fenced is not None:
                try:
                    self.on_fenced()
                except Exception:
                    log.exception("the fenced callback failed")
            raise Fenced("this replica was declared dead; it writes nothing more")
        return found[1]


#: the channel that says which cached facts changed (keys, projects, services, groundings,
#: cached plans): every replica drops or updates its copy (``orra_server.cluster``)
CHANGES_CHANNEL = "orra_changes"


def changes_of(ops: list[Operation]) -> list[list[str]]:
    """What other replicas must forget after ``ops`` commit, as short lists:
    ``["key", hash, project or ""]`` (a key added, or revoked when the project is empty),
    ``["project", id]``, ``["service", project, id]``, ``["grounding", project]``,
    ``["plans", project]``."""
    found: list[list[str]] = []
    for op in ops:
        table = getattr(op, "table", "")
        row = op.match if isinstance(op, Delete) else getattr(op, "row", {})
        if table == "api_keys":
            project = row.get("project_id", "") if isinstance(op, Insert) else ""
            found.append(["key", row.get("key_hash", ""), project or ""])
        elif table in ("projects", "webhooks", "compensation_failure_webhooks"):
            found.append(["project", row.get("project_id") or row.get("id") or ""])
        elif table == "services":
            found.append(["service", row.get("project_id", ""), row.get("id", "")])
        elif table == "groundings":
            found.append(["grounding", row.get("project_id", "")])
        elif table == "plan_cache" and isinstance(op, Delete) and "project_id" in row:
            found.append(["plans", row["project_id"]])
    unique = {tuple(change): change for change in found}
    return list(unique.values())


def _run_lists(ids: set[str]) -> list[str]:
    """``ids`` comma-separated, in as many payloads as NOTIFY's limit needs."""
    payloads, current = [], ""
    for one in sorted(i for i in ids if i):
        if current and len(current) + len(one) + 1 > _PAYLOAD_LIMIT:
            payloads.append(current)
            current = ""
        current = f"{current},{one}" if current else one
    return [*payloads, current] if current else payloads


def _execute(
    cursor: psycopg.Cursor, kind: type, table: str, ops: list[Any], replica: str | None
) -> None:
    """One kind of operation on one table, as one pipelined ``executemany``; a run inserted
    by a replica is its own, and each event says which replica wrote it."""
    if kind is Notify:
        for op in ops:
            cursor.execute("SELECT pg_notify(%s, %s)", (op.channel, op.payload))
    elif kind is Insert:
        extra = {}
        if replica and table in ("orchestrations", "events"):
            extra = {"owner" if table == "orchestrations" else "replica": replica}
        _insert(cursor, table, ops, extra)
    elif kind is Update:
        names, keys = ARROW_SCHEMAS[table].names, KEYS[table]
        rest = [name for name in names if name not in keys]
        assignments = ", ".join(f"{name} = %s" for name in rest)
        match = " AND ".join(f"{key} = %s" for key in keys)
        sql = f"UPDATE {table} SET {assignments} WHERE {match}"
        cursor.executemany(sql, [[op.row[n] for n in (*rest, *keys)] for op in ops])
    else:
        for op in ops:
            match = " AND ".join(f"{column} = %s" for column in op.match)
            cursor.execute(f"DELETE FROM {table} WHERE {match}", list(op.match.values()))


def _insert(cursor: psycopg.Cursor, table: str, ops: list[Any], extra: dict[str, Any]) -> None:
    """Rows of a table of ``store/schema.py`` (plus ``extra`` columns), or of a cluster table
    (``CLUSTER_INSERTS``: its rows name their columns)."""
    if table in CLUSTER_INSERTS:
        names, conflict = list(ops[0].row), CLUSTER_INSERTS[table]
    else:
        names, conflict = ARROW_SCHEMAS[table].names, ""
        if table in _IDEMPOTENT_INSERTS:
            conflict = " ON CONFLICT DO NOTHING"
        elif table in KEYS:  # the same row twice in a batch: the last wins, as on DuckDB
            rest = [name for name in names if name not in KEYS[table]]
            updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in rest)
            conflict = f" ON CONFLICT ({', '.join(KEYS[table])}) DO UPDATE SET {updates}"
    columns = ", ".join([*names, *extra])
    marks = ", ".join(["%s"] * (len(names) + len(extra)))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks}){conflict}"
    cursor.executemany(sql, [[*(op.row[n] for n in names), *extra.values()] for op in ops])


#: the cluster's tables written through the writer, and what a row already there means
CLUSTER_INSERTS = {
    "relay": "",
    # a result handed over twice (an SDK re-sends what was not ACKed) is refused by its key
    "inbox": " ON CONFLICT (orchestration_id, kind, dedup) DO NOTHING",
}
