"""The typed client, sync and async, against a real control plane and the seed services."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from helpers import (
    SEED_SERVICES,
    ServerProcess,
    new_project,
    seed_services,
)
from orra_studio import (
    AsyncClient,
    BadRequest,
    Client,
    Conflict,
    NotFound,
    ServerUnreachable,
    Unauthorized,
)
from orra_studio.client import action_body

INQUIRY = "customer-inquiry: Hi, can you tell me more about your product?"
DATA = {"customerId": "cust12345", "sellerId": "sell98765"}


@pytest.fixture(scope="module")
def project(live_server: ServerProcess) -> Iterator[tuple[str, str]]:
    api, created = new_project(live_server.url)
    with seed_services(api):
        yield live_server.url, created["apiKey"]


def test_orchestrate_and_wait_streams_the_events(project) -> None:
    url, key = project
    seen: list[dict] = []
    with Client(url, key) as client:
        done = client.orchestrate(INQUIRY, DATA, wait=True, on_event=seen.append)
        assert done["status"] == "COMPLETED"
        assert "Premium Analytics Suite" in done["result"]["content"]
        kinds = [e["type"] for e in seen]
        assert kinds.count("step_completed") == 4 and kinds[-1] == "orchestration_completed"
        assert [e["seq"] for e in seen] == sorted(e["seq"] for e in seen)
        # the same run read back through the other endpoints
        assert client.plan_of(done["executionId"])["source"] in ("schema-flow", "cache")
        logs = client.logs(done["executionId"])["logs"]
        assert [line["seq"] for line in logs] == [e["seq"] for e in seen][: len(logs)]
        assert client.orchestrations(status="COMPLETED")[0]["executionId"] == done["executionId"]
        assert client.deliveries(done["executionId"]) == []  # no webhook in this project
        with pytest.raises(Conflict) as finished:
            client.cancel(done["executionId"])
        assert finished.value.code == "orchestration_finished" and finished.value.status == 409
        # the Executions chart's data: runs per minute by status, this one among them
        activity = client.activity(60)
        assert activity["bucketSeconds"] == 60 and activity["since"] <= done["createdAt"]
        completed = [b for b in activity["buckets"] if b["status"] == "COMPLETED"]
        assert sum(b["runs"] for b in completed) >= 1
        with pytest.raises(BadRequest):
            client.activity(0)  # at least a minute


def test_async_client(project) -> None:
    url, key = project

    async def main() -> tuple[dict, list[str]]:
        steps: list[str] = []

        async def note(event: dict) -> None:
            if event["type"] == "step_completed":
                steps.append(event["stepId"])

        async with AsyncClient(url, key) as client:
            assert {s["name"] for s in await client.services()} == SEED_SERVICES
            preview = await client.plan(INQUIRY, DATA)
            assert preview["validation"]["valid"]
            done = await client.orchestrate(
                INQUIRY, DATA, wait=True, on_event=note, plan=preview["plan"]
            )
            with pytest.raises(NotFound) as missing:
                await client.orchestration("o_missing")
            assert missing.value.code == "orchestration_not_found"
            table = await client.export("steps")
        assert done["executionId"] in table.column("execution_id").to_pylist()
        return done, steps

    done, steps = asyncio.run(main())
    assert done["status"] == "COMPLETED"
    assert sorted(steps) == ["step1", "step2", "step3", "step4"] and steps[-1] == "step4"


def test_errors_carry_the_servers_code(project) -> None:
    url, key = project
    with Client(url, key) as client:
        with pytest.raises(BadRequest) as bad:
            client.add_webhook("not a url")
        assert (
            bad.value.code == "invalid_webhook_url" and "absolute http(s) URL" in bad.value.message
        )
        with pytest.raises(BadRequest) as invalid:
            client.submit(INQUIRY, DATA, plan={"steps": [{"id": "step1"}]})
        assert invalid.value.code == "invalid_request" and invalid.value.details
    with Client(url, "sk-orra-v1-" + "0" * 64) as stranger, pytest.raises(Unauthorized) as denied:
        stranger.services()
    assert denied.value.code == "invalid_api_key"
    with Client("http://127.0.0.1:9") as nowhere, pytest.raises(ServerUnreachable):
        nowhere.health()


def test_an_id_or_name_a_person_types_names_one_resource_never_another_path(project) -> None:
    """Each path segment is percent-encoded: ``?`` and ``/`` in a name cannot reach a
    query string or another endpoint."""
    url, key = project
    spec = {"name": "support", "domain": "e-commerce", "version": "1.0", "useCases": []}
    spec["useCases"] = [
        {"action": "Help a customer", "capabilities": ["Look up orders"], "intent": "help"}
    ]
    with Client(url, key) as client:
        client.apply_grounding(spec)
        assert client.grounding("support")["name"] == "support"
        for typed in ("support?x=1", "support#top", "../groundings/support"):
            with pytest.raises(NotFound):
                client.grounding(typed)
        with pytest.raises(NotFound):
            client.orchestration("o_x?status=RUNNING")
        client.delete_grounding("support")
        with pytest.raises(TypeError, match="unexpected keyword argument 'qq'"):
            client.orchestrations(qq="typo")  # type: ignore[call-arg]


def test_action_strings() -> None:
    assert action_body("customer-inquiry: tell me more")["action"] == {
        "type": "customer-inquiry",
        "content": "tell me more",
    }
    plain = action_body("Estimate delivery: for order 12", {"orderId": "12"})
    assert plain["action"] == {
        "type": "Estimate delivery: for order 12",
        "content": "Estimate delivery: for order 12",
    }
    assert plain["data"] == [{"field": "orderId", "value": "12"}]
    assert action_body({"type": "t", "content": "c"}, dry_run=True)["dryRun"] is True
