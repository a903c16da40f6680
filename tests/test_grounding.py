"""Domain grounding: applying specs, and use cases steering both planners."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from planning.catalogs import service as _service

from fake_llm import ScriptedLLM
from helpers import Api, ServerProcess, new_project, plan_step, register

SUPPORT = [
    _service(
        "order-lookup",
        "Retrieves an order's status, items and payment by order id.",
        {"orderId": "string"},
        {"order": "object"},
    ),
    _service(
        "refund-eligibility",
        "Checks whether an order is eligible for a refund under the refund policy.",
        {"order": "object"},
        {"eligible": "boolean"},
    ),
    _service(
        "refund-processor",
        "Processes a refund for an order to the original payment method.",
        {"orderId": "string"},
        {"refundId": "string"},
    ),
    _service(
        "kb-search",
        "Searches the help center for articles that answer a question.",
        {"query": "string"},
        {"articles": "array"},
    ),
]

SPEC_YAML = """\
name: customer-support-examples
domain: e-commerce-customer-support
version: "1.0"
use-cases:
  - action: "Process refund for order {orderId}"
    params:
      orderId: "ORD123"
    capabilities:
      - "Verify refund eligibility"
      - "Process refund"
    intent: "Customer wants a refund for a damaged item"
constraints:
  - "Verify the order is eligible before processing a refund"
"""

REFUND = {
    "action": {"type": "refund", "content": "Process refund for order ORD-991"},
    "data": [{"field": "orderId", "value": "ORD-991"}],
}


def _apply(api: Api, text: str, content_type: str = "application/yaml") -> httpx.Response:
    return api.http.post("/groundings", content=text, headers={"content-type": content_type})


def _components(plan: dict[str, Any]) -> list[str]:
    return [s["component"] for s in plan["steps"]]


def test_apply_read_conflict_delete(live_server: ServerProcess) -> None:
    api, _ = new_project(live_server.url)
    created = _apply(api, SPEC_YAML)
    assert created.status_code == 201, created.text
    assert created.json()["useCases"][0]["capabilities"] == [
        "Verify refund eligibility",
        "Process refund",
    ]
    assert _apply(api, SPEC_YAML).status_code == 200, "re-applying the same spec is a no-op"
    as_json = json.dumps({**created.json(), "createdAt": None})
    listed = api.get("/groundings").json()["groundings"]
    assert [g["name"] for g in listed] == ["customer-support-examples"]
    assert api.get("/groundings/customer-support-examples").json()["version"] == "1.0"

    changed = SPEC_YAML.replace("damaged item", "broken item")
    conflict = _apply(api, changed)
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "grounding_version_conflict"
    assert "new version" in conflict.json()["error"]["message"]
    bumped = _apply(api, changed.replace('version: "1.0"', 'version: "1.1"'))
    assert bumped.status_code == 200 and bumped.json()["version"] == "1.1"
    assert "createdAt" in json.loads(as_json)

    assert api.http.delete("/groundings/customer-support-examples").status_code == 200
    missing = api.get("/groundings/customer-support-examples")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "grounding_not_found"
    assert api.get("/groundings").json()["groundings"] == []
    # applied again after a delete, as JSON this time: a fresh spec
    spec = yaml.safe_load(SPEC_YAML)
    again = _apply(api, json.dumps(spec), "application/json")
    assert again.status_code == 201 and again.json()["useCases"] == created.json()["useCases"]


@pytest.mark.parametrize(
    ("text", "content_type", "needle"),
    [
        ("name: [unclosed", "application/yaml", "not valid YAML"),
        ('{"name": ', "application/json", "not valid JSON"),
        ("- just\n- a list\n", "application/yaml", "is an object"),
        (SPEC_YAML.replace('    params:\n      orderId: "ORD123"\n', ""), "text/yaml", "orderId"),
        (SPEC_YAML.replace("customer-support-examples", "Bad Name!"), "text/yaml", "name"),
        (SPEC_YAML.replace('version: "1.0"\n', ""), "text/yaml", "version"),
        ("", "application/yaml", "JSON or YAML"),
        ("a: &x [1, 2]\nb: [*x, *x]\n", "application/yaml", "aliases"),
    ],
)
def test_bad_specs_are_clear_400s(
    live_server: ServerProcess, text: str, content_type: str, needle: str
) -> None:
    api, _ = new_project(live_server.url)
    answer = _apply(api, text, content_type)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_grounding"
    assert needle in error["message"]
    assert api.get("/groundings").json()["groundings"] == []


def test_grounding_steers_the_schema_flow_planner(live_server: ServerProcess) -> None:
    api, _ = new_project(live_server.url)
    register(api, SUPPORT)
    plain = api.post("/orchestrations", {**REFUND, "dryRun": True}).json()
    # on its own the planner picks one goal: it checks eligibility or refunds, never both
    assert not {"refund-eligibility", "refund-processor"} <= set(_components(plain["plan"]))
    assert "grounding" not in plain

    assert _apply(api, SPEC_YAML).status_code == 201
    grounded = api.post("/orchestrations", {**REFUND, "dryRun": True}).json()
    assert grounded["validation"]["valid"], grounded
    assert grounded["grounding"]["useCase"] == "Process refund for order {orderId}"
    assert grounded["provenance"]["grounding"]["params"] == {"orderId": "ORD-991"}
    steps = {s["component"]: s for s in grounded["plan"]["steps"]}
    assert set(steps) == {"order-lookup", "refund-eligibility", "refund-processor"}
    # the use case's order: eligibility before the refund
    assert steps["refund-eligibility"]["id"] in steps["refund-processor"]["dependencies"]

    # a differently worded request for the same thing matches by words
    worded = {**REFUND, "action": {"type": "refund", "content": "My item arrived damaged, refund"}}
    assert api.post("/orchestrations", {**worded, "dryRun": True}).json()["grounding"]


def test_a_caller_picks_the_grounding_spec_or_none(live_server: ServerProcess) -> None:
    api, _ = new_project(live_server.url)
    register(api, SUPPORT)
    assert _apply(api, SPEC_YAML).status_code == 201
    without = api.post("/orchestrations", {**REFUND, "dryRun": True, "grounding": "none"})
    assert without.status_code == 200 and "grounding" not in without.json()
    # words that match no use case well enough on their own: the chosen spec still applies
    vague = {**REFUND, "action": {"type": "help", "content": "ORD-991 please"}, "dryRun": True}
    assert "grounding" not in api.post("/orchestrations", vague).json()
    chosen = api.post("/orchestrations", {**vague, "grounding": "customer-support-examples"})
    assert chosen.json()["grounding"]["spec"] == "customer-support-examples"
    unknown = api.post("/orchestrations", {**REFUND, "grounding": "no-such-spec"})
    assert unknown.status_code == 400
    error = unknown.json()["error"]
    assert error["code"] == "unknown_grounding" and error["param"] == "grounding"
    assert "customer-support-examples" in error["message"]


def test_capability_no_service_has_is_not_actionable(live_server: ServerProcess) -> None:
    api, _ = new_project(live_server.url)
    register(api, SUPPORT)
    spec = SPEC_YAML.replace(
        '      - "Process refund"\n',
        '      - "Process refund"\n      - "Send satisfaction survey"\n',
    )
    assert _apply(api, spec).status_code == 201
    answer = api.post("/orchestrations", REFUND)
    assert answer.status_code == 202
    body = answer.json()
    assert body["status"] == "NOT_ACTIONABLE"
    assert "'Send satisfaction survey'" in body["message"]
    assert api.get(f"/orchestrations/{body['executionId']}").json()["status"] == "NOT_ACTIONABLE"


@pytest.fixture
def llm_server(tmp_path: Path) -> Iterator[tuple[ScriptedLLM, ServerProcess]]:
    with ScriptedLLM() as llm:
        server = ServerProcess(tmp_path / "orra.duckdb", env=llm.env()).start()
        yield llm, server
        server.stop()


def test_grounding_steers_the_llm_planner(llm_server) -> None:
    llm, server = llm_server
    api, _ = new_project(server.url)
    register(api, SUPPORT)
    assert _apply(api, SPEC_YAML).status_code == 201
    order_id = {"orderId": "{{request.data.orderId}}"}
    refund_only = {"steps": [plan_step("step1", "refund-processor", order_id)]}
    checked = {
        "steps": [
            plan_step("step1", "order-lookup", order_id),
            plan_step(
                "step2", "refund-eligibility", {"order": "{{step1.output.order}}"}, ["step1"]
            ),
            plan_step("step3", "refund-processor", order_id, ["step2"]),
        ]
    }
    llm.answer(refund_only)
    llm.answer(checked)
    body = api.post("/orchestrations", REFUND).json()
    assert body["status"] == "ACCEPTED" and body["planSource"] == "llm"
    assert _components(body["plan"]) == ["order-lookup", "refund-eligibility", "refund-processor"]

    prompt = llm.requests[0]["messages"][1]["content"]
    for text in ("Process refund for order {orderId}", "Verify refund eligibility", "eligible"):
        assert text in prompt
    repair = llm.requests[1]["messages"][-1]["content"]
    assert "missing_capability" in repair and "Verify refund eligibility" in repair

    # a capability no service has: NOT_ACTIONABLE before any LLM call
    spec = SPEC_YAML.replace('version: "1.0"', 'version: "2"').replace(
        '      - "Process refund"\n',
        '      - "Process refund"\n      - "Send satisfaction survey"\n',
    )
    assert _apply(api, spec).status_code == 200
    body = api.post("/orchestrations", REFUND).json()
    assert body["status"] == "NOT_ACTIONABLE" and "Send satisfaction survey" in body["message"]
    assert len(llm.requests) == 2
