"""Data survives a control-plane restart on the same DuckDB file, and a stop is prompt."""

from __future__ import annotations

import signal
import threading
import time

import duckdb

from helpers import (
    SEED_REQUEST,
    SEED_SERVICES,
    Api,
    ServerProcess,
    new_project,
    seed_services,
)
from orra_studio.client import Client
from orra_studio.errors import ServerUnreachable


def test_completed_orchestration_is_readable_after_restart(fresh_db):
    server = ServerProcess(fresh_db).start()
    try:
        api, project = new_project(server.url)
        with seed_services(api):
            execution_id = api.post("/orchestrations", SEED_REQUEST).json()["executionId"]
            before = api.wait_finished(execution_id)
            assert before["status"] == "COMPLETED"
    finally:
        server.stop()

    # the file is closed now: reading it directly is safe
    with duckdb.connect(str(fresh_db), read_only=True) as db:
        kinds = [
            r[0]
            for r in db.execute(
                "SELECT type FROM events WHERE orchestration_id = ? ORDER BY seq", [execution_id]
            ).fetchall()
        ]
        assert kinds[:3] == ["plan_cache_miss", "plan_made", "orchestration_accepted"]
        assert kinds.count("step_completed") == 4
        assert "orchestration_completed" in kinds
        statuses = db.execute(
            "SELECT status FROM steps WHERE orchestration_id = ?", [execution_id]
        ).fetchall()
        assert sorted(s[0] for s in statuses) == ["COMPLETED"] * 4

    again = ServerProcess(fresh_db, port=server.port).start()
    try:
        api = Api(again.url, project["apiKey"])  # the key survived too
        after = api.get(f"/orchestrations/{execution_id}").json()
        assert after["status"] == "COMPLETED"
        assert after["result"] == before["result"]
        assert [s["output"] for s in after["stepResults"]] == [
            s["output"] for s in before["stepResults"]
        ]
        assert after["startTime"] == before["startTime"]
        listed = api.get("/orchestrations").json()["orchestrations"]
        assert listed[0]["executionId"] == execution_id
        names = {s["name"] for s in api.get("/services").json()["services"]}
        assert names == SEED_SERVICES
    finally:
        again.stop()


def test_a_stop_with_streams_open_takes_seconds_and_their_clients_see_a_drop(fresh_db):
    """SIGTERM while clients follow the change feed: a stream never finishes, so after a short
    grace the server closes it and exits (a rolling restart is not held up by an open studio
    page); the client sees a dropped connection, which it resumes, not a clean end."""
    server = ServerProcess(fresh_db).start()
    api, project = new_project(server.url)
    ended: list[str] = []
    # each reader's own event: both streams must be open before the stop (one reader's first
    # event says nothing of the other's, which may still be connecting)
    following = [threading.Event(), threading.Event()]

    def follow(opened: threading.Event) -> None:
        with Client(server.url, project["apiKey"]) as client:
            try:
                for _ in client.changes():
                    opened.set()
            except ServerUnreachable:
                ended.append("dropped")
            else:
                ended.append("ended cleanly")

    readers = [threading.Thread(target=follow, args=(opened,)) for opened in following]
    try:
        for reader in readers:
            reader.start()
        assert all(opened.wait(15) for opened in following), "a change stream did not open"
        assert server.proc is not None
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=15) in (0, -signal.SIGTERM)  # uvicorn re-raises it
        took = time.monotonic() - started
        for reader in readers:
            reader.join(15)
        assert ended == ["dropped", "dropped"]
        assert took < 10, f"the stop took {took:.1f} s"
        log = server.log()
        assert "Traceback" not in log and "ERROR" not in log, log[-2000:]
        assert "closed 2 open request(s)" in log, log[-2000:]
    finally:
        server.stop()
        api.close()
