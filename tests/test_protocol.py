"""The service wire protocol at frame level, with a raw websocket client (protocol.md)."""

from __future__ import annotations

import asyncio
import json

import httpx
import websockets

from helpers import io_schema, new_project, socket_for

SCHEMA = io_schema({"orderId": "string"}, {"refund": "number"})
REQUEST = {
    "action": {"type": "refund-order", "content": "refund it"},
    "data": [{"field": "orderId", "value": "o-1"}],
}


async def _next_of(ws, kind: str, timeout: float = 10.0) -> dict:
    async def loop() -> dict:
        while True:
            message = json.loads(await ws.recv())
            if message.get("type") == kind:
                return message

    return await asyncio.wait_for(loop(), timeout)


def test_acks_duplicates_bare_payloads_and_pongs(live_server):
    api, project = new_project(live_server.url)
    service, url = socket_for(api, "refund-service", "Refunds an order", SCHEMA)

    async def scenario() -> tuple[str, str]:
        async with websockets.connect(url) as ws:
            first = await asyncio.to_thread(api.post, "/orchestrations", REQUEST)
            task = await _next_of(ws, "task_request")
            assert task["input"] == {"orderId": "o-1"}
            assert task["serviceId"] == service["id"]
            assert task["idempotencyKey"] and task["executionId"]
            result = {
                "type": "task_result",
                "taskId": task["id"],
                "idempotencyKey": task["idempotencyKey"],
                "executionId": task["executionId"],
                "serviceId": service["id"],
                "result": {"task": {"refund": 12.5}},
                "error": None,
            }
            # the pong is not ACKed; the wrapped result is, after it has committed
            await ws.send(
                json.dumps({"id": "pong", "payload": {"type": "pong", "serviceId": service["id"]}})
            )
            await ws.send(json.dumps({"id": "msg_1_x", "payload": result}))
            ack = await _next_of(ws, "ACK")
            assert ack["id"] == "msg_1_x"
            # the same result again with a new message id (an SDK re-send): ACKed, ignored
            await ws.send(
                json.dumps(
                    {"id": "msg_2_x", "payload": {**result, "result": {"task": {"refund": 99}}}}
                )
            )
            assert (await _next_of(ws, "ACK"))["id"] == "msg_2_x"

            # a second orchestration answered JS-style: a bare payload, no id, no ACK expected
            second = await asyncio.to_thread(api.post, "/orchestrations", REQUEST)
            task2 = await _next_of(ws, "task_request")
            assert task2["idempotencyKey"] != task["idempotencyKey"]
            await ws.send(
                json.dumps(
                    {
                        **result,
                        "taskId": task2["id"],
                        "idempotencyKey": task2["idempotencyKey"],
                        "executionId": task2["executionId"],
                        "result": {"task": {"refund": 1.0}},
                    }
                )
            )
            return first.json()["executionId"], second.json()["executionId"]

    first_id, second_id = asyncio.run(scenario())
    first = api.wait_finished(first_id)
    assert first["status"] == "COMPLETED"
    assert first["result"] == {"refund": 12.5}  # the duplicate did not overwrite it
    assert first["stepResults"][0]["attempts"] == 1
    assert api.wait_finished(second_id)["result"] == {"refund": 1.0}


def test_service_receives_pings_for_itself(live_server):
    # the test server pings every 0.5 s (ORRA_PING_INTERVAL)
    api, project = new_project(live_server.url)
    service, url = socket_for(api, "pinged", "x", SCHEMA)

    async def scenario() -> dict:
        async with websockets.connect(url) as ws:
            return await _next_of(ws, "ping", timeout=10)

    ping = asyncio.run(scenario())
    assert ping == {"type": "ping", "serviceId": service["id"]}


def test_instances_registering_at_the_same_moment_share_one_service(live_server):
    """Two processes starting together with no saved id must not create two services."""
    api, project = new_project(live_server.url)
    body = {"id": None, "name": "twin-service", "description": "twins", "schema": SCHEMA}

    async def register_all() -> list[dict]:
        headers = {"Authorization": f"Bearer {project['apiKey']}"}
        async with httpx.AsyncClient(base_url=live_server.url, headers=headers) as client:
            answers = await asyncio.gather(
                *(client.post("/register/service", json=body) for _ in range(8))
            )
        return [a.json() for a in answers]

    answers = asyncio.run(register_all())
    assert len({a["id"] for a in answers}) == 1
    assert sorted(a["version"] for a in answers) == list(range(1, 9))
    names = [s["name"] for s in api.get("/services").json()["services"]]
    assert names.count("twin-service") == 1
