"""Data survives a control-plane restart on the same DuckDB file."""

from __future__ import annotations

import duckdb

from helpers import (
    SEED_REQUEST,
    SEED_SERVICES,
    Api,
    ServerProcess,
    new_project,
    seed_services,
)


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
