"""A control-plane crash loses no accepted orchestration and no completed step result."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import duckdb
from test_reliability import FAST, FAULTY, saga_request

from helpers import (
    SERVICES,
    Api,
    ServerProcess,
    ServiceProcess,
    WebhookReceiver,
    free_port,
    new_project,
    one_step,
    serving,
    socket_for,
    wait_until,
)
from orra_sdk.vocabulary import StepStatus
from orra_server.core.ids import new_id, now
from orra_server.engine.run import run_from_rows
from orra_server.store import Change, Store


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
        # each run stays in its second step for 3 s: long enough that all 50 are in flight
        # together even when posting them is slow (a busy machine took over a second)
        env={"COUNT_DELAY": "3.0", "COUNT_CONCURRENCY": "64"},
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

        wait_until(counting, 20, "all 50 to be running")
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
        server.stop(signal.SIGKILL)  # (killed already, unless the test failed before that)

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


# -- one run recovery cannot resume fails alone ------------------------------------------------
TEXT = {"text-shouter", "word-counter"}


def _start(api: Api, body: dict[str, Any]) -> str:
    answer = api.post("/orchestrations", body)
    assert answer.status_code == 202, answer.text
    return answer.json()["executionId"]


async def _write_as_an_old_version(db: Path, template: str, ghost: str) -> str:
    """Through the store, what an older control plane could have left: a copy of ``template``
    whose step is called ``step²`` (``int('²')`` once crashed every start-up), and a plan of
    ``ghost`` whose step depends on a step that does not exist. The copy's id is returned."""
    store = Store(str(db))
    try:
        run = run_from_rows(store.orchestration(template), store.steps_of(template))
        (step,) = run.steps.values()
        step.id, step.approval, step.status, run.options = "step²", None, StepStatus.PENDING, None
        run.plan = {"steps": [{**run.plan["steps"][0], "id": "step²"}]}
        run.steps = {step.id: step}
        run.id, run.created_at = new_id("o_", 20), now()
        await store.accept(run, [step])
        broken = run_from_rows(store.orchestration(ghost), store.steps_of(ghost))
        plan = broken.plan
        broken.plan = {"steps": [{**plan["steps"][0], "dependencies": ["ghost"]}]}
        await store.record([Change(ghost, "plan_edited", now(), orchestration=broken)])
        await store.sync()
        return run.id
    finally:
        store.close()


def test_a_run_that_cannot_be_resumed_fails_alone_and_the_others_resume(fresh_db, tmp_path):
    """A database holding runs recovery cannot rebuild — a plan that no longer builds, a step
    row whose JSON does not parse — and one whose step id once crashed every start (``step²``):
    the control plane starts, the bad runs end FAILED with the reason (their webhook sent),
    the others resume and complete."""
    with WebhookReceiver() as receiver:
        server = ServerProcess(fresh_db).start()
        api, _ = new_project(server.url, webhooks=[receiver.url])
        with serving(api, "sdk_services.py", "text", online=TEXT):
            gated = one_step("text-shouter", "message", "hello there", approve=["step1"])
            good, ghost, corrupt = (_start(api, gated) for _ in range(3))
            for execution_id in (good, ghost, corrupt):
                wait_until(
                    lambda i=execution_id: (
                        api.get(f"/orchestrations/{i}").json()["status"] == "AWAITING_APPROVAL"
                    ),
                    10,
                    "the runs to wait for approval",
                )
            server.stop()
            unicode = asyncio.run(_write_as_an_old_version(fresh_db, good, ghost))
            with duckdb.connect(str(fresh_db)) as db:  # a row no version could read back
                db.execute(
                    "UPDATE steps SET input = '{\"message\": ' WHERE orchestration_id = ?",
                    [corrupt],
                )
            receiver.drain()
            again = ServerProcess(fresh_db, port=server.port).start()  # it starts
            try:
                ghostly = api.get(f"/orchestrations/{ghost}").json()
                assert ghostly["status"] == "FAILED", ghostly
                assert ghostly["error"] == (
                    "could not be resumed after a restart: KeyError: 'ghost'"
                )
                broken = api.get(f"/orchestrations/{corrupt}").json()
                assert broken["status"] == "FAILED", broken
                assert broken["error"].startswith(
                    "could not be resumed after a restart: JSONDecodeError"
                ), broken["error"]
                answer = api.get(f"/orchestrations/{ghost}/logs")
                assert answer.status_code == 200, answer.text
                logs = answer.json()["logs"]
                assert [line["level"] for line in logs if line["event"] == "recovery_failed"] == [
                    "error"
                ]
                # the failure's webhook goes out as any failure's does
                hooks = [receiver.next()[1] for _ in range(2)]
                assert {(h["executionId"], h["status"]) for h in hooks} == {
                    (ghost, "FAILED"),
                    (corrupt, "FAILED"),
                }
                # the others resume: the good one still waits for its person
                approved = api.post(f"/orchestrations/{good}/steps/step1/approve")
                assert approved.status_code == 200, approved.text
                for execution_id in (good, unicode):
                    body = api.wait_finished(execution_id)
                    assert body["status"] == "COMPLETED", body
                    assert body["result"] == {"shouted": "HELLO THERE"}
                assert api.wait_finished(unicode)["stepResults"][0]["id"] == "step²"
                fresh = _start(api, one_step("text-shouter", "message", "new work"))
                assert api.wait_finished(fresh)["status"] == "COMPLETED"
            finally:
                again.stop()
    log = again.log()
    assert f"orchestration {ghost} could not be resumed (KeyError: 'ghost')" in log, log
    assert log.count("could not be resumed (") == 2, log
    assert "Traceback" not in log, log


async def _break_the_plan(db: Path, execution_id: str) -> None:
    """Through the store: the run's last step now depends on a step that does not exist."""
    store = Store(str(db))
    try:
        run = run_from_rows(store.orchestration(execution_id), store.steps_of(execution_id))
        steps = [dict(step) for step in run.plan["steps"]]
        steps[-1]["dependencies"] = [*steps[-1]["dependencies"], "ghost"]
        run.plan = {"steps": steps}
        await store.record([Change(execution_id, "plan_edited", now(), orchestration=run)])
        await store.sync()
    finally:
        store.close()


def test_a_run_that_cannot_be_resumed_is_undone_like_any_failed_run(fresh_db, tmp_path):
    """Its completed revertible step is compensated, as for any failure."""
    reverts = tmp_path / "reverts.log"
    server = ServerProcess(fresh_db, env=FAST).start()
    api, _ = new_project(server.url)
    names = {"reserve-stock", "charge-card", "ship-order"}
    with serving(api, FAULTY, "saga", online=names, env={"REVERT_LOG": str(reverts)}):
        execution_id = _start(api, saga_request("o-24", "ok", approve=["step2"]))
        wait_until(
            lambda: (
                api.get(f"/orchestrations/{execution_id}").json()["status"] == "AWAITING_APPROVAL"
            ),
            10,
            "step2 to wait for approval",
        )
        server.stop()
        asyncio.run(_break_the_plan(fresh_db, execution_id))
        again = ServerProcess(fresh_db, port=server.port, env=FAST).start()
        try:
            body = api.wait_finished(execution_id)
            assert body["status"] == "FAILED", body
            assert body["error"] == "could not be resumed after a restart: KeyError: 'ghost'"

            def compensated() -> list[dict[str, Any]] | None:
                found = api.get(f"/orchestrations/{execution_id}").json().get("compensations")
                return found if found and found[0]["status"] == "completed" else None

            (compensation,) = wait_until(compensated, 30, "step1 to be compensated")
            assert compensation["stepId"] == "step1"
        finally:
            again.stop()
    assert reverts.read_text().splitlines() == ["reserve-stock o-24 failed"]


# -- maxAttempts holds across crashes --------------------------------------------------------
def test_max_attempts_caps_dispatches_across_repeated_sigkills(fresh_db, tmp_path):
    """A service that takes the task and never answers, a control plane killed (-9) each time
    it holds the task: with ``maxAttempts: 3`` the service gets the task 3 times in all, then
    the step fails saying its attempts were spent across restarts."""
    server = ServerProcess(fresh_db, env=FAST).start()
    api, _ = new_project(server.url)
    schema = {"input": {"type": "object", "properties": {"orderId": {"type": "string"}}}}
    _, url = socket_for(api, "silent-service", "Takes an order and never answers", schema)
    received = tmp_path / "received.log"
    silent = ServiceProcess([str(SERVICES / "silent_service.py"), url, str(received)]).start()

    def sent() -> int:
        return len(received.read_text().splitlines()) if received.exists() else 0

    try:
        wait_until(lambda: api.services_online({"silent-service"}), 20, "the silent service")
        body = one_step("silent-service", "orderId", "o-1", maxAttempts=3, replan="off")
        execution_id = _start(api, body)
        current = server
        for kill in range(1, 4):
            wait_until(lambda k=kill: sent() >= k, 30, f"dispatch {kill}")
            current.stop(signal.SIGKILL)  # while the service holds the task
            current = ServerProcess(fresh_db, port=server.port, env=FAST).start()
        try:
            finished = api.wait_finished(execution_id, timeout=30)
            assert finished["status"] == "FAILED", finished
            assert "spent across restarts" in finished["error"], finished["error"]
            assert finished["stepResults"][0]["attempts"] == 3
            logs = api.get(f"/orchestrations/{execution_id}/logs").json()["logs"]
            assert [line["event"] for line in logs].count("step_dispatched") == 3
        finally:
            current.stop()
    finally:
        silent.stop()
    keys = received.read_text().splitlines()
    assert len(keys) == 3 and len(set(keys)) == 1, keys  # the same task, three times in all
