"""The PostgreSQL tables and their migrations, applied once however many replicas start at once.

The columns are DuckDB's (``store/schema.py``), so rows encode and decode the same way on both
backends: JSON as text, times as naive UTC ``timestamp``. PostgreSQL adds what DuckDB does not
need: a sequence for event numbers (replicas commit events concurrently) and indexes for the
reads that DuckDB answers from its zone maps.

Migrations are numbered and only ever appended. :func:`migrate` takes a transaction-scoped
advisory lock first: a second replica starting at the same moment waits for it, then finds the
schema current and applies nothing.
"""

from __future__ import annotations

import psycopg
import pyarrow as pa

from ..reads import UNFINISHED_SQL
from ..schema import ARROW_SCHEMAS, KEYS

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SchemaError", "migrate"]

#: the advisory lock migrations hold (any constant other code in the database does not use)
MIGRATION_LOCK = 0x6F727261  # "orra"

_SQL_TYPES = {pa.string(): "text", pa.timestamp("us"): "timestamp", pa.int64(): "bigint"}
_SQL_TYPES[pa.bool_()] = "boolean"

#: tables keyed by something other than ``KEYS`` says
_OTHER_KEYS = {
    "api_keys": ("key_hash",),
    "webhooks": ("project_id", "url"),
    "compensation_failure_webhooks": ("project_id", "url"),
    "events": ("seq",),
}


def _table(name: str) -> str:
    columns = [f"{f.name} {_SQL_TYPES[f.type]}" for f in ARROW_SCHEMAS[name]]
    keys = KEYS.get(name) or _OTHER_KEYS[name]
    return f"CREATE TABLE {name} ({', '.join(columns)}, PRIMARY KEY ({', '.join(keys)}))"


_UNFINISHED = f"status IN {UNFINISHED_SQL}"

#: version → its statements, in order; never edit a shipped one, append a new version
MIGRATIONS: dict[int, list[str]] = {
    1: [
        *(_table(name) for name in ARROW_SCHEMAS if name != "large_values"),
        "CREATE SEQUENCE events_seq OWNED BY events.seq",
        "ALTER TABLE events ALTER COLUMN seq SET DEFAULT nextval('events_seq')",
        "CREATE INDEX events_of_run ON events (orchestration_id, seq)",
        "CREATE INDEX orchestrations_of_project ON orchestrations (project_id, created_at, id)",
        f"CREATE INDEX unfinished_orchestrations ON orchestrations (created_at) "
        f"WHERE {_UNFINISHED}",
        "CREATE INDEX services_of_project ON services (project_id, name)",
        "CREATE INDEX api_keys_of_project ON api_keys (project_id)",
        "CREATE INDEX plan_cache_of_project ON plan_cache (project_id)",
        "CREATE INDEX deliveries_of_run ON deliveries (orchestration_id)",
        "CREATE INDEX pending_deliveries ON deliveries (next_attempt_at) WHERE status = 'pending'",
        "CREATE INDEX unfinished_compensations ON compensations (orchestration_id, position) "
        "WHERE status IN ('pending', 'running')",
        "CREATE INDEX compensation_failures_of_project ON compensation_failures "
        "(project_id, created_at)",
    ],
    # replicas: who is alive, who owns which run, whose sockets hold which services, and the
    # tables frames cross replicas through (docs/scale-out.md)
    2: [
        "CREATE TABLE replicas (id text PRIMARY KEY, status text NOT NULL, "
        "started_at timestamp NOT NULL, heartbeat_at timestamp NOT NULL, address text, "
        "ended_at timestamp)",
        "ALTER TABLE orchestrations ADD COLUMN owner text",
        # one service per name in a project, however many replicas register it at once
        "CREATE UNIQUE INDEX services_unique_name ON services (project_id, name)",
        # which replica wrote an event: a fenced replica must have written none after its end
        "ALTER TABLE events ADD COLUMN replica text",
        f"CREATE INDEX unfinished_of_owner ON orchestrations (owner) WHERE {_UNFINISHED}",
        "CREATE TABLE service_sockets (replica_id text NOT NULL, instance bigint NOT NULL, "
        "service_id text NOT NULL, project_id text NOT NULL, key_hash text NOT NULL, "
        "capacity bigint, stale boolean NOT NULL, connected_at timestamp NOT NULL, "
        "PRIMARY KEY (replica_id, instance))",
        "CREATE TABLE relay (id bigserial PRIMARY KEY, replica_id text NOT NULL, "
        "instance bigint NOT NULL, frame text NOT NULL)",
        "CREATE INDEX relay_of_replica ON relay (replica_id, id)",
        "CREATE TABLE inbox (id bigserial PRIMARY KEY, orchestration_id text NOT NULL, "
        "kind text NOT NULL, dedup text NOT NULL, body text NOT NULL, "
        "created_at timestamp NOT NULL, UNIQUE (orchestration_id, kind, dedup))",
    ],
}

SCHEMA_VERSION = max(MIGRATIONS)


class SchemaError(RuntimeError):
    """The database's schema cannot be used by this orra, and the message says what to do."""


#: the oldest server orra runs on: its writer reads transaction ids (``pg_current_xact_id``,
#: ``pg_xact_status`` of an ``xid8``: PostgreSQL 13)
OLDEST_SERVER = 130000


def check_server_version(version: int) -> None:
    """Refuse a server older than :data:`OLDEST_SERVER` (``version`` as ``server_version_num``)
    at start, in one line, rather than at every write."""
    if version < OLDEST_SERVER:
        # 120017 is 12.17; before 10, 90624 was 9.6.24
        major = str(version // 10000)
        if version < 100000:
            major += f".{version // 100 % 100}"
        raise SchemaError(f"this server is PostgreSQL {major}; orra needs PostgreSQL 13 or newer")


def migrate(connection: psycopg.Connection) -> list[int]:
    """Bring the database to :data:`SCHEMA_VERSION`; the versions this call applied.

    One transaction under the advisory lock: a replica that crashes half-way leaves the schema
    as it was, and one that starts meanwhile waits, then sees the work done. A current schema
    is only read, so replicas may log in as a role that may read and write the tables but not
    create them (PostgreSQL checks ``CREATE`` even for ``CREATE TABLE IF NOT EXISTS``).
    """
    check_server_version(connection.info.server_version)
    applied: list[int] = []
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        (exists,) = connection.execute(  # type: ignore[misc]
            "SELECT to_regclass('schema_migrations') IS NOT NULL"
        ).fetchone()
        done = set()
        if exists:
            done = {row[0] for row in connection.execute("SELECT version FROM schema_migrations")}
        newer = [version for version in done if version > SCHEMA_VERSION]
        if newer:
            raise SchemaError(
                f"the database's schema is version {max(newer)}, newer than this orra "
                f"({SCHEMA_VERSION}): upgrade this replica before starting it"
            )
        missing = sorted(version for version in MIGRATIONS if version not in done)
        try:
            with connection.transaction():
                if missing and not exists:
                    connection.execute(
                        "CREATE TABLE schema_migrations "
                        "(version integer PRIMARY KEY, applied_at timestamp NOT NULL)"
                    )
                for version in missing:
                    for statement in MIGRATIONS[version]:
                        connection.execute(statement)
                    connection.execute(
                        "INSERT INTO schema_migrations VALUES (%s, now() AT TIME ZONE 'UTC')",
                        (version,),
                    )
                    applied.append(version)
        except psycopg.errors.InsufficientPrivilege as exc:
            (role,) = connection.execute("SELECT current_user").fetchone()  # type: ignore[misc]
            have = max(done, default=0)
            raise SchemaError(
                f"the database's schema is version {have} and this orra needs "
                f"{SCHEMA_VERSION}, but the role {role!r} may not change it "
                f"({str(exc).splitlines()[0]}): start this orra once as a role that may create "
                "tables in the database (it migrates as it starts), then run the replicas as "
                f"{role!r}"
            ) from None
    return applied
