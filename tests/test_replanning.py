"""Re-planning: a step that fails for good makes the engine plan the rest without its service.

Real control plane, real ``orra_sdk`` services in their own process, a real DuckDB file; the
LLM, where there is one, is the scripted local server.
"""

from __future__ import annotations

import copy
import json
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from fake_llm import ScriptedLLM
from helpers import (
    FAST_RETRIES,
    REPLAN_SERVICES,
    SEED_LOOKUPS,
    SEED_PLAN,
    SEED_REGISTRATIONS,
    Api,
    ServerProcess,
    WebhookReceiver,
    calls_in,
    new_project,
    seed_request,
    server_fixture,
    serving,
    wait_until,
)

pytestmark = pytest.mark.slow


def request(**options: Any) -> dict[str, Any]:
    return seed_request(**{"maxAttempts": 2, **options})


server = server_fixture("replan", env=FAST_RETRIES)


@pytest.fixture
def api(server: ServerProcess) -> Api:
    return new_project(server.url)[0]


def start(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    return api.accepted(body)


def test_a_failed_service_is_replanned_onto_its_alternative(
    server: ServerProcess, tmp_path: Path
) -> None:
    log = tmp_path / "calls.log"
    online = {*SEED_LOOKUPS, "ai-assistant-service", "backup-assistant-service"}
    with WebhookReceiver() as receiver:
        api, _ = new_project(server.url, webhooks=[receiver.url])
        env = {"CALL_LOG": str(log)}
        with serving(api, REPLAN_SERVICES, "lookups,broken,backup", online=online, env=env):
            accepted = start(api, request())
            assert accepted["plan"]["steps"][3]["component"] == "ai-assistant-service"
            body = api.wait_finished(accepted["executionId"])
        delivered = receiver.next()[1]  # the webhook says the plan was revised
    assert delivered["status"] == "COMPLETED"
    assert delivered["revisions"][0]["added"] == ["step5"]
    assert body["status"] == "COMPLETED", body
    assert body["result"].get("content") == "Hi Jane Doe, meet Premium Analytics Suite.", body
    (revision,) = body["revisions"]
    assert revision["revision"] == 1 and revision["failedStep"] == "step4"
    assert "step4 (ai-assistant-service) failed" in revision["reason"]
    assert "the model is down" in revision["reason"]
    assert "ai-assistant-service" in revision["excluded"]
    assert revision["replaced"] == ["step4"] and revision["added"] == ["step5"]
    assert revision["source"] == "schema-flow"
    steps = {s["id"]: s for s in body["stepResults"]}
    assert list(steps) == ["step1", "step2", "step3", "step5"]
    assert all(s["status"] == "COMPLETED" for s in steps.values())
    assert body["replacedSteps"][0]["id"] == "step4"
    assert body["replacedSteps"][0]["status"] == "FAILED"
    # the completed steps ran once; their outputs fed the new step
    assert calls_in(log) == Counter(
        {
            "customer-data-service": 1,
            "product-catalog-service": 1,
            "seller-data-service": 1,
            "ai-assistant-service": 2,
            "backup-assistant-service": 1,
        }
    )
    plan = api.get(f"/orchestrations/{accepted['executionId']}/plan").json()["plan"]
    new_step = plan["steps"][-1]
    assert new_step["component"] == "backup-assistant-service"
    assert new_step["input"]["customerProfile"] == "{{step1.output.customerProfile}}"
    assert set(new_step["dependencies"]) == {"step1", "step2", "step3"}
    events = api.get(f"/orchestrations/{accepted['executionId']}/logs").json()["logs"]
    (revised,) = [e for e in events if e["event"] == "plan_revised"]
    assert revised["payload"]["oldPlan"]["steps"][3]["component"] == "ai-assistant-service"
    assert revised["payload"]["newPlan"]["steps"][3]["id"] == "step5"


def test_replan_off_fails_and_compensates_as_before(api: Api, tmp_path: Path) -> None:
    online = {*SEED_LOOKUPS, "ai-assistant-service", "backup-assistant-service"}
    with serving(api, REPLAN_SERVICES, "lookups,broken,backup", online=online):
        accepted = start(api, request(replan="off"))
        body = api.wait_finished(accepted["executionId"])
    assert body["status"] == "FAILED"
    assert body["error"] == (
        "step4 (ai-assistant-service) failed after 2 attempts: Service error: the model is down"
    )
    assert "revisions" not in body and len(body["stepResults"]) == 4


def test_no_alternative_fails_with_every_reason(api: Api) -> None:
    online = {*SEED_LOOKUPS, "ai-assistant-service"}
    with serving(api, REPLAN_SERVICES, "lookups,broken", online=online):
        body = api.wait_finished(start(api, request())["executionId"])
    assert body["status"] == "FAILED"
    assert body["error"].startswith("step4 (ai-assistant-service) failed after 2 attempts")
    assert "; re-planning: " in body["error"]
    assert "revisions" not in body
    logs = api.get(f"/orchestrations/{body['executionId']}/logs").json()["logs"]
    assert [e["event"] for e in logs].count("replan_failed") == 1


def test_max_replans_is_respected(api: Api, tmp_path: Path) -> None:
    online = {*SEED_LOOKUPS, "ai-assistant-service", "backup-assistant-service"}
    env = {"BACKUP_FAILS": "1"}
    with serving(api, REPLAN_SERVICES, "lookups,broken,backup", online=online, env=env):
        body = api.wait_finished(start(api, request(maxReplans=1))["executionId"])
        none = api.wait_finished(start(api, request(maxReplans=0))["executionId"])
    assert body["status"] == "FAILED"
    assert len(body["revisions"]) == 1
    assert "step5 (backup-assistant-service) failed" in body["error"]
    assert "the plan was revised 1 time(s), the most allowed" in body["error"]
    assert none["status"] == "FAILED" and "revisions" not in none


def test_an_offline_service_past_its_grace_is_replanned(api: Api) -> None:
    # registered but never connected: the planner still picks it (it describes the job best)
    assistant = next(r for r in SEED_REGISTRATIONS if r["name"] == "ai-assistant-service")
    assert api.post("/register/service", assistant).status_code == 200
    with serving(
        api, REPLAN_SERVICES, "lookups,backup", online={*SEED_LOOKUPS, "backup-assistant-service"}
    ):
        accepted = start(api, request(offlineGraceSeconds=1))
        assert accepted["plan"]["steps"][3]["component"] == "ai-assistant-service"
        body = api.wait_finished(accepted["executionId"])
    assert body["status"] == "COMPLETED", body
    assert "offline grace period" in body["revisions"][0]["reason"]
    assert body["stepResults"][-1]["id"] == "step5"


QUARTET = ["assistant-a", "assistant-b", "assistant-c", "assistant-d"]


def _quartet_request() -> dict[str, Any]:
    """The seed, its reply planned on ``assistant-a``, one attempt a step, re-planning up to
    the API's most (10): what stops it here is running out of services."""
    body = request(maxAttempts=1, maxReplans=10)
    plan = copy.deepcopy(SEED_PLAN)
    plan["steps"][3]["component"] = "assistant-a"
    body["plan"] = plan
    return body


@pytest.mark.parametrize("fourth_fails", [False, True])
def test_each_replan_leaves_out_every_service_that_failed(
    server: ServerProcess, tmp_path: Path, fourth_fails: bool
) -> None:
    """Four interchangeable assistants; the first three called fail for good. Each re-plan
    leaves out every one that has failed so far, so each is tried once and the fourth does the
    work; when it fails too, the run fails naming all four."""
    log = tmp_path / "calls.log"
    log.touch()
    api, _ = new_project(server.url)
    env = {"CALL_LOG": str(log), **({"QUARTET_FAILS": "1"} if fourth_fails else {})}
    with serving(
        api, REPLAN_SERVICES, "lookups,quartet", online={*SEED_LOOKUPS, *QUARTET}, env=env
    ):
        body = api.wait_finished(start(api, _quartet_request())["executionId"], timeout=60)
    calls = calls_in(log)
    assert {name: calls[name] for name in QUARTET} == dict.fromkeys(QUARTET, 1), calls
    assert all(calls[name] == 1 for name in SEED_LOOKUPS), calls
    tried = [r["excluded"] for r in body.get("revisions", [])]
    assert [len(excluded) for excluded in tried] == [1, 2, 3], body.get("revisions")
    if not fourth_fails:
        assert body["status"] == "COMPLETED", body
        (last,) = [name for name in QUARTET if name not in tried[-1]]
        assert body["result"]["content"] == f"Hi from {last}."
        return
    assert body["status"] == "FAILED", body
    for name in QUARTET:
        assert f"({name}) failed: Service error: {name} is down" in body["error"], body["error"]
    assert f"tried and failed: {', '.join(QUARTET)}" in body["error"], body["error"]


def _remainder_plan() -> dict[str, Any]:
    """What the scripted LLM answers for the remainder: the facts are data fields to it."""
    return {
        "steps": [
            {
                "id": "step1",
                "component": "backup-assistant-service",
                "action": "composeReply",
                "input": {
                    "customerProfile": "{{request.data.customerProfile}}",
                    "relevantProducts": "{{request.data.relevantProducts}}",
                    "sellerProfile": "{{request.data.sellerProfile}}",
                    "inquiry": "{{request.action.content}}",
                },
                "dependencies": [],
            }
        ]
    }


def test_the_llm_plans_the_remainder(tmp_path: Path) -> None:
    with ScriptedLLM() as llm:
        server = ServerProcess(tmp_path / "orra.duckdb", env=llm.env(**FAST_RETRIES)).start()
        try:
            api, _ = new_project(server.url)
            online = {*SEED_LOOKUPS, "ai-assistant-service", "backup-assistant-service"}
            with serving(api, REPLAN_SERVICES, "lookups,broken,backup", online=online):
                llm.answer(SEED_PLAN)
                llm.answer(_remainder_plan())
                body = api.wait_finished(start(api, request())["executionId"])
        finally:
            server.stop()
    assert body["status"] == "COMPLETED", body
    assert body["revisions"][0]["source"] == "llm"
    # the LLM was told what is already known (as data) and offered no failed service
    replan_prompt = json.dumps(llm.requests[1])
    assert "customerProfile" in replan_prompt and "mustProduce" in replan_prompt
    assert "Jane Doe" not in replan_prompt  # data values stay out of prompts, facts too
    assert "backup-assistant-service" in replan_prompt
    assert "ai-assistant-service" not in replan_prompt


def test_a_crash_while_replanning_replans_after_the_restart(tmp_path: Path) -> None:
    """The control plane is killed while the LLM works on the remainder; after the restart the
    run is re-planned (the failed step is not run again) and completes."""
    log = tmp_path / "calls.log"
    with ScriptedLLM() as llm:
        env = llm.env(ORRA_LLM_TIMEOUT="30", **FAST_RETRIES)
        first = ServerProcess(tmp_path / "orra.duckdb", env=env).start()
        api, _ = new_project(first.url)
        online = {*SEED_LOOKUPS, "ai-assistant-service", "backup-assistant-service"}
        with serving(
            api, REPLAN_SERVICES, "lookups,broken,backup", online=online, env={"CALL_LOG": str(log)}
        ):
            llm.answer(SEED_PLAN)
            llm.answer(_remainder_plan(), delay=20)  # the first re-plan never answers in time
            execution_id = start(api, request())["executionId"]
            wait_until(lambda: len(llm.requests) == 2, 20, "the re-planning LLM call")
            first.stop(signal.SIGKILL)
            llm.answer(_remainder_plan())
            second = first.again().start()
            try:
                wait_until(lambda: api.services_online(online), 30, "the services to reconnect")
                body = api.wait_finished(execution_id, timeout=60)
            finally:
                second.stop()
    assert body["status"] == "COMPLETED", body
    assert len(body["revisions"]) == 1
    counted = calls_in(log)
    assert counted["ai-assistant-service"] == 2  # not sent again after the restart
    assert counted["backup-assistant-service"] == 1
    assert all(counted[name] == 1 for name in SEED_LOOKUPS)
