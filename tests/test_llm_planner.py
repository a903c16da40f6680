"""The LLM planner against a real local OpenAI-compatible server, through the real openai client."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fake_llm import ScriptedLLM
from helpers import (
    SEED_PLAN,
    SEED_REGISTRATIONS,
    SEED_REQUEST,
    SEED_SERVICES,
    Api,
    ServerProcess,
    free_port,
    new_project,
    register,
    seed_services,
)


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


@pytest.fixture(scope="module")
def llm_server(llm: ScriptedLLM, tmp_path_factory: pytest.TempPathFactory):
    server = ServerProcess(tmp_path_factory.mktemp("llm") / "orra.duckdb", env=llm.env()).start()
    yield server
    server.stop()


@pytest.fixture
def seeded(llm: ScriptedLLM, llm_server: ServerProcess) -> Iterator[Api]:
    """A new project with the seed services registered, and no answers left over."""
    llm.answers.clear()
    llm.requests.clear()
    api, _ = new_project(llm_server.url)
    register(api, SEED_REGISTRATIONS)
    yield api
    assert not llm.answers, "a scripted answer was never asked for"


def _dry(api: Api, request: dict[str, Any] = SEED_REQUEST) -> dict[str, Any]:
    answer = api.post("/orchestrations", {**request, "dryRun": True})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _components(plan: dict[str, Any]) -> list[str]:
    return [s["component"] for s in plan["steps"]]


def test_good_plan_runs_end_to_end_and_is_recorded(llm, llm_server, seeded: Api) -> None:
    llm.answer(SEED_PLAN)
    with seed_services(seeded):
        answer = seeded.post("/orchestrations", SEED_REQUEST)
        assert answer.status_code == 202, answer.text
        body = answer.json()
        assert body["status"] == "ACCEPTED"
        assert body["planSource"] == "llm" and body["cache"] == "miss"
        assert body["plan"]["parallelExecutionGroups"] == [["step1", "step2", "step3"], ["step4"]]
        done = seeded.wait_finished(body["executionId"])
        assert done["status"] == "COMPLETED", done
        assert done["result"]["content"]

    (sent,) = llm.requests
    assert sent["model"] == "scripted-model"
    assert sent["response_format"]["type"] == "json_schema"
    prompt = json.dumps(sent["messages"])
    for name in SEED_SERVICES | {"customerId", "sellerId"}:
        assert name in prompt
    assert "cust12345" not in prompt, "data values stay out of the prompt"

    plan = seeded.get(f"/orchestrations/{body['executionId']}/plan").json()
    assert plan["source"] == "llm" and plan["model"] == "scripted-model"
    assert plan["repairRounds"] == 0 and plan["cache"] == "miss"
    (call,) = plan["llmCalls"]
    assert call["ok"] and call["structured"] and call["prompt_tokens"] > 0
    assert call["latency_ms"] > 0


def test_cache_hit_makes_no_llm_call(llm, seeded: Api) -> None:
    llm.answer(SEED_PLAN)
    request = copy.deepcopy(SEED_REQUEST)
    request["action"]["content"] += " It is about my order 4411."
    first = seeded.post("/orchestrations", request).json()
    assert first["cache"] == "miss" and len(llm.requests) == 1
    # the same kind of action, for another customer and order: the same plan fits
    again = copy.deepcopy(request)
    again["data"][0]["value"] = "cust99999"
    again["action"]["content"] = again["action"]["content"].replace("4411", "5522")
    second = seeded.post("/orchestrations", again).json()
    third = seeded.post("/orchestrations", {**again, "dryRun": True}).json()
    assert second["cache"] == "hit" and second["planSource"] == "cache"
    assert third["cache"] == "hit"
    assert second["plan"]["steps"] == first["plan"]["steps"]
    assert len(llm.requests) == 1, "a cache hit must not call the LLM"
    plan = seeded.get(f"/orchestrations/{second['executionId']}/plan").json()
    assert plan["cache"] == "hit" and plan["provenance"]["madeBy"]["source"] == "llm"
    assert plan["llmCalls"] == []


def test_cache_invalidated_when_a_service_changes_its_schema(llm, seeded: Api) -> None:
    llm.answer(SEED_PLAN)
    assert seeded.post("/orchestrations", SEED_REQUEST).json()["cache"] == "miss"
    # the same registration again (a service restart) keeps the cache
    register(seeded, SEED_REGISTRATIONS[:1])
    assert seeded.post("/orchestrations", SEED_REQUEST).json()["cache"] == "hit"
    # a new output schema does not
    changed = copy.deepcopy(SEED_REGISTRATIONS[0])
    changed["schema"]["output"]["properties"]["loyaltyTier"] = {"type": "string"}
    register(seeded, [changed])
    llm.answer(SEED_PLAN)
    after = seeded.post("/orchestrations", SEED_REQUEST).json()
    assert after["cache"] == "miss" and after["planSource"] == "llm"
    assert len(llm.requests) == 2


def test_plan_in_a_fenced_block_after_think(llm, seeded: Api) -> None:
    llm.answer(
        "<think>The reply needs the customer, the products and the seller first, so three "
        "lookups in parallel, then the assistant.</think>\n"
        "Here is the plan:\n```json\n" + json.dumps(SEED_PLAN, indent=2) + "\n```\nDone."
    )
    preview = _dry(seeded)
    assert preview["validation"] == {
        "valid": True,
        "errors": [],
        "warnings": preview["validation"]["warnings"],
    }
    assert _components(preview["plan"])[-1] == "ai-assistant-service"
    (round0,) = preview["provenance"]["llm"]["rounds"]
    assert "three lookups in parallel" in round0["reasoning"]
    assert "<think>" not in json.dumps(preview["plan"])


def test_invalid_plan_repaired_in_one_round(llm, seeded: Api) -> None:
    broken = copy.deepcopy(SEED_PLAN)
    del broken["steps"][2]["input"]["sellerId"]  # missing required input
    broken["steps"][3]["dependencies"] = ["step2", "step3"]  # step1 referenced, not a dependency
    llm.answer(broken, reasoning_content="First attempt: I think the seller id is optional.")
    llm.answer(SEED_PLAN)
    answer = seeded.post("/orchestrations", SEED_REQUEST)
    assert answer.status_code == 202 and answer.json()["status"] == "ACCEPTED", answer.text
    assert len(llm.requests) == 2
    repair = llm.requests[1]["messages"]
    assert repair[-2]["role"] == "assistant"
    feedback = repair[-1]["content"]
    assert "missing_required_input" in feedback and "sellerId" in feedback
    assert "reference_not_dependency" in feedback and "step1" in feedback

    plan = seeded.get(f"/orchestrations/{answer.json()['executionId']}/plan").json()
    assert plan["source"] == "llm" and plan["repairRounds"] == 1
    rounds = plan["provenance"]["llm"]["rounds"]
    assert {e["rule"] for e in rounds[0]["errors"]} == {
        "missing_required_input",
        "reference_not_dependency",
    }
    assert rounds[0]["reasoning"] == "First attempt: I think the seller id is optional."
    assert rounds[1]["errors"] == []
    assert [c["round"] for c in plan["llmCalls"]] == [0, 1]


def test_plan_that_stays_invalid_falls_back_to_schema_flow(llm, seeded: Api) -> None:
    wrong = {"steps": [{"id": "step1", "component": "no-such-service", "input": {}}]}
    for _ in range(3):  # the first answer and two repair rounds
        llm.answer(wrong)
    answer = seeded.post("/orchestrations", SEED_REQUEST).json()
    assert answer["status"] == "ACCEPTED" and answer["planSource"] == "schema-flow"
    assert sorted(_components(answer["plan"])) == sorted(SEED_SERVICES)
    plan = seeded.get(f"/orchestrations/{answer['executionId']}/plan").json()
    assert plan["provenance"]["fallback"] is True
    assert "still invalid after 2 repair rounds" in plan["provenance"]["llm"]["outcome"]
    assert len(plan["llmCalls"]) == 3


def test_invalid_llm_plan_and_no_schema_flow_plan_is_not_actionable(
    llm, llm_server: ServerProcess
) -> None:
    llm.answers.clear()
    api, _ = new_project(llm_server.url)
    register(api, SEED_REGISTRATIONS[3:])  # only the assistant: its inputs have no source
    wrong = {"steps": [{"id": "step1", "component": "ai-assistant-service", "input": {}}]}
    for _ in range(3):
        llm.answer(wrong)
    answer = api.post("/orchestrations", SEED_REQUEST)
    assert answer.status_code == 202
    body = answer.json()
    assert body["status"] == "NOT_ACTIONABLE" and body["plan"] is None
    assert "still invalid after 2 repair rounds" in body["message"]
    assert "closest: ai-assistant-service; it needs 'customerProfile'" in body["message"]
    stored = api.get(f"/orchestrations/{body['executionId']}").json()
    assert stored["status"] == "NOT_ACTIONABLE"
    assert not llm.answers


def test_llm_that_says_not_actionable(llm, seeded: Api) -> None:
    llm.answer({"steps": [], "notActionable": True, "reason": "no service books flights"})
    request = {"action": {"type": "travel", "content": "Book me a flight to Lisbon"}, "data": []}
    body = seeded.post("/orchestrations", request).json()
    assert body["status"] == "NOT_ACTIONABLE"
    assert "no service books flights" in body["message"]
    assert "scripted-model" in body["message"]


def test_llm_timeout_falls_back_to_schema_flow(llm, seeded: Api) -> None:
    llm.answer(SEED_PLAN, delay=10)
    llm.answer(SEED_PLAN, delay=10)
    body = seeded.post("/orchestrations", SEED_REQUEST).json()
    assert body["status"] == "ACCEPTED" and body["planSource"] == "schema-flow"
    plan = seeded.get(f"/orchestrations/{body['executionId']}/plan").json()
    calls = plan["llmCalls"]
    assert [c["attempt"] for c in calls] == [1, 2]
    assert all(not c["ok"] and "timed out" in c["error"] for c in calls)
    assert all(c["latency_ms"] >= 900 for c in calls), calls
    assert "timed out (after 2 attempts)" in plan["provenance"]["llm"]["outcome"]


def test_endpoint_without_structured_output(tmp_path: Path) -> None:
    with ScriptedLLM(refuse_structured_output=True) as llm:
        # configured by `orra serve` options this time, not the environment
        options = ["--llm-base-url", llm.url, "--llm-model", "cli-model", "--llm-timeout", "5"]
        server = ServerProcess(tmp_path / "orra.duckdb", args=options).start()
        try:
            api, _ = new_project(server.url)
            register(api, SEED_REGISTRATIONS)
            llm.answer("```json\n" + json.dumps(SEED_PLAN) + "\n```")
            preview = _dry(api)
            assert preview["validation"]["valid"] and preview["planSource"] == "llm"
            assert llm.requests[0]["model"] == "cli-model"
            assert "response_format" in llm.requests[0]
            assert "response_format" not in llm.requests[1]
            # remembered: the next plan asks plainly at once
            llm.answer(SEED_PLAN)
            other = {**SEED_REQUEST, "action": {"type": "other", "content": "Another one"}}
            assert _dry(api, other)["planSource"] == "llm"
            assert len(llm.requests) == 3 and "response_format" not in llm.requests[2]
            calls = preview["provenance"]
            assert calls["source"] == "llm"
        finally:
            server.stop()


def test_the_plan_cache_survives_a_restart_and_forgets_a_changed_schema(tmp_path: Path) -> None:
    """An LLM-planned action shape is paid for once: after a restart the same shape is a cache
    hit (no LLM call); a changed schema, --no-cache and DELETE /plan-cache plan afresh."""
    with ScriptedLLM() as llm:
        db, port = tmp_path / "orra.duckdb", free_port()
        first = ServerProcess(db, port=port, env=llm.env()).start()
        api, _ = new_project(first.url)
        register(api, SEED_REGISTRATIONS)
        llm.answer(SEED_PLAN)
        assert api.post("/orchestrations", {**SEED_REQUEST, "dryRun": True}).json()["cache"] == (
            "miss"
        )
        first.stop()
        second = ServerProcess(db, port=port, env=llm.env()).start()
        try:
            again = copy.deepcopy(SEED_REQUEST)
            again["data"][0]["value"] = "cust99999"
            hit = api.post("/orchestrations", {**again, "dryRun": True}).json()
            assert hit["cache"] == "hit" and hit["planSource"] == "cache"
            assert len(llm.requests) == 1  # the restart did not cost another LLM call
            llm.answer(SEED_PLAN)
            fresh = api.post("/orchestrations", {**again, "dryRun": True, "noCache": True}).json()
            assert fresh["cache"] == "bypass" and len(llm.requests) == 2
            cleared = api.http.delete("/plan-cache").json()
            assert cleared["cleared"] >= 1
            llm.answer(SEED_PLAN)
            after = api.post("/orchestrations", {**again, "dryRun": True}).json()
            assert after["cache"] == "miss" and len(llm.requests) == 3
            changed = copy.deepcopy(SEED_REGISTRATIONS[0])
            changed["schema"]["output"]["properties"]["loyaltyTier"] = {"type": "string"}
            register(api, [changed])
            llm.answer(SEED_PLAN)
            assert api.post("/orchestrations", {**again, "dryRun": True}).json()["cache"] == (
                "miss"
            )
            assert len(llm.requests) == 4
        finally:
            second.stop()
