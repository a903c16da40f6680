"""Preview a plan, edit it, run the edited plan; caller plans pass the same validator."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import datetime

import pytest

from helpers import (
    SEED_REQUEST,
    SERVICES,
    Api,
    ServerProcess,
    ServiceProcess,
    new_project,
    seed_services,
    wait_until,
)


@pytest.fixture(scope="module")
def seed_project(live_server: ServerProcess) -> Iterator[Api]:
    api, _ = new_project(live_server.url)
    Api.opened.remove(api)  # lives for the module, not one test
    with seed_services(api):
        yield api
    api.close()


def _count(api: Api) -> int:
    return len(api.get("/orchestrations").json()["orchestrations"])


def test_dry_run_then_run_the_plan_with_a_step_removed(seed_project: Api) -> None:
    api = seed_project
    before = _count(api)
    preview = api.post("/orchestrations", {**SEED_REQUEST, "dryRun": True})
    assert preview.status_code == 200
    body = preview.json()
    assert body["status"] == "PREVIEW" and body["executionId"] is None
    assert body["validation"] == {"valid": True, "errors": [], "warnings": []}
    assert body["provenance"]["source"] == "schema-flow"
    assert _count(api) == before, "a dry run runs nothing"

    plan = copy.deepcopy(body["plan"])
    seller = next(s for s in plan["steps"] if s["component"] == "seller-data-service")
    plan["steps"].remove(seller)
    final = next(s for s in plan["steps"] if s["component"] == "ai-assistant-service")
    final["dependencies"].remove(seller["id"])
    final["input"]["sellerProfile"] = {"name": "Edited Seller", "department": "Sales"}

    answer = api.post("/orchestrations", {**SEED_REQUEST, "plan": plan})
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert accepted["status"] == "ACCEPTED" and accepted["planSource"] == "caller"
    assert len(accepted["plan"]["steps"]) == 3
    done = api.wait_finished(accepted["executionId"])
    assert done["status"] == "COMPLETED", done
    assert "seller-data-service" not in {s["component"] for s in done["stepResults"]}
    (reply,) = [s for s in done["stepResults"] if s["component"] == "ai-assistant-service"]
    assert reply["input"]["sellerProfile"]["name"] == "Edited Seller"

    stored = api.get(f"/orchestrations/{accepted['executionId']}/plan").json()
    assert stored["source"] == "caller" and stored["plan"]["steps"] == accepted["plan"]["steps"]


def test_run_a_plan_with_an_input_changed(seed_project: Api) -> None:
    api = seed_project
    plan = api.post("/orchestrations", {**SEED_REQUEST, "dryRun": True}).json()["plan"]
    catalog = next(s for s in plan["steps"] if s["component"] == "product-catalog-service")
    catalog["input"]["inquiry"] = "Which plan includes single sign-on?"
    answer = api.post("/orchestrations", {**SEED_REQUEST, "plan": plan}).json()
    done = api.wait_finished(answer["executionId"])
    assert done["status"] == "COMPLETED"
    (step,) = [s for s in done["stepResults"] if s["component"] == "product-catalog-service"]
    assert step["input"] == {"inquiry": "Which plan includes single sign-on?"}


def test_invalid_caller_plan_is_refused_with_every_error(seed_project: Api) -> None:
    api = seed_project
    plan = api.post("/orchestrations", {**SEED_REQUEST, "dryRun": True}).json()["plan"]
    plan["steps"][0]["input"] = {}  # drop a required input
    plan["steps"][-1]["component"] = "no-such-service"
    before = _count(api)

    refused = api.post("/orchestrations", {**SEED_REQUEST, "plan": plan})
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "invalid_plan" and error["param"] == "plan"
    rules = {d["rule"] for d in error["details"]}
    assert {"missing_required_input", "unknown_component"} <= rules
    assert all({"step", "field", "rule", "message"} <= set(d) for d in error["details"])
    assert _count(api) == before

    # the same plan as a dry run: a 200 that shows what to fix
    preview = api.post("/orchestrations", {**SEED_REQUEST, "plan": plan, "dryRun": True})
    assert preview.status_code == 200
    assert preview.json()["validation"]["valid"] is False
    assert {e["rule"] for e in preview.json()["validation"]["errors"]} == rules


def test_malformed_plan_is_a_clear_4xx(seed_project: Api) -> None:
    answer = seed_project.post("/orchestrations", {**SEED_REQUEST, "plan": {"steps": "step1"}})
    assert answer.status_code in (400, 422)
    assert answer.json()["error"]["code"] == "invalid_request"
    assert "plan" in answer.json()["error"]["message"]


def test_plan_of_unknown_orchestration_is_404(seed_project: Api) -> None:
    answer = seed_project.get("/orchestrations/o_nope/plan")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "orchestration_not_found"


def test_estimate_follows_measured_durations(live_server: ServerProcess) -> None:
    api, _ = new_project(live_server.url)
    shout = {"action": {"type": "shout-and-count", "content": "shout this message, count words"}}
    services = ServiceProcess(
        [str(SERVICES / "sdk_services.py"), live_server.url, api.key, "text"],
        env={"COUNT_DELAY": "1.5"},
    ).start()
    try:
        wait_until(lambda: api.services_online({"text-shouter", "word-counter"}))

        def seconds_ahead() -> float:
            sent = datetime.now().astimezone()
            plan = api.post("/orchestrations", {**shout, "dryRun": True}).json()["plan"]
            estimate = datetime.fromisoformat(plan["estimatedCompletionTime"])
            return (estimate - sent).total_seconds()

        # never measured: the default of 1 s per step, two steps in a row
        assert 1.9 <= seconds_ahead() <= 2.5
        done = api.wait_finished(api.post("/orchestrations", shout).json()["executionId"])
        assert done["status"] == "COMPLETED"
        # measured: the shouter takes milliseconds, the counter 1.5 s
        assert 1.4 <= seconds_ahead() <= 1.95
    finally:
        services.stop()
