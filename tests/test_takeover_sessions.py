"""How a survivor ends a silent replica's database sessions when it declares it dead
(``ClusterTables.declare_dead``), against a real PostgreSQL server. The end-to-end case, a
frozen replica whose session holds its own row, is in ``test_failover.py``."""

from __future__ import annotations

import logging
import uuid

import psycopg
import pytest

from orra_server.store.postgres.cluster import session_name
from orra_server.store.postgres.store import PostgresStore

#: a replica row whose last heartbeat was a minute ago (times are UTC, as the cluster's)
AGO = "(now() AT TIME ZONE 'UTC') - interval '1 minute'"
SILENT = f"INSERT INTO replicas VALUES (%s, 'alive', {AGO}, {AGO}, NULL)"


def _as(url: str, role: str) -> str:
    return url.replace("postgresql://postgres@", f"postgresql://{role}@")


def test_a_dead_replicas_sessions_are_ended_and_a_strangers_are_kept(database: str):
    store = PostgresStore(database)
    try:
        with psycopg.connect(database, autocommit=True) as admin:
            admin.execute(SILENT, ("r_silent01",))
        own = psycopg.connect(database, application_name=session_name("orra-reads", "r_silent01"))
        other = psycopg.connect(database, application_name="orra-reads r_alive0001")
        try:
            assert store.cluster.declare_dead(5) == ["r_silent01"]
            with pytest.raises(psycopg.OperationalError):
                own.execute("SELECT 1")
            assert other.execute("SELECT 1").fetchone() == (1,)
            assert store.cluster.declare_dead(5) == []  # once dead, not declared again
        finally:
            own.close()
            other.close()
    finally:
        store.close()


def test_a_replica_of_another_database_role_is_declared_dead_though_its_sessions_stay(
    database: str, caplog: pytest.LogCaptureFixture
):
    """PostgreSQL lets a role end only its own sessions (or with pg_signal_backend): a
    cluster whose replicas log in as different roles still takes over, and says why the
    sessions were left."""
    survivor_role, frozen_role = (f"orra_{uuid.uuid4().hex[:8]}" for _ in range(2))
    PostgresStore(database).close()  # the schema
    with psycopg.connect(database, autocommit=True) as admin:
        for role in (survivor_role, frozen_role):
            admin.execute(f"CREATE ROLE {role} LOGIN")
            admin.execute(f"GRANT ALL ON SCHEMA public TO {role}")
            admin.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
            admin.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
        admin.execute(SILENT, ("r_silent02",))
    frozen = psycopg.connect(
        _as(database, frozen_role), application_name=session_name("orra-writer", "r_silent02")
    )
    store = PostgresStore(_as(database, survivor_role))
    try:
        with caplog.at_level(logging.WARNING, logger="orra.cluster"):
            assert store.cluster.declare_dead(5) == ["r_silent02"]
        assert frozen.execute("SELECT 1").fetchone() == (1,)
        assert "could not end the database sessions of replica(s) r_silent02" in caplog.text
    finally:
        frozen.close()
        store.close()
