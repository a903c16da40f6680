"""``orra serve --db postgresql://…``: the same control plane on a real PostgreSQL server.

The store's own contract (every verb, both backends) is in ``test_store_contract.py``; here the
whole control plane runs on PostgreSQL as a separate process with services over websockets:
an orchestration completes, a SIGKILL mid-run loses nothing and records each step once, the
history exports for analysis, and neither the banner nor a failure shows the password.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest

from helpers import (
    ROOT,
    SERVICES,
    ServerProcess,
    ServiceProcess,
    free_port,
    new_project,
    wait_until,
)
from orra_studio import Client
from orra_studio.history import LocalHistory
from replica_scenario import (
    FAST_TAKEOVER,
    each_run_ended_once,
    each_step_completed_once,
    rows,
    shout_and_count,
)

REQUEST = shout_and_count("on postgres now")


@pytest.fixture
def with_password(database: str) -> str:
    """The database's URL with a password in it (trust authentication ignores it): a test can
    then look for the password where it must not be."""
    return database.replace("postgres@", "postgres:s3cret-pw@", 1)


def test_a_sigkill_mid_run_on_postgres_loses_nothing_and_records_each_step_once(
    with_password: str, tmp_path: Path
):
    database = with_password
    server = ServerProcess(tmp_path / "pg", db=database, env=FAST_TAKEOVER).start()
    api, project = new_project(server.url)
    services = ServiceProcess(
        [str(SERVICES / "sdk_services.py"), server.url, project["apiKey"], "text"],
        env={"COUNT_DELAY": "1.0", "COUNT_CONCURRENCY": "64"},
    ).start()
    try:
        wait_until(lambda: api.services_online({"text-shouter", "word-counter"}), 20, "services")
        first = api.post("/orchestrations", REQUEST).json()["executionId"]
        assert api.wait_finished(first, timeout=30)["status"] == "COMPLETED"
        ids = [api.accepted(REQUEST)["executionId"] for _ in range(20)]

        def counting() -> bool:
            listed = api.get("/orchestrations", params={"limit": 100}).json()["orchestrations"]
            running = [o for o in listed if o["executionId"] in ids]
            return len(running) == 20 and all(o["status"] == "RUNNING" for o in running)

        wait_until(counting, 15, "all 20 to be running")
        server.stop(signal.SIGKILL)
        again = server.again().start()
        try:
            for execution_id in ids:
                body = api.wait_finished(execution_id, timeout=60)
                assert body["status"] == "COMPLETED", body
                assert body["result"]["words"] == 3
            export = api.get("/export/orchestrations", params={"format": "json"})
            assert export.status_code == 200, export.text
            exported = {row["execution_id"]: row for row in export.json()["rows"]}
            assert set(ids) | {first} <= set(exported)
            assert exported[first]["step_count"] == 2
            assert exported[first]["duration_ms"] >= 0
            # what %%orra sql and the studio's Analytics page query: a local DuckDB fed by
            # /export, the same on PostgreSQL as on the embedded file
            history = LocalHistory()
            with Client(again.url, project["apiKey"]) as client:
                assert history.refresh(client)["orchestrations"] == 21
            steps = history.query("SELECT status, count(*) AS n FROM steps GROUP BY status")
            assert steps.to_dict("records") == [{"status": "COMPLETED", "n": 42}]
            history.close()
        finally:
            again.stop()
    finally:
        services.stop()

    accepted = rows(
        database,
        "SELECT count(DISTINCT orchestration_id) FROM events WHERE type = 'orchestration_accepted'",
    )
    assert accepted == [(21,)]
    each_step_completed_once(database)
    each_run_ended_once(database)
    logs = server.log() + again.log()
    assert "s3cret-pw" not in logs
    assert "postgresql://postgres@127.0.0.1" in logs  # the banner names the database, safely


def test_an_unreachable_postgres_fails_in_one_line_without_the_password(tmp_path: Path):
    port = free_port()  # nothing listens there
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "orra_studio.cli",
            "serve",
            "--port",
            str(free_port()),
            "--db",
            f"postgresql://orra:hunter2-pw@127.0.0.1:{port}/orra",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "hunter2-pw" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(
        f"error: cannot reach PostgreSQL at postgresql://orra@127.0.0.1:{port}/orra"
    )


@pytest.mark.parametrize(
    ("error", "away"),
    [
        (psycopg.OperationalError("server closed the connection unexpectedly"), True),
        (psycopg.errors.ConnectionFailure("lost"), True),
        (psycopg.errors.AdminShutdown("terminating connection"), True),
        (psycopg.errors.CannotConnectNow("starting up"), True),
        (psycopg.errors.IdleSessionTimeout("idle"), True),
        (psycopg.errors.LockNotAvailable("lock timeout"), False),
        (psycopg.errors.QueryCanceled("statement timeout"), False),
        (psycopg.errors.DeadlockDetected("deadlock"), False),
        (psycopg.errors.SerializationFailure("retry"), False),
        (psycopg.errors.UniqueViolation("duplicate"), False),
    ],
)
def test_only_the_database_being_away_is_a_503(error: Exception, away: bool) -> None:
    from orra_server.core.errors import DatabaseUnavailable
    from orra_server.store.postgres.unavailable import as_unavailable

    mapped = as_unavailable(error)
    assert isinstance(mapped, DatabaseUnavailable) is away
    assert mapped is not error if away else mapped is error


def _orra_serve_on(url: str) -> subprocess.CompletedProcess[str]:
    """``orra serve`` on ``url``, expected to stop at once (a free port that is never used)."""
    return subprocess.run(
        [sys.executable, "-m", "orra_studio.cli", "serve", "--port", str(free_port()), "--db", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _tables_only_role(database: str) -> str:
    """A login role that may read and write the tables there now but create none (the
    least privilege a replica needs); its URL."""
    role = f"app_{free_port()}"
    with psycopg.connect(database, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
        admin.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        admin.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
        )
        admin.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    return database.replace("postgresql://postgres@", f"postgresql://{role}@")


def test_a_role_that_may_not_create_tables_runs_on_a_current_schema_and_is_told_about_an_old_one(
    database: str, postgres_cluster
):
    from orra_server.serving import check_postgres
    from orra_server.store.postgres.store import PostgresStore

    empty = postgres_cluster.new_database()
    done = _orra_serve_on(_tables_only_role(empty))  # no schema yet, and no right to make one
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "the database's schema is version 0 and this orra needs" in line, line
    assert "start this orra once as a role that may create tables" in line

    PostgresStore(database).close()  # migrated by the owner
    app = _tables_only_role(database)
    check_postgres(app)  # what orra serve checks first: nothing to change, so nothing refused
    store = PostgresStore(app)
    try:
        assert store.cluster.replicas() == []
    finally:
        store.close()


def test_three_replicas_starting_at_once_migrate_the_schema_once(database: str):
    """Each start migrates under an advisory lock: one applies every version, the others wait
    and find nothing left to do, and a database newer than the code is refused."""
    from orra_server.store.postgres.schema import SCHEMA_VERSION, migrate

    applied: list[list[int]] = []
    barrier = threading.Barrier(3)

    def start() -> None:
        with psycopg.connect(database) as connection:
            barrier.wait(10)
            applied.append(migrate(connection))

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(applied) == [[], [], list(range(1, SCHEMA_VERSION + 1))]
    assert rows(database, "SELECT count(*) FROM schema_migrations") == [(SCHEMA_VERSION,)]
    with psycopg.connect(database) as connection:
        connection.execute("INSERT INTO schema_migrations VALUES (999, now())")
        connection.commit()
        with pytest.raises(RuntimeError, match="newer than this orra"):
            migrate(connection)


@pytest.mark.parametrize(
    ("version", "named"), [(120017, "PostgreSQL 12;"), (90624, "PostgreSQL 9.6;")]
)
def test_a_server_older_than_13_is_refused_at_start_in_one_line(version: int, named: str) -> None:
    """The writer reads transaction ids (PostgreSQL 13): an older server is refused before
    the start, not at every write. (Only 15 is on this machine: the check is fed the numbers
    an older server reports as ``server_version_num``.)"""
    from orra_server.store.postgres.schema import SchemaError, check_server_version

    with pytest.raises(SchemaError) as refused:
        check_server_version(version)
    assert named in str(refused.value) and "13 or newer" in str(refused.value)
    check_server_version(130000)  # 13.0 and newer start
