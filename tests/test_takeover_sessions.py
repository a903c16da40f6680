"""How a survivor declares silent replicas dead and ends their database sessions
(``ClusterTables.declare_dead``), against a real PostgreSQL server. Other sessions stand in for
the replicas (named as theirs); the end-to-end cases, with replicas as processes, are in
``test_failover.py``."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from orra_server.store.postgres.cluster import session_name
from orra_server.store.postgres.store import PostgresStore
from replica_scenario import rows

#: a replica row whose last heartbeat was a minute ago (times are UTC, as the cluster's)
NOW = "(now() AT TIME ZONE 'UTC')"
AGO = f"{NOW} - interval '1 minute'"
SILENT = f"INSERT INTO replicas VALUES (%s, 'alive', {AGO}, {AGO}, NULL)"
STATUS = "SELECT status FROM replicas WHERE id = %s"
#: the survivor calling ``declare_dead``
ME = "r_survivor1"


@pytest.fixture
def store(database: str) -> Iterator[PostgresStore]:
    made = PostgresStore(database)
    yield made
    made.close()


def _silent(database: str, *replica_ids: str) -> None:
    """Rows for ``replica_ids``, a minute silent, and a fresh one for the survivor :data:`ME`
    (a survivor whose own heartbeat is late judges no one)."""
    with psycopg.connect(database, autocommit=True) as admin:
        for replica_id in replica_ids:
            admin.execute(SILENT, (replica_id,))
        admin.execute(
            f"INSERT INTO replicas VALUES (%s, 'alive', {NOW}, {NOW}, NULL) "
            f"ON CONFLICT (id) DO UPDATE SET heartbeat_at = {NOW}",
            (ME,),
        )


def _role(database: str) -> str:
    """A new login role that may use the orra tables (not a superuser); its URL."""
    role = f"orra_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
        for grant in ("ON SCHEMA public", "ON ALL TABLES IN SCHEMA public"):
            admin.execute(f"GRANT ALL {grant} TO {role}")
        admin.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
    return database.replace("postgresql://postgres@", f"postgresql://{role}@")


def test_a_dead_replicas_sessions_are_ended_and_a_strangers_are_kept(
    database: str, store: PostgresStore
):
    _silent(database, "r_silent01")
    own = psycopg.connect(database, application_name=session_name("orra-reads", "r_silent01"))
    other = psycopg.connect(database, application_name="orra-reads r_alive0001")
    try:
        assert store.cluster.declare_dead(5, ME) == ["r_silent01"]
        with pytest.raises(psycopg.OperationalError):
            own.execute("SELECT 1")
        assert other.execute("SELECT 1").fetchone() == (1,)
        assert store.cluster.declare_dead(5, ME) == []  # once dead, not declared again
    finally:
        own.close()
        other.close()


def test_a_survivor_whose_own_heartbeat_is_late_judges_no_one(database: str, store: PostgresStore):
    """After a database outage or under a slow database every heartbeat is late, the
    caller's too: it declares no one dead (itself least of all) until its own is fresh."""
    _silent(database, "r_silent02")
    rows(database, f"UPDATE replicas SET heartbeat_at = {AGO} WHERE id = %s RETURNING id", ME)
    assert store.cluster.declare_dead(5, ME) == []
    assert rows(database, "SELECT count(*) FROM replicas WHERE status = 'alive'") == [(2,)]
    _silent(database)  # ME fresh again
    assert store.cluster.declare_dead(5, ME) == ["r_silent02"]
    assert rows(database, STATUS, ME) == [("alive",)]


def test_a_commit_under_way_on_a_silent_replica_finishes_before_it_is_declared_dead(
    database: str, store: PostgresStore
):
    """The fence's promise: a commit that holds the row and ends within the grace is waited
    for, not cut off."""
    _silent(database, "r_slow00001")
    writer = psycopg.connect(database, application_name=session_name("orra-writer", "r_slow00001"))
    try:
        writer.execute("UPDATE replicas SET address = 'committed' WHERE id = 'r_slow00001'")
        threading.Timer(1.0, writer.commit).start()  # a commit that takes a second
        assert store.cluster.declare_dead(5, ME) == ["r_slow00001"]
        found = rows(database, "SELECT status, address FROM replicas WHERE id = 'r_slow00001'")
        assert found == [("dead", "committed")]
    finally:
        writer.close()


def test_sessions_of_another_role_are_left_with_a_warning_and_the_frozen_one_still_ended(
    database: str, store: PostgresStore, caplog: pytest.LogCaptureFixture
):
    """PostgreSQL lets a role end only its own roles' sessions. One replica logs in as
    another role (its session stays, the log says what to grant); a second, of the survivor's
    role, holds its own row as a frozen writer does: it is still ended, and both are declared
    dead."""
    _silent(database, "r_stranger1", "r_frozen001")
    survivors = _role(database)  # not a superuser: a superuser may end any session
    stranger = psycopg.connect(
        _role(database), application_name=session_name("orra-writer", "r_stranger1")
    )
    frozen = psycopg.connect(
        survivors,
        application_name=session_name("orra-writer", "r_frozen001"),
        options="-c idle_in_transaction_session_timeout=0",
    )
    survivor = PostgresStore(survivors)
    try:
        frozen.execute("SELECT status FROM replicas WHERE id = 'r_frozen001' FOR SHARE")
        with caplog.at_level(logging.WARNING, logger="orra.cluster"):
            dead = survivor.cluster.declare_dead(5, ME)
        assert sorted(dead) == ["r_frozen001", "r_stranger1"]
        with pytest.raises(psycopg.OperationalError):
            frozen.execute("SELECT 1")
        assert stranger.execute("SELECT 1").fetchone() == (1,)
        assert "could not end the database sessions of replica r_stranger1" in caplog.text
        assert "r_frozen001" not in caplog.text
    finally:
        survivor.close()
        frozen.close()
        stranger.close()
