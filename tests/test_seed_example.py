"""The seed README's customer inquiry, end to end with real parts.

Real uvicorn in its own process, the four demo services in another process over real
websockets, a real DuckDB file, a real webhook endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from helpers import (
    SEED_REQUEST,
    WebhookReceiver,
    new_project,
    seed_services,
)


@pytest.fixture
def seed(live_server):
    with WebhookReceiver() as receiver:
        api, project = new_project(live_server.url, webhooks=[receiver.url])
        with seed_services(api):
            yield api, project, receiver


def test_seed_plan_is_three_parallel_steps_then_the_join(seed):
    api, _, _ = seed
    answer = api.post("/orchestrations", SEED_REQUEST)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["status"] == "ACCEPTED"
    assert body["executionId"]
    assert body["message"]
    plan = body["plan"]
    assert plan["parallelExecutionGroups"] == [["step1", "step2", "step3"], ["step4"]]
    steps = {s["id"]: s for s in plan["steps"]}
    assert [steps[f"step{i}"]["component"] for i in range(1, 5)] == [
        "customer-data-service",
        "product-catalog-service",
        "seller-data-service",
        "ai-assistant-service",
    ]
    assert steps["step1"]["input"] == {"customerId": "{{request.data.customerId}}"}
    assert steps["step2"]["input"] == {"inquiry": "{{request.action.content}}"}
    assert steps["step3"]["input"] == {"sellerId": "{{request.data.sellerId}}"}
    assert steps["step4"]["input"] == {
        "customerProfile": "{{step1.output.customerProfile}}",
        "relevantProducts": "{{step2.output.relevantProducts}}",
        "sellerProfile": "{{step3.output.sellerProfile}}",
        "inquiry": "{{request.action.content}}",
    }
    assert steps["step4"]["dependencies"] == ["step1", "step2", "step3"]
    assert all(steps[f"step{i}"]["dependencies"] == [] for i in (1, 2, 3))
    assert steps["step1"]["expectedOutput"] == "customerProfile"
    assert steps["step1"]["action"] == "retrieveCustomerProfile"
    assert plan["estimatedCompletionTime"].endswith("Z")


def test_seed_completes_with_combined_result_and_signed_webhook(seed):
    api, project, receiver = seed
    accepted = api.post("/orchestrations", SEED_REQUEST).json()
    execution_id = accepted["executionId"]
    assert accepted["resultTarget"]["webhook"] == receiver.url

    body = api.wait_finished(execution_id)
    assert body["status"] == "COMPLETED", body
    assert body["executionId"] == execution_id
    assert body["startTime"] and body["endTime"] and body["startTime"] <= body["endTime"]
    results = {s["id"]: s for s in body["stepResults"]}
    assert set(results) == {"step1", "step2", "step3", "step4"}
    assert all(s["status"] == "COMPLETED" and s["attempts"] == 1 for s in results.values())
    assert results["step1"]["output"]["customerProfile"]["id"] == "cust12345"
    assert results["step3"]["output"]["sellerProfile"]["id"] == "sell98765"
    assert results["step4"]["input"]["customerProfile"]["name"] == "Jane Doe"
    assert results["step4"]["input"]["inquiry"] == SEED_REQUEST["action"]["content"]
    # the join starts only after all three of its dependencies ended
    join_start = results["step4"]["startTime"]
    assert all(results[s]["endTime"] <= join_start for s in ("step1", "step2", "step3"))
    # the result combines the sink's output
    assert body["result"] == results["step4"]["output"]
    assert "Premium Analytics Suite" in body["result"]["content"]
    assert body["result"]["sentTimestamp"]

    headers, delivered, raw = receiver.next()
    assert delivered["executionId"] == execution_id
    assert delivered["status"] == "COMPLETED"
    assert delivered["result"] == body["result"]
    lower = {k.lower(): v for k, v in headers.items()}
    message_id, timestamp = lower["webhook-id"], lower["webhook-timestamp"]
    assert abs(int(timestamp) - time.time()) < 120
    secret = base64.b64decode(project["webhookSecret"].removeprefix("whsec_"))
    expected = base64.b64encode(
        hmac.new(secret, f"{message_id}.{timestamp}.".encode() + raw, hashlib.sha256).digest()
    ).decode()
    assert f"v1,{expected}" in lower["webhook-signature"].split()
    tampered = hmac.new(
        secret, f"{message_id}.{timestamp}.".encode() + raw + b" ", hashlib.sha256
    ).digest()
    assert f"v1,{base64.b64encode(tampered).decode()}" not in lower["webhook-signature"]


def test_orchestrations_list_newest_first_and_filtered(seed):
    api, _, _ = seed
    ids = [api.post("/orchestrations", SEED_REQUEST).json()["executionId"] for _ in range(3)]
    for execution_id in ids:
        assert api.wait_finished(execution_id)["status"] == "COMPLETED"
    listed = api.get("/orchestrations").json()["orchestrations"]
    assert [o["executionId"] for o in listed[:3]] == list(reversed(ids))
    completed = api.get("/orchestrations", params={"status": "COMPLETED"}).json()
    assert {o["executionId"] for o in completed["orchestrations"]} >= set(ids)
    failed = api.get("/orchestrations", params={"status": "FAILED"}).json()
    assert not set(ids) & {o["executionId"] for o in failed["orchestrations"]}


def test_openapi_is_published(live_server):
    import httpx

    spec = httpx.get(live_server.url + "/openapi.json").json()
    assert "/orchestrations" in spec["paths"]
    assert "/register/service" in spec["paths"]
