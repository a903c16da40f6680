"""Fault injection with real processes: retries, timeouts, outages, abort, cancel, compensation,
compensation failures, the webhook outbox, and the event stream."""

from __future__ import annotations

import http.server
import json
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from helpers import (
    SERVICES,
    Api,
    ServerProcess,
    ServiceProcess,
    WebhookReceiver,
    faulty_env,
    new_project,
    one_step,
    saga_request,
    server_fixture,
    serving,
    wait_until,
)
from orra_server.api.schemas import CompensationFailureList, CompensationFailureOut
from orra_server.delivery.webhooks import verify

FAULTY = str(SERVICES / "faulty_services.py")

#: fast backoff so retries and compensation attempts take milliseconds, not seconds
FAST = {
    "ORRA_RETRY_DELAY": "0.05",
    "ORRA_RETRY_MAX_DELAY": "0.2",
    "ORRA_COMPENSATION_ATTEMPTS": "3",
    "ORRA_COMPENSATION_TIMEOUT": "5",
    "ORRA_WEBHOOK_DELAY": "0.05",
}


server = server_fixture("reliability", env=FAST)


@pytest.fixture(scope="module")
def saga(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory):
    """A project with the saga, flaky and worker services running in one process."""
    api, project = new_project(server.url, lasting=True)
    logs = tmp_path_factory.mktemp("saga-logs")
    env = faulty_env(logs, work_delay="1.5")
    process = ServiceProcess(
        [FAULTY, server.url, project["apiKey"], "saga,flaky,worker"], env=env
    ).start()
    names = {"reserve-stock", "charge-card", "ship-order", "flaky-echo", "slow-worker"}
    wait_until(lambda: api.services_online(names), 30, "the faulty services")
    yield api, project, logs
    output = process.stop()
    api.close()
    assert "Traceback" not in output, output[-3000:]


def start(api: Api, body: dict[str, Any]) -> str:
    return api.accepted(body)["executionId"]


def compensated(api: Api, execution_id: str, count: int) -> dict[str, Any]:
    """The orchestration once ``count`` compensations have ended."""

    def done():
        body = api.get(f"/orchestrations/{execution_id}").json()
        ended = [c for c in body.get("compensations", []) if c["status"] not in ("pending",)]
        final = [c for c in ended if c["status"] != "running"]
        return body if len(final) == count else None

    return wait_until(done, 30, f"{count} compensations of {execution_id}")


def failed_and_compensated(api: Api, order: str) -> tuple[str, dict[str, dict[str, Any]]]:
    """A saga whose shipping fails: its id, and its two compensations by step once ended."""
    execution_id = start(api, saga_request(order, "fail", maxAttempts=1))
    assert api.wait_finished(execution_id)["status"] == "FAILED"
    body = compensated(api, execution_id, 2)
    return execution_id, {c["stepId"]: c for c in body["compensations"]}


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def events(api: Api, execution_id: str) -> list[dict[str, Any]]:
    return api.get(f"/orchestrations/{execution_id}/logs").json()["logs"]


# -- retries and timeouts ----------------------------------------------------------------------
def test_a_service_that_fails_twice_then_succeeds_completes_on_attempt_3(saga):
    api, _, _ = saga
    execution_id = start(api, one_step("flaky-echo", "text", "hello"))
    body = api.wait_finished(execution_id)
    assert body["status"] == "COMPLETED", body
    (step,) = body["stepResults"]
    assert step["attempts"] == 3
    assert step["output"] == {"echo": "hello", "calls": 3}
    log = events(api, execution_id)
    retries = [e for e in log if e["event"] == "step_retrying"]
    assert [e["payload"]["kind"] for e in retries] == ["service_error", "service_error"]
    assert "transient failure 1" in retries[0]["message"]
    # each retry after a service error goes out under a new idempotency key
    keys = [e["payload"]["idempotencyKey"] for e in log if e["event"] == "step_dispatched"]
    assert len(keys) == 3 and len(set(keys)) == 3
    # the service's own policy (sent at registration) governs it unless the caller overrides
    services = {s["name"]: s for s in api.get("/services").json()["services"]}
    assert services["flaky-echo"]["policy"] == {"maxAttempts": 4, "initialDelaySeconds": 0.05}
    capped = start(api, one_step("flaky-echo", "text", "capped", maxAttempts=2))
    body = api.wait_finished(capped)
    assert body["status"] == "FAILED" and body["stepResults"][0]["attempts"] == 2


def test_a_step_that_never_answers_in_time_fails_after_its_attempts(saga):
    api, _, _ = saga
    body = start(api, one_step("slow-worker", "job", "late", timeoutSeconds=0.3, maxAttempts=2))
    result = api.wait_finished(body)
    assert result["status"] == "FAILED"
    (step,) = result["stepResults"]
    assert step["attempts"] == 2
    assert step["error"] == "no answer within 0.3 s (attempt 2)"
    assert "after 2 attempts" in result["error"]
    log = events(api, body)
    kinds = [e["payload"]["kind"] for e in log if e["event"] == "step_retrying"]
    assert kinds == ["timeout"]
    # a timed-out task is re-sent under the same key, so the service says it is still on it
    keys = {e["payload"]["idempotencyKey"] for e in log if e["event"] == "step_dispatched"}
    assert len(keys) == 1
    wait_until(
        lambda: any(e["event"] == "step_status" for e in events(api, body)),
        10,
        "the service's in_progress answer",
    )


# -- failure, abort and cancel with compensation ------------------------------------------------
def test_an_always_failing_step_fails_the_run_and_compensates_in_reverse_order(saga):
    api, _, logs = saga
    execution_id = start(api, saga_request("o-fail", "fail", maxAttempts=2))
    body = api.wait_finished(execution_id)
    assert body["status"] == "FAILED"
    assert [s["status"] for s in body["stepResults"]] == ["COMPLETED", "COMPLETED", "FAILED"]
    assert body["stepResults"][2]["attempts"] == 2
    assert body["stepResults"][2]["error"] == "Service error: no courier available"
    body = compensated(api, execution_id, 2)
    comps = body["compensations"]
    assert [(c["stepId"], c["status"], c["reason"]) for c in comps] == [
        ("step2", "partial", "failed"),
        ("step1", "completed", "failed"),
    ]
    assert comps[0]["result"]["partial"] == {"completed": ["refund"], "remaining": ["fee"]}
    reverts = [x for x in lines(logs / "reverts.log") if "o-fail" in x]
    assert reverts == ["charge-card o-fail failed", "reserve-stock o-fail failed"]


def test_a_service_abort_ends_the_run_aborted_and_compensates(saga):
    api, _, logs = saga
    execution_id = start(api, saga_request("o-abort", "abort"))
    body = api.wait_finished(execution_id)
    assert body["status"] == "ABORTED"
    assert body["stepResults"][2]["status"] == "ABORTED"
    assert body["stepResults"][2]["attempts"] == 1  # an abort is never retried
    assert "step3 (ship-order) aborted" in body["error"]
    body = compensated(api, execution_id, 2)
    assert {c["reason"] for c in body["compensations"]} == {"aborted"}
    assert [x for x in lines(logs / "reverts.log") if "o-abort" in x] == [
        "charge-card o-abort aborted",
        "reserve-stock o-abort aborted",
    ]
    aborted = [e for e in events(api, execution_id) if e["event"] == "step_aborted"]
    assert aborted[0]["payload"] == {"reason": "address is on a sanctions list"}


def test_cancel_stops_the_running_step_and_compensates_completed_ones(saga):
    api, _, logs = saga
    execution_id = start(api, saga_request("o-cancel", "slow"))

    # the handler itself has started: a step shows RUNNING from the moment its attempt is
    # counted, a little before the frame reaches the service (a cancel in between sends nothing)
    started = "ship-order o-cancel started"
    wait_until(lambda: started in lines(logs / "reverts.log"), 15, "the slow step to start")
    steps = api.get(f"/orchestrations/{execution_id}").json()["stepResults"]
    assert steps[2]["status"] == "RUNNING"
    answer = api.post(
        f"/orchestrations/{execution_id}/cancel", {"reason": "customer changed their mind"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "CANCELLED"
    body = api.get(f"/orchestrations/{execution_id}").json()
    assert body["status"] == "CANCELLED"
    assert body["error"] == "cancelled by the caller: customer changed their mind"
    assert [s["status"] for s in body["stepResults"]] == ["COMPLETED", "COMPLETED", "CANCELLED"]
    # the running handler was told and stopped; the completed steps were undone
    wait_until(
        lambda: "ship-order o-cancel cancelled" in lines(logs / "reverts.log"),
        30,  # a deadline, not a wait: generous for a machine busy with the other worker
        "the ship handler to be cancelled",
    )
    body = compensated(api, execution_id, 2)
    assert {c["reason"] for c in body["compensations"]} == {"cancelled"}
    again = api.post(f"/orchestrations/{execution_id}/cancel")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "orchestration_finished"
    missing = api.post("/orchestrations/o_nope/cancel")
    assert missing.status_code == 404


def test_cancel_without_compensation_and_of_a_paused_run(saga, server):
    api, _, _ = saga
    other, project = new_project(server.url)
    other.post(
        "/register/service",
        {"name": "slow-worker", "description": "Does slow work", "schema": None},
    )
    execution_id = start(other, one_step("slow-worker", "job", "never"))
    wait_until(
        lambda: other.get(f"/orchestrations/{execution_id}").json()["status"] == "PAUSED",
        10,
        "the run to pause",
    )
    answer = other.post(f"/orchestrations/{execution_id}/cancel", {"compensate": False})
    assert answer.status_code == 200
    body = other.get(f"/orchestrations/{execution_id}").json()
    assert body["status"] == "CANCELLED"
    assert body["stepResults"][0]["status"] == "SKIPPED"
    assert "compensations" not in body


def test_compensation_data_past_its_ttl_is_not_sent(server, tmp_path):
    api, project = new_project(server.url)
    reverts = tmp_path / "reverts.log"
    names = {"reserve-stock", "charge-card", "ship-order"}
    env = {"REVERT_LOG": str(reverts), "CHARGE_TTL_MS": "1"}
    with serving(api, "faulty_services.py", "saga", online=names, timeout=30, env=env):
        _, by_step = failed_and_compensated(api, "o-ttl")
        assert by_step["step2"]["status"] == "expired"
        assert by_step["step2"]["attempts"] == 0
        assert "expired" in by_step["step2"]["error"]
        assert by_step["step1"]["status"] == "completed"
        assert lines(reverts) == ["reserve-stock o-ttl failed"]  # the charge was never sent


def test_a_compensation_that_keeps_failing_becomes_a_record_to_resolve(saga):
    api, _, logs = saga
    with WebhookReceiver() as receiver:
        added = api.post("/compensation-failure-webhooks", {"url": receiver.url})
        assert added.status_code == 201
        execution_id, by_step = failed_and_compensated(api, "stuck-1")
        assert by_step["step2"]["status"] == "failed"
        assert by_step["step2"]["attempts"] == 3
        assert "the card network refuses refunds" in by_step["step2"]["error"]
        assert by_step["step1"]["status"] == "completed"  # the next one still ran
        headers, hook, raw = receiver.next()
        assert hook["type"] == "compensation_failure"
        assert hook["orchestrationId"] == execution_id and hook["status"] == "pending"
    charges = [x for x in lines(logs / "reverts.log") if x.startswith("charge-card stuck-1")]
    assert len(charges) == 3
    listed = api.get("/compensation-failures", params={"status": "pending"}).json()
    (failure,) = [f for f in listed["compensationFailures"] if f["orchestrationId"] == execution_id]
    assert failure["id"] == hook["id"]
    assert failure["stepId"] == "step2" and failure["component"] == "charge-card"
    assert failure["compensation"]["input"]["originalTask"]["orderId"] == "stuck-1"
    assert failure["context"]["reason"] == "failed"
    no_reason = api.post(f"/compensation-failures/{failure['id']}/resolve", {})
    assert no_reason.status_code == 400
    resolved = api.post(
        f"/compensation-failures/{failure['id']}/resolve", {"reason": "refunded by hand"}
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["resolution"] == "refunded by hand"
    got = api.get(f"/compensation-failures/{failure['id']}").json()
    assert got["status"] == "resolved"
    # the bodies are what /openapi.json documents
    CompensationFailureList.model_validate(listed)
    CompensationFailureOut.model_validate(resolved.json())
    CompensationFailureOut.model_validate(got)
    twice = api.post(f"/compensation-failures/{failure['id']}/ignore", {"reason": "x"})
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "compensation_failure_not_pending"
    assert api.get("/compensation-failures/cf_nope").status_code == 404


# -- outages ------------------------------------------------------------------------------------
def test_a_run_pauses_while_its_service_is_offline_and_resumes_when_it_connects(server, tmp_path):
    api, project = new_project(server.url)
    api.post("/register/service", {"name": "slow-worker", "description": "Does slow work"})
    execution_id = start(api, one_step("slow-worker", "job", "outage"))
    wait_until(
        lambda: api.get(f"/orchestrations/{execution_id}").json()["status"] == "PAUSED",
        10,
        "the run to pause",
    )
    process = ServiceProcess(
        [FAULTY, server.url, project["apiKey"], "worker"], env={"WORK_DELAY": "0"}
    ).start()
    try:
        body = api.wait_finished(execution_id)
        assert body["status"] == "COMPLETED"
        assert body["stepResults"][0]["output"]["job"] == "outage"
        kinds = [e["event"] for e in events(api, execution_id)]
        assert kinds.index("orchestration_paused") < kinds.index("orchestration_running")
    finally:
        process.stop()


def test_past_the_offline_grace_period_the_step_fails_with_a_clear_reason(server):
    api, _ = new_project(server.url)
    api.post("/register/service", {"name": "slow-worker", "description": "Does slow work"})
    execution_id = start(api, one_step("slow-worker", "job", "x", offlineGraceSeconds=0.5))
    body = api.wait_finished(execution_id)
    assert body["status"] == "FAILED"
    assert "service 'slow-worker' had no connected instance for 0.5 s" in body["error"]
    assert body["stepResults"][0]["attempts"] == 0


def test_a_service_killed_mid_task_hands_the_task_to_another_instance(server, tmp_path):
    api, project = new_project(server.url)
    work_log = tmp_path / "work.log"
    env = {"WORK_LOG": str(work_log), "WORK_DELAY": "2"}
    args = [FAULTY, server.url, project["apiKey"], "worker"]
    first = ServiceProcess(args, env=env).start()
    second = ServiceProcess(args, env=env).start()
    try:
        wait_until(lambda: api.services_online({"slow-worker"}, count=2), 30, "two instances")
        execution_id = start(api, one_step("slow-worker", "job", "survive"))
        started = wait_until(lambda: lines(work_log), 10, "the task to start")
        victim_pid = int(started[0].split()[0])
        victim = first if first.proc and first.proc.pid == victim_pid else second
        survivor = second if victim is first else first
        victim.stop(signal.SIGKILL)
        body = api.wait_finished(execution_id, timeout=30)
        assert body["status"] == "COMPLETED"
        (step,) = body["stepResults"]
        assert step["output"]["pid"] == survivor.proc.pid  # type: ignore[union-attr]
        assert step["attempts"] == 2
        log = events(api, execution_id)
        assert [e["event"] for e in log].count("step_completed") == 1
        retry = next(e for e in log if e["event"] == "step_retrying")
        assert retry["payload"]["kind"] == "connection_lost"
    finally:
        first.stop()
        second.stop()


# -- webhooks -----------------------------------------------------------------------------------
class FlakyReceiver:
    """Answers 500 to the first ``failures`` deliveries, then 200."""

    def __init__(self, failures: int) -> None:
        self.received: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                code = 500 if len(receiver.received) < failures else 200
                receiver.received.append((dict(self.headers.items()), body, code))
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_webhook_that_fails_three_times_is_delivered_on_attempt_4(saga, server):
    _, project, _ = saga
    receiver = FlakyReceiver(failures=3)
    try:
        api, created = new_project(server.url, webhooks=[receiver.url])
        process = ServiceProcess([FAULTY, server.url, created["apiKey"], "flaky"]).start()
        try:
            wait_until(lambda: api.services_online({"flaky-echo"}), 30, "flaky-echo")
            execution_id = start(api, one_step("flaky-echo", "text", "hook"))
            assert api.wait_finished(execution_id)["status"] == "COMPLETED"

            def delivered():
                found = api.get(f"/orchestrations/{execution_id}/deliveries").json()
                return found if found["deliveries"][0]["status"] == "delivered" else None

            deliveries = wait_until(delivered, 20, "the delivery")["deliveries"]
        finally:
            process.stop()
        (delivery,) = deliveries
        assert delivery["attempts"] == 4
        assert [h["status"] for h in delivery["history"]] == [500, 500, 500, 200]
        assert [code for _, _, code in receiver.received] == [500, 500, 500, 200]
        ids = {headers["webhook-id"] for headers, _, _ in receiver.received}
        assert ids == {delivery["id"]}  # one id across attempts: receivers can drop repeats
        headers, raw, _ = receiver.received[-1]
        assert verify(created["webhookSecret"], headers, raw)
        assert json.loads(raw)["status"] == "COMPLETED"
        # a failing webhook never changes the outcome
        assert api.get(f"/orchestrations/{execution_id}").json()["status"] == "COMPLETED"
    finally:
        receiver.close()


# -- events -------------------------------------------------------------------------------------
def test_events_stream_live_with_interim_results_and_resume_from_last_event_id(saga):
    api, _, _ = saga
    execution_id = start(api, one_step("slow-worker", "job", "streamed"))
    live = api.read_events(execution_id)  # opened while the step runs
    kinds = [e["type"] for e in live]
    assert kinds[-1] == "orchestration_completed"
    assert "step_interim_result" in kinds
    interim = next(e for e in live if e["type"] == "step_interim_result")
    assert interim["payload"] == {"progress": 50, "job": "streamed"}
    assert interim["stepId"] == "step1"
    seqs = [e["seq"] for e in live]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(str(e["seq"]) == e["sse_id"] for e in live)
    resumed = api.read_events(execution_id, **{"Last-Event-ID": str(seqs[1])})
    assert [e["seq"] for e in resumed] == seqs[2:]
    bad = api.get(f"/orchestrations/{execution_id}/events", headers={"Last-Event-ID": "abc"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_last_event_id"
    logs = api.get(f"/orchestrations/{execution_id}/logs").json()["logs"]
    messages = [e["message"] for e in logs]
    assert "step1 (slow-worker) completed" in messages
    assert any(m.startswith("step1 (slow-worker) sent to instance") for m in messages)


def test_policy_overrides_are_checked_and_shown(saga):
    api, _, _ = saga
    bad = api.post("/orchestrations", one_step("flaky-echo", "text", "x", maxAttempts=0))
    assert bad.status_code == 400
    assert "maxAttempts" in bad.json()["error"]["message"]
    typo = api.post("/orchestrations", one_step("flaky-echo", "text", "x", timeoutSecs=3))
    assert typo.status_code == 400
    registered = api.post(
        "/register/service",
        {"name": "patient-service", "description": "waits", "policy": {"timeoutSeconds": 900}},
    )
    assert registered.status_code == 200
    listed = {s["name"]: s for s in api.get("/services").json()["services"]}
    assert listed["patient-service"]["policy"] == {"timeoutSeconds": 900}
