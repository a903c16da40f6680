"""A control-plane crash loses no accepted orchestration and no completed step result."""

from __future__ import annotations

import signal

import duckdb
from test_reliability import FAST, FAULTY, saga_request

from helpers import (
    SERVICES,
    ServerProcess,
    ServiceProcess,
    WebhookReceiver,
    free_port,
    new_project,
    serving,
    wait_until,
)


def test_sigkill_mid_orchestration_then_restart_completes_it_once(fresh_db):
    server = ServerProcess(fresh_db).start()
    api, project = new_project(server.url)
    with serving(
        api,
        "sdk_services.py",
        "text",
        online={"text-shouter", "word-counter"},
        env={"COUNT_DELAY": "1.5"},
    ):
        request = {
            "action": {"type": "shout-and-count", "content": "shout, count words"},
            "data": [{"field": "message", "value": "survive the crash"}],
        }
        execution_id = api.post("/orchestrations", request).json()["executionId"]

        def counter_running() -> bool:
            steps = api.get(f"/orchestrations/{execution_id}").json()["stepResults"]
            return steps[0]["status"] == "COMPLETED" and steps[1]["status"] == "RUNNING"

        wait_until(counter_running, 10, "the second step to be running")

        def dispatch_recorded() -> bool:  # the lazy step_dispatched event has committed
            logs = api.get(f"/orchestrations/{execution_id}/logs").json()["logs"]
            return any(e["event"] == "step_dispatched" and e["stepId"] == "step2" for e in logs)

        wait_until(dispatch_recorded, 10, "step2's dispatch to be recorded")
        server.stop(signal.SIGKILL)

        again = ServerProcess(fresh_db, port=server.port).start()  # same file, same port
        try:
            # the SDK reconnects by itself; the engine re-dispatches the unfinished step
            body = api.wait_finished(execution_id, timeout=60)
            assert body["status"] == "COMPLETED", body
            assert body["result"]["words"] == 3
            assert body["stepResults"][0]["output"] == {"shouted": "SURVIVE THE CRASH"}
            # every dispatch counts: once before the crash, once after
            assert body["stepResults"][1]["attempts"] == 2, body["stepResults"][1]
            # and new work runs on the restarted control plane too
            fresh = api.post("/orchestrations", request).json()["executionId"]
            assert api.wait_finished(fresh, timeout=30)["status"] == "COMPLETED"
        finally:
            again.stop()

    with duckdb.connect(str(fresh_db), read_only=True) as db:
        completed = db.execute(
            "SELECT step_id, count(*) FROM events WHERE orchestration_id = ? "
            "AND type = 'step_completed' GROUP BY step_id ORDER BY step_id",
            [execution_id],
        ).fetchall()
        assert completed == [("step1", 1), ("step2", 1)]
        accepted = db.execute(
            "SELECT count(*) FROM events WHERE orchestration_id = ? "
            "AND type = 'orchestration_accepted'",
            [execution_id],
        ).fetchone()
        assert accepted == (1,)


def test_sigkill_with_50_orchestrations_in_flight_loses_none_and_records_each_step_once(
    fresh_db,
):
    server = ServerProcess(fresh_db).start()
    api, project = new_project(server.url)
    services = ServiceProcess(
        [str(SERVICES / "sdk_services.py"), server.url, project["apiKey"], "text"],
        env={"COUNT_DELAY": "1.0", "COUNT_CONCURRENCY": "64"},
    ).start()
    request = {
        "action": {"type": "shout-and-count", "content": "shout, count words"},
        "data": [{"field": "message", "value": "fifty at once"}],
    }
    try:
        wait_until(lambda: api.services_online({"text-shouter", "word-counter"}), 20, "services")
        ids = []
        for _ in range(50):
            answer = api.post("/orchestrations", request)
            assert answer.status_code == 202
            ids.append(answer.json()["executionId"])

        def counting() -> bool:
            listed = api.get("/orchestrations", params={"limit": 100}).json()["orchestrations"]
            return len(listed) == 50 and all(o["status"] == "RUNNING" for o in listed)

        wait_until(counting, 10, "all 50 to be running")
        server.stop(signal.SIGKILL)
        again = ServerProcess(fresh_db, port=server.port).start()
        try:
            for execution_id in ids:
                body = api.wait_finished(execution_id, timeout=60)
                assert body["status"] == "COMPLETED", body
                assert body["result"]["words"] == 3
        finally:
            again.stop()
    finally:
        services.stop()

    with duckdb.connect(str(fresh_db), read_only=True) as db:
        accepted = db.execute(
            "SELECT count(DISTINCT orchestration_id) FROM events "
            "WHERE type = 'orchestration_accepted'"
        ).fetchone()
        assert accepted == (50,)
        twice = db.execute(
            "SELECT orchestration_id, step_id, count(*) FROM events WHERE type = 'step_completed' "
            "GROUP BY ALL HAVING count(*) > 1"
        ).fetchall()
        assert twice == []
        steps = db.execute("SELECT count(*) FROM events WHERE type = 'step_completed'").fetchone()
        assert steps == (100,)
        finished = db.execute(
            "SELECT count(*) FROM orchestrations WHERE status = 'COMPLETED'"
        ).fetchone()
        assert finished == (50,)


def test_sigkill_during_compensation_and_webhook_delivery_resumes_both(fresh_db, tmp_path):
    """The outbox and the compensation rows are in the outcome's commit: a crash resumes them."""
    hook_port = free_port()  # nothing listens here until after the crash
    hook_url = f"http://127.0.0.1:{hook_port}/webhooks/orra"
    env = {**FAST, "ORRA_WEBHOOK_ATTEMPTS": "200", "ORRA_WEBHOOK_MAX_DELAY": "0.3"}
    server = ServerProcess(fresh_db, env=env).start()
    api, project = new_project(server.url, webhooks=[hook_url])
    reverts = tmp_path / "reverts.log"
    services = ServiceProcess(
        [FAULTY, server.url, project["apiKey"], "saga"],
        env={"REVERT_LOG": str(reverts), "REVERT_DELAY": "3"},
    ).start()
    try:
        names = {"reserve-stock", "charge-card", "ship-order"}
        wait_until(lambda: api.services_online(names), 30, "the saga services")
        execution_id = api.post(
            "/orchestrations", saga_request("slow-1", "fail", maxAttempts=1)
        ).json()["executionId"]
        assert api.wait_finished(execution_id)["status"] == "FAILED"

        def reverting() -> bool:
            comps = api.get(f"/orchestrations/{execution_id}").json().get("compensations", [])
            return bool(comps) and comps[0]["status"] == "running"

        wait_until(reverting, 10, "the slow compensation to be running")
        assert (
            api.get(f"/orchestrations/{execution_id}/deliveries").json()["deliveries"][0]["status"]
            == "pending"
        )  # its endpoint is down
        server.stop(signal.SIGKILL)

        again = ServerProcess(fresh_db, port=server.port, env=env).start()
        try:
            with WebhookReceiver(port=hook_port) as receiver:
                _, hook, _ = receiver.next(timeout=30)
                assert hook["executionId"] == execution_id and hook["status"] == "FAILED"

                def compensated():
                    body = api.get(f"/orchestrations/{execution_id}").json()
                    comps = body.get("compensations", [])
                    final = all(c["status"] not in ("pending", "running") for c in comps)
                    return comps if comps and final else None

                comps = wait_until(compensated, 30, "the compensation to resume and end")
                assert [(c["stepId"], c["status"]) for c in comps] == [
                    ("step2", "partial"),
                    ("step1", "completed"),
                ]
                delivery = api.get(f"/orchestrations/{execution_id}/deliveries").json()
                assert delivery["deliveries"][0]["status"] == "delivered"
                assert delivery["deliveries"][0]["attempts"] > 1
        finally:
            again.stop()
    finally:
        services.stop()
    log = reverts.read_text().splitlines()
    assert "charge-card slow-1 failed" in log  # at least once: it was running at the crash
    assert log[-1] == "reserve-stock slow-1 failed"
