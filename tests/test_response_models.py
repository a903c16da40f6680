"""One status vocabulary: the studio's copy agrees with what the server publishes, and the
bodies the server sends match the response models it documents."""

from __future__ import annotations

import httpx

from helpers import new_project, serving
from orra_sdk.vocabulary import TERMINAL, OrchestrationStatus, StepStatus
from orra_server.api.schemas import OrchestrationListOut, OrchestrationOut


def test_the_studios_statuses_are_the_servers(live_server):
    schemas = httpx.get(live_server.url + "/openapi.json").json()["components"]["schemas"]
    assert schemas["OrchestrationStatus"]["enum"] == [s.value for s in OrchestrationStatus]
    assert schemas["StepStatus"]["enum"] == [s.value for s in StepStatus]
    assert set(OrchestrationStatus) > TERMINAL
    get = httpx.get(live_server.url + "/openapi.json").json()["paths"]
    body = get["/orchestrations/{orchestration_id}"]["get"]["responses"]["200"]["content"]
    assert body["application/json"]["schema"]["$ref"].endswith("/OrchestrationOut")


def test_real_bodies_match_the_documented_models(live_server, tmp_path):
    api, project = new_project(live_server.url)
    with serving(
        api, "sdk_services.py", "text", online={"text-shouter", "word-counter"}, cwd=tmp_path
    ):
        ok = {
            "action": {"type": "shout-and-count", "content": "shout, count words"},
            "data": [{"field": "message", "value": "three little words"}],
        }
        failing = {**ok, "data": [{"field": "message", "value": "fail"}]}
        failing["options"] = {"maxAttempts": 1}
        ids = [api.post("/orchestrations", b).json()["executionId"] for b in (ok, failing)]
        nothing = api.post("/orchestrations", {"action": {"type": "plan my wedding"}}).json()
        ids.append(nothing["executionId"])
        for execution_id in ids:
            OrchestrationOut.model_validate(api.wait_finished(execution_id))
        listed = api.get("/orchestrations").json()
        OrchestrationListOut.model_validate(listed)
        assert {o["status"] for o in listed["orchestrations"]} == {
            "COMPLETED",
            "FAILED",
            "NOT_ACTIONABLE",
        }


def test_every_json_route_documents_its_success_body(live_server):
    paths = httpx.get(live_server.url + "/openapi.json").json()["paths"]
    undocumented = []
    for path, operations in paths.items():
        if path.startswith("/export/"):
            continue  # Arrow, Parquet or JSON: documented as a file
        if path.endswith("/events"):
            continue  # a server-sent event stream
        for method, operation in operations.items():
            success = {c: r for c, r in operation["responses"].items() if c.startswith("2")}
            for code, response in success.items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if not schema or not schema.get("$ref"):
                    undocumented.append(f"{method.upper()} {path} {code}")
    assert undocumented == []


def test_project_key_webhook_and_service_bodies_match_their_models(live_server):
    from orra_server.api import account_schemas, schemas

    health = httpx.get(live_server.url + "/health").json()
    schemas.HealthOut.model_validate(health)
    api, project = new_project(live_server.url)
    account_schemas.ProjectCreated.model_validate(project)
    account_schemas.ProjectOut.model_validate(api.get("/projects/current").json())
    account_schemas.ApiKeyCreated.model_validate(api.post("/apikeys", {"name": "ci"}).json())
    account_schemas.ApiKeyList.model_validate(api.get("/apikeys").json())
    account_schemas.ApiKeyRotated.model_validate(api.post("/apikeys/ci/rotate").json())
    account_schemas.ApiKeyRevoked.model_validate(api.http.delete("/apikeys/ci").json())
    hook = api.post("/webhooks", {"url": "http://127.0.0.1:9/hook"}).json()
    account_schemas.WebhookAdded.model_validate(hook)
    account_schemas.WebhookList.model_validate(api.get("/webhooks").json())
    account_schemas.WebhookRemoved.model_validate(api.http.delete(f"/webhooks/{hook['id']}").json())
    registration = api.post(
        "/register/service", {"name": "echo-svc", "description": "Echoes a message"}
    ).json()
    schemas.RegistrationOut.model_validate(registration)
    schemas.ServiceList.model_validate(api.get("/services").json())
    preview = api.post("/orchestrations", {"action": {"type": "echo"}, "dryRun": True}).json()
    schemas.Accepted.model_validate(preview)
    accepted = api.post("/orchestrations", {"action": {"type": "echo", "content": "hi"}}).json()
    schemas.Accepted.model_validate(accepted)
    execution_id = accepted["executionId"]
    schemas.PlanInfo.model_validate(api.get(f"/orchestrations/{execution_id}/plan").json())
    schemas.LogsOut.model_validate(api.get(f"/orchestrations/{execution_id}/logs").json())
    deliveries = api.get(f"/orchestrations/{execution_id}/deliveries").json()
    schemas.DeliveriesOut.model_validate(deliveries)
    assert accepted["status"] == "ACCEPTED"  # echo-svc has no instance: it waits, cancellable
    cancelled = api.post(f"/orchestrations/{execution_id}/cancel", {"reason": "test"})
    schemas.OrchestrationOut.model_validate(cancelled.json())


def test_grounding_bodies_match_their_models(live_server):
    from orra_server.api import schemas

    api, _ = new_project(live_server.url)
    spec = {
        "name": "support",
        "domain": "customer-support",
        "version": "1.0",
        "use-cases": [
            {
                "action": "Refund order {orderId}",
                "params": {"orderId": "ORD-1"},
                "capabilities": ["look up an order", "refund a payment"],
                "intent": "refund a paid order",
            }
        ],
        "constraints": ["never refund twice"],
    }
    applied = api.post("/groundings", spec)
    assert applied.status_code == 201, applied.text
    schemas.GroundingOut.model_validate(applied.json())
    schemas.GroundingList.model_validate(api.get("/groundings").json())
    schemas.GroundingOut.model_validate(api.get("/groundings/support").json())
    schemas.GroundingDeleted.model_validate(api.http.delete("/groundings/support").json())


def test_the_clients_typed_shapes_mirror_the_documented_models(live_server):
    """``orra_studio.types`` is what an editor shows for a client answer: it must name every
    field the server documents, no more and no fewer, and require what the server always sends."""
    from orra_studio import types

    schemas = httpx.get(live_server.url + "/openapi.json").json()["components"]["schemas"]
    for shape, name in types.OPENAPI_NAMES.items():
        schema = schemas[name]
        assert set(shape.__annotations__) == set(schema["properties"]), name
        assert set(schema.get("required", [])) <= shape.__required_keys__, name
    documented = {n for n in schemas if n.endswith("Out") or n in ("Accepted", "PlanInfo")}
    wrappers = {n for n in documented if n.endswith("ListOut") or n == "DeliveriesOut"}
    assert documented - wrappers <= set(types.OPENAPI_NAMES.values())


def test_client_answers_read_as_dicts_and_as_typed_shapes(live_server):
    from orra_studio import Client

    api, project = new_project(live_server.url)
    with Client(live_server.url, project["apiKey"]) as client:
        accepted = client.submit("plan my wedding")
        assert accepted["status"] == "NOT_ACTIONABLE"
        run = client.wait(accepted["executionId"], timeout=10)
        assert isinstance(run, dict) and run["status"] == OrchestrationStatus.NOT_ACTIONABLE
