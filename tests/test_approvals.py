"""Approval gates and re-runs from a step: real control plane, real services, real DuckDB."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from helpers import (
    FAST_RETRIES,
    REPLAN_SERVICES,
    ROOT,
    SEED_REQUEST,
    SEED_SERVICES,
    Api,
    ServerProcess,
    WebhookReceiver,
    calls_in,
    new_project,
    orra_cli,
    seed_request,
    server_fixture,
    serving,
    wait_until,
)
from kernel import Kernel
from orra_server.delivery.webhooks import verify
from orra_studio import Client
from orra_studio.notebook import ApprovalsPanel, PlanPreview, RunProgress
from orra_studio.notebook.widgets import follow

pytestmark = pytest.mark.slow

#: the seed's action and data as the client and the notebook widgets take them
ACTION = {"type": "customer-inquiry", "content": SEED_REQUEST["action"]["content"]}
DATA = {"customerId": "cust12345", "sellerId": "sell98765"}


def status_of(api: Api, execution_id: str) -> dict[str, Any]:
    return api.get(f"/orchestrations/{execution_id}").json()


server = server_fixture("approvals", env={**FAST_RETRIES, "ORRA_WEBHOOK_DELAY": "0.05"})


@pytest.fixture(scope="module")
def seeded(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory):
    """A project with a signed webhook and the seed services (every call noted)."""
    log = tmp_path_factory.mktemp("calls") / "calls.log"
    with WebhookReceiver() as receiver:
        api, project = new_project(server.url, webhooks=[receiver.url])
        Api.opened.remove(api)
        with serving(
            api,
            REPLAN_SERVICES,
            "lookups,assistant",
            online=SEED_SERVICES,
            env={"CALL_LOG": str(log)},
        ):
            yield api, project, receiver, log
    api.close()


def start(api: Api, body: dict[str, Any]) -> str:
    return api.accepted(body)["executionId"]


def awaiting(api: Api, execution_id: str, step_id: str) -> dict[str, Any]:
    def waiting() -> dict[str, Any] | None:
        body = status_of(api, execution_id)
        steps = {s["id"]: s for s in body["stepResults"]}
        return body if steps[step_id]["status"] == "AWAITING_APPROVAL" else None

    return wait_until(waiting, 15, f"{step_id} to wait for approval")


def test_a_gated_step_waits_while_the_others_run_then_runs_the_edited_input(seeded) -> None:
    api, project, receiver, log = seeded
    before = calls_in(log)
    execution_id = start(api, seed_request(approve=["step3"]))
    body = awaiting(api, execution_id, "step3")
    wait_until(
        lambda: all(
            s["status"] == "COMPLETED"
            for s in status_of(api, execution_id)["stepResults"]
            if s["id"] in ("step1", "step2")
        ),
        15,
        "the other branches",
    )
    body = status_of(api, execution_id)
    assert body["status"] == "AWAITING_APPROVAL"
    step3 = next(s for s in body["stepResults"] if s["id"] == "step3")
    assert step3["input"] == {"sellerId": "sell98765"} and step3["approval"] == "required"
    (listed,) = [
        a for a in api.get("/approvals").json()["approvals"] if a["executionId"] == execution_id
    ]
    assert listed["stepId"] == "step3" and listed["input"] == {"sellerId": "sell98765"}
    # the webhook says so, signed like every delivery
    headers, sent, raw = receiver.next()
    assert sent["type"] == "approval_requested" and sent["stepId"] == "step3"
    assert verify(project["webhookSecret"], headers, raw)
    assert calls_in(log)["seller-data-service"] == before["seller-data-service"]  # not sent yet

    approved = api.post(
        f"/orchestrations/{execution_id}/steps/step3/approve",
        {"input": {"sellerId": "sell-approved"}, "comment": "checked", "approver": "Ada"},
    )
    assert approved.status_code == 200, approved.text
    done = api.wait_finished(execution_id)
    assert done["status"] == "COMPLETED", done
    assert done["result"]["content"] == "Hi Jane Doe, from sell-approved."
    logs = api.get(f"/orchestrations/{execution_id}/logs").json()["logs"]
    (decision,) = [e for e in logs if e["event"] == "step_approved"]
    assert decision["payload"]["by"].startswith("Ada (key ")
    assert decision["payload"]["comment"] == "checked" and decision["payload"]["edited"]
    assert receiver.next()[1]["status"] == "COMPLETED"


def test_rejection_and_timeout_fail_the_step(seeded) -> None:
    api, _, receiver, _ = seeded
    rejected = start(api, seed_request(approve=["step1"], replan="off"))
    awaiting(api, rejected, "step1")
    answer = api.post(
        f"/orchestrations/{rejected}/steps/step1/reject", {"reason": "wrong customer"}
    )
    assert answer.status_code == 200, answer.text
    body = api.wait_finished(rejected)
    assert body["status"] == "FAILED"
    assert body["error"].startswith("step1 (customer-data-service) failed: rejected by key ")
    assert body["error"].endswith(": wrong customer")

    timed_out = start(
        api, seed_request(approve=["step1"], replan="off", approvalTimeoutSeconds=0.5)
    )
    body = api.wait_finished(timed_out)
    assert body["status"] == "FAILED"
    assert "rejected by timeout: no decision within 0.5 s" in body["error"]
    receiver.drain()  # the deliveries of these runs: not checked here


def test_bad_decisions_are_clear_errors(seeded, server: ServerProcess) -> None:
    api, _, receiver, _ = seeded
    execution_id = start(api, seed_request(approve=["step2"]))
    awaiting(api, execution_id, "step2")
    not_waiting = api.post(f"/orchestrations/{execution_id}/steps/step1/approve")
    assert not_waiting.status_code == 409
    error = not_waiting.json()["error"]
    assert error["code"] == "step_not_awaiting_approval"
    assert error["details"]["status"] in ("RUNNING", "COMPLETED", "PENDING")
    bad = api.post(f"/orchestrations/{execution_id}/steps/step2/approve", {"input": {"x": 1}})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_step_input"
    assert "inquiry" in bad.json()["error"]["message"]
    missing = api.post(f"/orchestrations/{execution_id}/steps/step9/approve")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "step_not_found"
    other, _ = new_project(server.url)
    foreign = other.post(f"/orchestrations/{execution_id}/steps/step2/approve")
    assert foreign.status_code == 404
    assert foreign.json()["error"]["code"] == "orchestration_not_found"
    unknown = api.post("/orchestrations", seed_request(approve=["step7"]))
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_step"
    empty_reason = api.post(f"/orchestrations/{execution_id}/steps/step2/reject", {"reason": ""})
    assert empty_reason.status_code == 400
    assert api.post(f"/orchestrations/{execution_id}/steps/step2/approve").status_code == 200
    assert api.wait_finished(execution_id)["status"] == "COMPLETED"
    receiver.drain()


def test_rerun_from_step_3_with_an_edited_input(seeded, server: ServerProcess) -> None:
    api, _, receiver, log = seeded
    first = start(api, seed_request())
    assert api.wait_finished(first)["status"] == "COMPLETED"
    before = calls_in(log)
    answer = api.post(
        f"/orchestrations/{first}/rerun",
        {"fromStep": "step3", "input": {"step3": {"sellerId": "sell-rerun"}}},
    )
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert accepted["parentId"] == first and accepted["reused"] == ["step1", "step2"]
    body = api.wait_finished(accepted["executionId"])
    assert body["status"] == "COMPLETED", body
    assert body["parentId"] == first
    assert body["result"]["content"] == "Hi Jane Doe, from sell-rerun."
    after = calls_in(log)
    assert after["customer-data-service"] == before["customer-data-service"]  # reused
    assert after["product-catalog-service"] == before["product-catalog-service"]
    assert after["seller-data-service"] == before["seller-data-service"] + 1
    assert after["ai-assistant-service"] == before["ai-assistant-service"] + 1

    assert api.post(f"/orchestrations/{first}/rerun", {"fromStep": "step9"}).status_code == 404
    reused_edit = api.post(
        f"/orchestrations/{first}/rerun",
        {"fromStep": "step3", "input": {"step1": {"customerId": "c"}}},
    )
    assert reused_edit.status_code == 400
    assert reused_edit.json()["error"]["code"] == "step_reused"
    other, _ = new_project(server.url)
    assert other.post(f"/orchestrations/{first}/rerun").status_code == 404
    receiver.drain()


def test_a_wait_survives_a_crash_of_the_control_plane(tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    first = ServerProcess(tmp_path / "orra.duckdb", env=FAST_RETRIES).start()
    api, _ = new_project(first.url)
    with serving(
        api, REPLAN_SERVICES, "lookups,assistant", online=SEED_SERVICES, env={"CALL_LOG": str(log)}
    ):
        execution_id = start(api, seed_request(approve=["step4"]))
        awaiting(api, execution_id, "step4")
        # a second run waits with a deadline, which the restart must neither restart nor forget
        deadline = start(
            api, seed_request(approve=["step4"], replan="off", approvalTimeoutSeconds=4)
        )
        awaiting(api, deadline, "step4")
        approvals = api.get("/approvals").json()["approvals"]
        (listed,) = [a for a in approvals if a["executionId"] == deadline]
        requested = datetime.fromisoformat(listed["requestedAt"])
        expires = datetime.fromisoformat(listed["expiresAt"])
        assert expires - requested == timedelta(seconds=4)
        first.stop(signal.SIGKILL)
        # time passes while the control plane is down: the deadline is what is tested here
        time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.5)
        second = first.again().start()
        serving_again = datetime.now(UTC)
        try:
            timed_out = api.wait_finished(deadline)
            assert timed_out["status"] == "FAILED", timed_out
            assert "rejected by timeout: no decision within 4 s" in timed_out["error"]
            logs = api.get(f"/orchestrations/{deadline}/logs").json()["logs"]
            (rejection,) = [line for line in logs if line["event"] == "step_rejected"]
            # rejected on recovery (the deadline had passed), not 4 s after the restart
            rejected_at = datetime.fromisoformat(rejection["time"])
            assert rejected_at < serving_again + timedelta(seconds=2), (rejected_at, serving_again)
            wait_until(lambda: api.services_online(SEED_SERVICES), 30, "the services to reconnect")
            body = status_of(api, execution_id)
            assert body["status"] == "AWAITING_APPROVAL", body
            waiting = api.get("/approvals").json()["approvals"]
            assert [(a["executionId"], a["stepId"]) for a in waiting] == [(execution_id, "step4")]
            approved = api.post(f"/orchestrations/{execution_id}/steps/step4/approve")
            assert approved.status_code == 200, approved.text
            body = api.wait_finished(execution_id)
        finally:
            second.stop()
    assert body["status"] == "COMPLETED", body
    calls = calls_in(log)
    # each step of both runs ran once, except the timed-out run's step4, which never ran
    assert calls == {name: 2 for name in SEED_SERVICES} | {"ai-assistant-service": 1}, calls


def test_an_approval_right_after_a_restart_is_accepted_before_the_services_return(
    tmp_path: Path,
) -> None:
    """A gated step needs no service until it is approved: after a crash the run still waits
    for approval (not PAUSED), a decision sent at once is accepted, and the step runs when its
    service is back (the run is PAUSED only then, while the service is still offline)."""
    log = tmp_path / "calls.log"
    first = ServerProcess(tmp_path / "orra.duckdb", env=FAST_RETRIES).start()
    api, _ = new_project(first.url)
    env = {"CALL_LOG": str(log)}
    with serving(api, REPLAN_SERVICES, "lookups,assistant", online=SEED_SERVICES, env=env):
        execution_id = start(api, seed_request(approve=["step4"]))
        # killed the moment the wait shows: what a caller sees waiting is on disk already
        deadline = time.monotonic() + 15
        while status_of(api, execution_id)["status"] != "AWAITING_APPROVAL":
            assert time.monotonic() < deadline, "step4 never waited for approval"
        first.stop(signal.SIGKILL)
    # the services are gone too: nothing of this run may need them before the approval
    second = first.again().start()
    try:
        body = status_of(api, execution_id)
        assert body["status"] == "AWAITING_APPROVAL", body
        assert not api.services_online({"ai-assistant-service"})
        approved = api.post(f"/orchestrations/{execution_id}/steps/step4/approve")
        assert approved.status_code == 200, approved.text
        # approved, its service offline: now (and only now) the run waits for it
        wait_until(lambda: status_of(api, execution_id)["status"] == "PAUSED", 10, "PAUSED")
        with serving(api, REPLAN_SERVICES, "lookups,assistant", online=SEED_SERVICES, env=env):
            body = api.wait_finished(execution_id)
    finally:
        second.stop()
    assert body["status"] == "COMPLETED", body
    assert calls_in(log) == {name: 1 for name in SEED_SERVICES}, calls_in(log)


def test_the_cli_lists_approves_rejects_and_reruns(seeded, tmp_path: Path) -> None:
    api, _, receiver, _ = seeded
    env = {**os.environ, "ORRA_URL": api.url, "ORRA_API_KEY": api.key or ""}
    env["ORRA_CONFIG"] = str(tmp_path / "config.toml")
    # orra run with a gate stops when the step waits, and says how to decide (exit 5)
    content = SEED_REQUEST["action"]["content"]
    data = ["-d", "customerId:cust12345", "-d", "sellerId:sell98765"]
    gate = ["--approve", "step2", "--approval-timeout", "600"]
    gated = orra_cli("run", content, *data, *gate, env={**env, "COLUMNS": "200"})
    assert gated.returncode == 5, gated.stdout + gated.stderr
    said = " ".join(gated.stdout.split())
    found = re.search(r"(o_\w+) waits for a person's approval", said)
    assert found, said
    gated_id = found.group(1)
    assert f"orra approve {gated_id} step2 or orra reject {gated_id} step2 --reason" in said
    waiting = api.get("/approvals").json()["approvals"]
    (listed,) = [a for a in waiting if a["executionId"] == gated_id]
    assert listed["stepId"] == "step2" and listed["expiresAt"] is not None
    assert orra_cli("approve", gated_id, "step2", env=env).returncode == 0
    assert api.wait_finished(gated_id)["status"] == "COMPLETED"

    first = start(api, seed_request(approve=["step2"]))
    awaiting(api, first, "step2")
    listed = orra_cli("approvals", "ls", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    mine = [a for a in json.loads(listed.stdout) if a["executionId"] == first]
    assert [a["stepId"] for a in mine] == ["step2"]
    approved = orra_cli("approve", first, "step2", "--comment", "looks right", env=env)
    assert approved.returncode == 0, approved.stderr
    assert f"{first} is now" in approved.stdout
    assert api.wait_finished(first)["status"] == "COMPLETED"
    again = orra_cli("approve", first, "step2", env=env)
    assert again.returncode != 0 and "Traceback" not in again.stderr
    assert "not AWAITING_APPROVAL" in again.stderr

    second = start(api, seed_request(approve=["step2"], replan="off"))
    awaiting(api, second, "step2")
    rejected = orra_cli("reject", second, "step2", "--reason", "not today", env=env)
    assert rejected.returncode == 0, rejected.stderr
    assert api.wait_finished(second)["status"] == "FAILED"

    rerun = orra_cli("rerun", first, "--from", "step4", "--json", env=env)
    assert rerun.returncode == 0, rerun.stderr
    accepted = json.loads(rerun.stdout)
    assert accepted["parentId"] == first and accepted["reused"] == ["step1", "step2", "step3"]
    assert api.wait_finished(accepted["executionId"])["status"] == "COMPLETED"
    bad = orra_cli("rerun", first, "--input", "step4", env=env)
    assert bad.returncode != 0 and "STEP=JSON" in bad.stderr
    receiver.drain()


def test_the_notebook_widgets_approve_and_reject(seeded) -> None:
    api, _, receiver, _ = seeded
    client = Client(api.url, api.key)
    accepted = client.submit(ACTION, DATA, options={"approve": ["step3"]})
    view = RunProgress(accepted, client=client)
    assert follow(client, accepted, view, 30, stop_when_waiting=True) is None
    card = view.approvals["step3"]
    assert card.shown_input == {"sellerId": "sell98765"}
    card.input_editor.value = '{"sellerId": "sell-notebook"}'
    card.approve_button.click()
    assert card.decision == "approved", card.notice.value
    result = follow(client, accepted, view, 30)
    assert result is not None and result.status == "COMPLETED"
    assert result.result["content"] == "Hi Jane Doe, from sell-notebook."
    assert not view.approvals  # decided: the card is gone

    options = {"approve": ["step1"], "replan": "off", "approvalTimeoutSeconds": 600}
    second = client.submit(ACTION, DATA, options=options)
    awaiting(api, second["executionId"], "step1")
    panel = ApprovalsPanel(client)
    card = next(c for c in panel.cards if c.execution_id == second["executionId"])
    (listed,) = [a for a in client.approvals() if a["executionId"] == second["executionId"]]
    assert f"rejected without a decision at {listed['expiresAt']}" in card.children[0].value
    card.reject_button.click()
    assert card.decision == "error" and "reason" in card.notice.value
    card.reason.value = "not this customer"
    card.reject_button.click()
    assert card.decision == "rejected"
    assert api.wait_finished(second["executionId"])["status"] == "FAILED"
    client.close()
    receiver.drain()


def test_the_magics_approve_from_the_run_widget_and_rerun(seeded, tmp_path: Path) -> None:
    api, _, receiver, _ = seeded
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORRA_", "OPENAI_"))}
    env |= {"ORRA_CONFIG": str(tmp_path / "config.toml"), "HOME": str(tmp_path)}
    kernel = Kernel(env, cwd=str(ROOT))
    try:
        kernel.ok("%load_ext orra_studio")
        kernel.ok(f"%orra connect {api.url} --api-key {api.key}")
        content = SEED_REQUEST["action"]["content"]
        said = kernel.ok(
            f"r = %orra run 'customer-inquiry: {content}' customerId=cust12345 "
            "sellerId=sell98765 --approve step3"
        ).stdout
        assert "step3 waits for approval" in said
        kernel.ok("panel = %orra approvals")
        assert "step3" in kernel.value("[c.step_id for c in panel.cards]")
        kernel.ok(
            "v = get_ipython().find_magic('orra').__self__.session.last_run\n"
            "v.approvals['step3'].approve_button.click()"
        )
        wait_until(
            lambda: kernel.value("v.result.status if v.result else None") == "COMPLETED",
            30,
            "the widget to see the end",
        )
        execution_id = kernel.value("v.progress.execution_id")
        kernel.ok(f"again = %orra rerun {execution_id} --from step4")
        assert kernel.value("again.status") == "COMPLETED"
        assert (
            api.get(f"/orchestrations/{kernel.value('again.execution_id')}").json()["parentId"]
            == execution_id
        )
        bad = kernel.run(f"%orra approve {execution_id} step3")
        assert "not AWAITING_APPROVAL" in bad.shown and "Traceback" not in bad.shown
    finally:
        kernel.close()
    receiver.drain()


def test_a_plan_preview_marks_a_step_to_wait_for_approval(seeded) -> None:
    api, _, receiver, _ = seeded
    client = Client(api.url, api.key)
    preview = PlanPreview(client, ACTION, DATA, client.plan(ACTION, DATA), timeout=30)
    preview.gates["step2"].value = True
    assert preview.plan["steps"][1]["requiresApproval"] is True
    assert preview.run() is None  # it waits: the widget's card decides
    progress = preview.progress_box.children[0]
    card = progress.approvals["step2"]
    card.approve_button.click()
    assert card.decision == "approved"
    execution_id = progress.progress.execution_id
    assert api.wait_finished(execution_id)["status"] == "COMPLETED"
    client.close()
    receiver.drain()
