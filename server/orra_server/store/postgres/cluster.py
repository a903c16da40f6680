"""The cluster's bookkeeping in PostgreSQL: replicas and their heartbeats, who owns which run,
which replica holds which service socket, and the tables frames cross replicas through.

Every time here is the database's clock (``now()``), never a replica's: replicas whose clocks
disagree still agree on who is silent. The SQL lives here (nothing outside ``store/`` writes
SQL); ``orra_server.cluster`` decides when to call it.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from psycopg_pool import ConnectionPool

from ..projection import Insert
from ..reads import UNFINISHED_SQL
from .unavailable import reachable
from .writer import Notify

__all__ = [
    "INBOX_CHANNEL",
    "RELAY_CHANNEL",
    "REPLICA_ID",
    "SESSION_ROLES",
    "UNFINISHED",
    "ClusterTables",
    "InboxItem",
    "RelayedFrame",
    "StoredReplica",
    "StoredSocket",
    "inbox_ops",
    "new_replica_id",
    "relay_ops",
    "session_name",
]

log = logging.getLogger("orra.cluster")

UNFINISHED = UNFINISHED_SQL
_NOW = "(now() AT TIME ZONE 'UTC')"

#: what a replica id looks like
REPLICA_ID = re.compile(r"r_[a-z0-9]{6,32}", re.ASCII)


def new_replica_id() -> str:
    return "r_" + secrets.token_hex(6)


#: the kinds of database session a replica opens (its ``application_name`` starts with one)
SESSION_ROLES = ("orra-migrate", "orra-reads", "orra-cluster", "orra-writer", "orra-listener")


def session_name(role: str, replica_id: str) -> str:
    """The ``application_name`` of a replica's database session: one of
    :data:`SESSION_ROLES`, a space, the replica's id (:meth:`ClusterTables.declare_dead` ends
    the sessions of a replica it declares dead by these names)."""
    return f"{role} {replica_id}"


#: how long a survivor waits for a commit under way on a silent replica (it holds the
#: replica's row: the writer's fence) before it ends the sessions holding it
_COMMIT_GRACE = "3s"
#: another live replica whose last heartbeat is older than ``%(silent)s`` seconds, judged by
#: a caller (``%(caller)s``) whose own heartbeat is younger than ``%(late)s`` (half that): a
#: caller that is late itself (a slow database delays every heartbeat) judges no one
_SILENT = (
    f"status = 'alive' AND heartbeat_at < {_NOW} - make_interval(secs => %(silent)s) "
    "AND id <> %(caller)s AND EXISTS (SELECT 1 FROM replicas judge WHERE judge.id = "
    f"%(caller)s AND judge.heartbeat_at >= {_NOW} - make_interval(secs => %(late)s))"
)


@dataclass(frozen=True, slots=True)
class StoredReplica:
    id: str
    status: str  # alive, dead (declared by a survivor), left (stopped on its own)
    started_at: datetime
    heartbeat_at: datetime
    address: str | None
    #: when it was declared dead or left (None while alive)
    ended_at: datetime | None
    #: seconds since its last heartbeat, by the database's clock
    silent_for: float
    #: unfinished runs it owns
    runs: int


@dataclass(frozen=True, slots=True)
class StoredSocket:
    """A service socket some replica holds."""

    replica_id: str
    instance: int
    service_id: str
    project_id: str
    key_hash: str
    capacity: int | None
    stale: bool
    connected_at: datetime


@dataclass(frozen=True, slots=True)
class RelayedFrame:
    """A frame another replica left for a socket this one holds."""

    id: int
    instance: int
    #: the run the frame's task belongs to (None for a frame of no task)
    run: str | None
    message: dict[str, Any]


@dataclass(frozen=True, slots=True)
class InboxItem:
    """What another replica received (or decided) for a run this one owns."""

    id: int
    orchestration_id: str
    kind: str
    body: dict[str, Any]


#: the channels the cluster's tables announce their new rows on
RELAY_CHANNEL = "orra_relay"
INBOX_CHANNEL = "orra_inbox"


def relay_ops(replica_id: str, instance: int, run: str | None, message: dict[str, Any]) -> list:
    """The writer's operations that leave ``message`` for a socket ``replica_id`` holds and
    tell it so, in one commit."""
    frame = orjson.dumps({"run": run, "message": message}).decode()
    row = {"replica_id": replica_id, "instance": instance, "frame": frame}
    return [Insert("relay", row), Notify(RELAY_CHANNEL, replica_id)]


def inbox_ops(orchestration_id: str, kind: str, dedup: str, body: dict[str, Any]) -> list:
    """The writer's operations that put ``body`` in the inbox of the run's owner and tell the
    replicas so, in one commit; a second item with the same (run, kind, ``dedup``) is
    refused."""
    row = {
        "orchestration_id": orchestration_id,
        "kind": kind,
        "dedup": dedup,
        "body": orjson.dumps(body).decode(),
        "created_at": datetime.now(UTC).replace(tzinfo=None),
    }
    return [Insert("inbox", row), Notify(INBOX_CHANNEL, orchestration_id)]


class ClusterTables:
    def __init__(self, pool: ConnectionPool, liveness: ConnectionPool) -> None:
        self._pool = pool
        #: heartbeats and takeover on connections of their own (``liveness``): a burst of
        #: reads or relayed frames must not make a heartbeat wait, fail, and get this replica
        #: declared dead
        self._liveness = liveness

    def _rows(
        self, sql: str, params: tuple[Any, ...] = (), *, pool: ConnectionPool | None = None
    ) -> list[dict[str, Any]]:
        with reachable(), (pool or self._pool).connection() as connection:
            cursor = connection.execute(sql, params)
            return cursor.fetchall() if cursor.description else []  # type: ignore[return-value]

    # -- replicas --------------------------------------------------------------------------------
    def join(self, replica_id: str, address: str | None) -> None:
        self._rows(
            f"INSERT INTO replicas VALUES (%s, 'alive', {_NOW}, {_NOW}, %s)",
            (replica_id, address),
            pool=self._liveness,
        )

    def heartbeat(self, replica_id: str) -> bool:
        """False when this replica was declared dead (or left): it must stop."""
        found = self._rows(
            f"UPDATE replicas SET heartbeat_at = {_NOW} WHERE id = %s AND status = 'alive' "
            "RETURNING id",
            (replica_id,),
            pool=self._liveness,
        )
        return bool(found)

    def declare_dead(self, silent_seconds: float, caller: str) -> list[str]:
        """Mark the replicas other than ``caller`` that are silent for longer than
        ``silent_seconds`` dead, forget their sockets and end their database sessions; their
        ids. None while the caller's own heartbeat is late (over half that): what delays it
        most likely delays the others' too.

        A commit under way on such a replica holds its row (the writer's fence), and this waits
        for it, up to :data:`_COMMIT_GRACE`. A session that holds the row longer belongs to a
        frozen process (stopped mid-pipeline: no server timeout ends that): the sessions of
        the replicas whose rows are held are ended, their transactions with them, and the rows
        taken once they have gone."""
        silent = {"silent": float(silent_seconds), "late": silent_seconds / 2, "caller": caller}
        lock = f"SELECT id FROM replicas WHERE {_SILENT} FOR UPDATE"
        with self._liveness.connection() as connection, connection.transaction():
            connection.execute(f"SET LOCAL lock_timeout = '{_COMMIT_GRACE}'")
            try:
                with connection.transaction():
                    ids = _ids(connection.execute(lock, silent))
            except psycopg.errors.LockNotAvailable:
                free = _ids(connection.execute(f"{lock} SKIP LOCKED", silent))
                every = _ids(connection.execute(f"SELECT id FROM replicas WHERE {_SILENT}", silent))
                _end_sessions(connection, [i for i in every if i not in free])
                ids = _ids(connection.execute(lock, silent))  # waits while they exit
            if not ids:
                return []
            connection.execute(
                f"UPDATE replicas SET status = 'dead', ended_at = {_NOW} WHERE id = ANY(%s)",
                (ids,),
            )
            connection.execute("DELETE FROM service_sockets WHERE replica_id = ANY(%s)", (ids,))
            # what they still had open (a listener, idle reads) goes too: a dead replica that
            # wakes finds no session to go on with, and learns it is dead when it reconnects
            _end_sessions(connection, ids)
        return ids

    def leave(self, replica_id: str) -> None:
        """Stopped on its own: its runs go to the others at once, its sockets are gone."""
        with self._liveness.connection() as connection, connection.transaction():
            connection.execute(
                f"UPDATE replicas SET status = 'left', ended_at = {_NOW} WHERE id = %s",
                (replica_id,),
            )
            connection.execute("DELETE FROM service_sockets WHERE replica_id = %s", (replica_id,))

    def claim_runs(self, replica_id: str, limit: int = 500) -> list[str]:
        """Take over the work of replicas that are dead or gone: their unfinished runs, and
        their ended runs with a webhook still to deliver or a compensation still to run; the
        ids taken. Two survivors claiming at once get different runs (``SKIP LOCKED``)."""
        found = self._rows(
            "WITH gone AS (SELECT id FROM replicas WHERE status <> 'alive'), "
            "work AS ("
            f"SELECT id FROM orchestrations WHERE status IN {UNFINISHED} "
            "AND owner IN (SELECT id FROM gone) "
            "UNION SELECT orchestration_id FROM deliveries WHERE status = 'pending' "
            "UNION SELECT orchestration_id FROM compensations "
            "WHERE status IN ('pending', 'running')) "
            "UPDATE orchestrations SET owner = %s WHERE id IN ("
            "SELECT id FROM orchestrations WHERE id IN (SELECT id FROM work) "
            "AND owner IN (SELECT id FROM gone) "
            "ORDER BY created_at LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id",
            (replica_id, limit),
        )
        return [row["id"] for row in found]

    def replicas(self) -> list[StoredReplica]:
        found = self._rows(
            "SELECT r.*, extract(epoch FROM "
            f"{_NOW} - r.heartbeat_at)::float8 AS silent_for, "
            f"(SELECT count(*) FROM orchestrations o WHERE o.owner = r.id "
            f"AND o.status IN {UNFINISHED}) AS runs FROM replicas r "
            "WHERE r.status = 'alive' OR r.heartbeat_at > "
            f"{_NOW} - interval '1 hour' ORDER BY r.started_at"
        )
        return [
            StoredReplica(
                **{
                    **row,
                    "started_at": row["started_at"].replace(tzinfo=UTC),
                    "heartbeat_at": row["heartbeat_at"].replace(tzinfo=UTC),
                    "ended_at": row["ended_at"] and row["ended_at"].replace(tzinfo=UTC),
                    "runs": int(row["runs"]),
                }
            )
            for row in found
        ]

    # -- service sockets -------------------------------------------------------------------------
    def socket_opened(self, replica_id: str, socket: dict[str, Any]) -> None:
        self._rows(
            "INSERT INTO service_sockets (replica_id, instance, service_id, project_id, "
            f"key_hash, capacity, stale, connected_at) VALUES (%s, %s, %s, %s, %s, %s, %s, {_NOW}) "
            "ON CONFLICT (replica_id, instance) DO UPDATE SET stale = EXCLUDED.stale",
            (
                replica_id,
                socket["instance"],
                socket["service_id"],
                socket["project_id"],
                socket["key_hash"],
                socket["capacity"],
                socket["stale"],
            ),
        )

    def socket_closed(self, replica_id: str, instance: int) -> None:
        self._rows(
            "DELETE FROM service_sockets WHERE replica_id = %s AND instance = %s",
            (replica_id, instance),
        )

    def sockets(self) -> list[StoredSocket]:
        """Every socket a live replica holds."""
        found = self._rows(
            "SELECT s.* FROM service_sockets s JOIN replicas r ON r.id = s.replica_id "
            "WHERE r.status = 'alive'"
        )
        return [
            StoredSocket(**{**row, "connected_at": row["connected_at"].replace(tzinfo=UTC)})
            for row in found
        ]

    # -- frames between replicas -----------------------------------------------------------------
    def take_relayed(self, replica_id: str) -> list[RelayedFrame]:
        """The frames other replicas left for sockets this one holds, oldest first, taken."""
        found = self._rows(
            "DELETE FROM relay WHERE replica_id = %s RETURNING id, instance, frame", (replica_id,)
        )
        frames = []
        for row in sorted(found, key=lambda r: r["id"]):
            envelope = orjson.loads(row["frame"])
            run, message = envelope["run"], envelope["message"]
            frames.append(RelayedFrame(row["id"], row["instance"], run, message))
        return frames

    def inbox_of(self, replica_id: str) -> list[InboxItem]:
        """What other replicas received for runs this one owns, oldest first. Dropped only
        once applied (:meth:`drop_inbox`): a crash in between applies it again, and the run
        refuses the duplicate."""
        found = self._rows(
            "SELECT i.id, i.orchestration_id, i.kind, i.body FROM inbox i "
            "JOIN orchestrations o ON o.id = i.orchestration_id WHERE o.owner = %s "
            "ORDER BY i.id",
            (replica_id,),
        )
        return [InboxItem(**{**row, "body": orjson.loads(row["body"])}) for row in found]

    def drop_inbox(self, ids: list[int]) -> None:
        self._rows("DELETE FROM inbox WHERE id = ANY(%s)", (ids,))

    def owner_of(self, orchestration_id: str) -> str | None:
        found = self._rows("SELECT owner FROM orchestrations WHERE id = %s", (orchestration_id,))
        return found[0]["owner"] if found else None


def _ids(cursor: psycopg.Cursor[Any]) -> list[str]:
    return [row["id"] for row in cursor.fetchall()]  # type: ignore[call-overload]


def _end_sessions(connection: psycopg.Connection[Any], replica_ids: list[str]) -> None:
    """Ask PostgreSQL to end the sessions of ``replica_ids`` in this database (named by
    :func:`session_name`); their open transactions roll back as they go. PostgreSQL lets a
    role end only the sessions of roles it is a member of (``pg_signal_backend`` covers every
    role but superusers): a session it refuses is logged, and the rest are ended."""
    if not replica_ids:
        return
    names = [session_name(role, i) for i in replica_ids for role in SESSION_ROLES]
    sessions = connection.execute(
        "SELECT pid, application_name FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND application_name = ANY(%s)",
        (names,),
    ).fetchall()
    refused: dict[str, str] = {}
    for row in sessions:
        try:
            with connection.transaction():  # a refusal fails this statement alone
                connection.execute("SELECT pg_terminate_backend(%s)", (row["pid"],))  # type: ignore[call-overload]
        except psycopg.errors.InsufficientPrivilege as exc:
            refused[row["application_name"].split(" ", 1)[1]] = str(exc).splitlines()[0]  # type: ignore[call-overload]
    for replica_id, reason in refused.items():
        log.warning(
            "could not end the database sessions of replica %s (%s): give every replica the "
            "same database role, or grant the survivors pg_signal_backend",
            replica_id,
            reason,
        )
