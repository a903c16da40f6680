"""Every bad input answers a 4xx with a stable code and a message that says what to fix."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import websockets
from pydantic import BaseModel

from helpers import Api, io_schema, new_project

ECHO_SCHEMA = io_schema({"message": "string"}, {"echo": "string"})


def registration(name: str = "echo-svc", **extra):
    return {
        "id": None,
        "name": name,
        "description": "echoes",
        "schema": ECHO_SCHEMA,
        "version": 0,
        "revertible": False,
        **extra,
    }


@pytest.fixture
def api(live_server) -> Api:
    return new_project(live_server.url)[0]


def assert_error(response: httpx.Response, status: int, code: str, *words: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    assert "Traceback" not in response.text
    for word in words:
        assert word.lower() in error["message"].lower(), error["message"]
    return error


def test_malformed_json(api):
    response = api.http.post(
        "/orchestrations",
        content=b'{"action": {"type": "x",',
        headers={"content-type": "application/json"},
    )
    assert_error(response, 400, "invalid_json", "not valid JSON")


def test_wrong_field_types_name_the_field(api):
    response = api.post("/orchestrations", {"action": {"type": 5}, "data": "nope"})
    error = assert_error(response, 400, "invalid_request")
    fields = {d["field"] for d in error["details"]}
    assert "action.type" in fields and "data" in fields


def test_missing_action(api):
    assert_error(api.post("/orchestrations", {"data": []}), 400, "invalid_request", "action")


def test_duplicate_data_field(api):
    body = {
        "action": {"type": "x", "content": "y"},
        "data": [{"field": "a", "value": 1}, {"field": "a", "value": 2}],
    }
    assert_error(api.post("/orchestrations", body), 400, "duplicate_data_field")


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("EchoService", ["lowercase", "echoservice"]),
        ("echo_service", ["'_'"]),
        ("-echo", ["start"]),
        ("echo.", ["end"]),
        ("", ["empty"]),
        ("a" * 254, ["253"]),
    ],
)
def test_bad_service_names_say_which_rule(api, name, words):
    response = api.post("/register/service", registration(name))
    assert_error(response, 400, "invalid_service_name", "RFC 1123", *words)


def test_longest_valid_name_is_accepted(api):
    assert api.post("/register/service", registration("a" * 253)).status_code == 200


def test_description_too_long(api):
    response = api.post("/register/service", registration(description="x" * 501))
    assert_error(response, 400, "description_too_long", "500")
    assert api.post("/register/service", registration(description="x" * 500)).status_code == 200


def test_schema_that_is_not_json_schema(api):
    bad = {"input": {"type": "nope"}, "output": {"type": "object"}}
    assert_error(
        api.post("/register/service", registration(schema=bad)),
        400,
        "invalid_schema",
        "schema.input",
    )
    assert_error(
        api.post("/register/service", registration(schema={"input": [1]})),
        400,
        "invalid_schema",
        "schema.input",
    )


def test_fields_style_with_unknown_type(api):
    bad = {
        "input": {"type": "object", "fields": [{"name": "customerId", "type": "strng"}]},
        "output": {"type": "object"},
    }
    assert_error(
        api.post("/register/service", registration(schema=bad)),
        400,
        "invalid_schema",
        "customerId",
        "strng",
    )


def test_schema_styles_are_accepted(api):
    class Address(BaseModel):
        street: str
        city: str | None = None

    class In(BaseModel):
        """Input."""

        address: Address
        note: str | None = None
        tags: dict[str, str] = {}
        anything: object = None

    fields_style = {
        "input": {
            "type": "object",
            "fields": [{"name": "customerId", "type": "string", "format": "uuid"}],
            "required": ["customerId"],
        },
        "output": {
            "type": "object",
            "fields": [{"name": "balance", "type": "number", "minimum": 0}],
        },
    }
    for schema in (fields_style, {"input": In.model_json_schema(), "output": {}}):
        answer = api.post("/register/service", registration("styles", schema=schema))
        assert answer.status_code == 200, answer.text
    services = {s["name"]: s for s in api.get("/services").json()["services"]}
    assert "$defs" in services["styles"]["schema"]["input"]
    # a JS-SDK style registration with neither description nor schema is accepted, with warnings
    answer = api.post("/register/service", {"name": "bare"})
    assert answer.status_code == 200
    assert any("schema" in w for w in answer.json()["warnings"])


def test_missing_malformed_and_unknown_keys(live_server):
    url = live_server.url + "/orchestrations"
    body = {"action": {"type": "x"}}
    assert_error(httpx.post(url, json=body), 401, "missing_api_key", "Bearer")
    assert_error(
        httpx.post(url, json=body, headers={"Authorization": "Bearer nope"}),
        401,
        "malformed_api_key",
        "sk-orra-v1-",
    )
    assert_error(
        httpx.post(url, json=body, headers={"Authorization": "Basic abc"}), 401, "malformed_api_key"
    )
    unknown = "sk-orra-v1-" + "0" * 64
    assert_error(
        httpx.post(url, json=body, headers={"Authorization": f"Bearer {unknown}"}),
        401,
        "invalid_api_key",
        "unknown",
    )


def test_another_projects_orchestration_is_not_found(live_server):
    mine, _ = new_project(live_server.url)
    theirs, _ = new_project(live_server.url)
    accepted = mine.post("/orchestrations", {"action": {"type": "nothing-here"}}).json()
    assert mine.get(f"/orchestrations/{accepted['executionId']}").status_code == 200
    assert_error(
        theirs.get(f"/orchestrations/{accepted['executionId']}"), 404, "orchestration_not_found"
    )


def test_another_projects_service_id_is_never_reused(live_server):
    mine, _ = new_project(live_server.url)
    theirs, _ = new_project(live_server.url)
    my_id = mine.post("/register/service", registration()).json()["id"]
    answer = theirs.post("/register/service", registration(id=my_id)).json()
    assert answer["id"] != my_id and answer["version"] == 1
    again = mine.post("/register/service", registration(id=my_id)).json()
    assert again["id"] == my_id and again["version"] == 2


def test_websocket_with_bad_key_or_foreign_service_is_refused_before_upgrade(live_server):
    mine, project = new_project(live_server.url)
    _, other = new_project(live_server.url)
    service_id = mine.post("/register/service", registration()).json()["id"]
    ws = live_server.url.replace("http", "ws")

    async def status_of(query: str) -> int:
        try:
            async with websockets.connect(f"{ws}/ws?{query}"):
                return 101
        except websockets.exceptions.InvalidStatus as exc:
            return exc.response.status_code

    async def check() -> None:
        assert await status_of(f"serviceId={service_id}&apiKey={project['apiKey']}") == 101
        assert await status_of(f"serviceId={service_id}&apiKey=sk-orra-v1-bad") == 403
        assert await status_of(f"serviceId={service_id}&apiKey={other['apiKey']}") == 403
        assert await status_of(f"serviceId=s_unknown&apiKey={project['apiKey']}") == 403

    asyncio.run(check())


def test_payload_over_10_mib(api):
    big = "x" * (10 * 1024 * 1024 + 10)
    body = {"action": {"type": "x", "content": "y"}, "data": [{"field": "blob", "value": big}]}
    assert_error(api.post("/orchestrations", body), 413, "payload_too_large", "10 MiB")


def test_unknown_status_filter_and_unknown_route(api):
    assert_error(
        api.get("/orchestrations", params={"status": "DONE"}), 400, "invalid_status", "COMPLETED"
    )
    assert_error(api.get("/nowhere"), 404, "not_found", "/nowhere")


def test_bad_webhook_url(live_server, api):
    assert_error(api.post("/webhooks", {"url": "not a url"}), 400, "invalid_webhook_url")
    response = httpx.post(live_server.url + "/register/project", json={"webhooks": ["ftp://x"]})
    assert_error(response, 400, "invalid_webhook_url")


def test_action_no_service_can_serve_is_not_actionable(api):
    api.post("/register/service", registration("echo-svc"))
    answer = api.post(
        "/orchestrations", {"action": {"type": "book-flight", "content": "to Lisbon"}}
    )
    assert answer.status_code == 202
    body = answer.json()
    assert body["status"] == "NOT_ACTIONABLE"
    assert "book-flight" in body["message"]
    stored = api.get(f"/orchestrations/{body['executionId']}").json()
    assert stored["status"] == "NOT_ACTIONABLE"
    assert "book-flight" in stored["error"]


def test_required_input_nobody_provides_is_not_actionable(api):
    schema = io_schema({"orderId": "string"}, {"refund": "number"})
    api.post(
        "/register/service",
        registration("refund-svc", description="Refunds an order", schema=schema),
    )
    answer = api.post("/orchestrations", {"action": {"type": "refund-order", "content": ""}})
    # the action matches the service, but its required 'orderId' has no source
    assert answer.json()["status"] == "NOT_ACTIONABLE"
    assert "orderId" in answer.json()["message"]
    with_data = {
        "action": {"type": "refund-order", "content": ""},
        "data": [{"field": "orderId", "value": "o-1"}],
    }
    assert api.post("/orchestrations", with_data).json()["status"] == "ACCEPTED"


def test_numbers_past_64_bits_are_kept_not_a_server_error(api):
    """Found by schemathesis: such a number used to break the JSON writer (a 500)."""
    huge = 2**64 + 1
    body = {
        "action": {"type": "count", "content": "count"},
        "data": [{"field": "n", "value": huge}, {"field": "m", "value": -(2**63) - 1}],
        "dryRun": True,
    }
    raw = httpx.post(
        api.url + "/orchestrations",
        content=f'{{"action": {{"type": "count", "content": "count"}}, "data": '
        f'[{{"field": "n", "value": {huge}}}], "dryRun": true}}',
        headers={"Authorization": f"Bearer {api.key}", "content-type": "application/json"},
    )
    assert raw.status_code == 200, raw.text
    accepted = api.post("/orchestrations", {**body, "dryRun": False})
    assert accepted.status_code == 202, accepted.text
    assert api.get(f"/orchestrations/{accepted.json()['executionId']}").status_code == 200
    too_far = api.get("/orchestrations", params={"offset": 2**63})
    assert too_far.status_code == 400
    assert too_far.json()["error"]["code"] == "invalid_request"
