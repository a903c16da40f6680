"""What the API shows of events reveals nothing of other projects (issue 24, item 11), and the
numbers in headers are ASCII digits (Last-Event-ID, X-Orra-Capacity, Content-Length).

The store numbers events globally; the API shows each event's number within its run, so the
numbers a project sees are 1, 2, 3… whatever other projects do meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import httpx
import pyarrow.ipc as ipc
import pytest
import websockets

from helpers import (
    REFUND_SCHEMA,
    ServerProcess,
    new_project,
    one_step,
    server_fixture,
    sse_frames,
    wait_until,
    ws_url,
)

NOTHING = {"action": {"type": "x", "content": "nothing to do here"}}


server = server_fixture("numbers")


def _busy(url: str, runs: int) -> None:
    """Another project's activity: what the numbers must not show."""
    other, _ = new_project(url)
    for _ in range(runs):
        assert other.post("/orchestrations", NOTHING).status_code == 202


def _answer(task: dict[str, Any], service_id: str) -> str:
    payload = {
        "type": "task_result",
        "taskId": task["id"],
        "idempotencyKey": task["idempotencyKey"],
        "executionId": task["executionId"],
        "serviceId": service_id,
        "result": {"refund": 1},
        "error": None,
    }
    return json.dumps({"id": "r1", "payload": payload})


def test_a_runs_events_are_numbered_1_2_3_whatever_other_projects_do(server):
    api, _ = new_project(server.url)
    service = api.post(
        "/register/service", {"name": "numbered", "description": "refunds", "schema": REFUND_SCHEMA}
    ).json()

    async def scenario() -> tuple[str, list[dict[str, Any]]]:
        async with (
            websockets.connect(ws_url(server.url, service["id"], api.key or "")) as ws,
            httpx.AsyncClient(base_url=server.url, headers=dict(api.http.headers)) as http,
        ):
            await asyncio.to_thread(wait_until, lambda: api.services_online({"numbered"}), 10)
            run = await http.post("/orchestrations", json=one_step("numbered", "orderId", "o"))
            execution_id = run.json()["executionId"]
            lines: list[str] = []
            async with http.stream(
                "GET", f"/orchestrations/{execution_id}/events", timeout=30
            ) as sse:
                reader = sse.aiter_lines()
                while not any(line.startswith("event: step_dispatched") for line in lines):
                    lines.append(await anext(reader))
                while True:  # the task has been sent
                    task = json.loads(await ws.recv())
                    if task.get("type") == "task_request":
                        break
                await asyncio.to_thread(_busy, server.url, 5)  # between two live events
                await ws.send(_answer(task, service["id"]))
                async for line in reader:
                    lines.append(line)
            return execution_id, list(sse_frames(lines))

    execution_id, streamed = asyncio.run(scenario())
    numbers = [e["seq"] for e in streamed]
    assert numbers == list(range(1, len(numbers) + 1)), numbers
    assert [e["sse_id"] for e in streamed] == [str(n) for n in numbers]
    assert streamed[-1]["type"] == "orchestration_completed"
    logs = api.get(f"/orchestrations/{execution_id}/logs").json()["logs"]
    assert [(line["seq"], line["event"]) for line in logs][: len(streamed)] == [
        (e["seq"], e["type"]) for e in streamed
    ]
    after = api.get(f"/orchestrations/{execution_id}/logs", params={"after": 2}).json()["logs"]
    assert [line["seq"] for line in after] == [line["seq"] for line in logs][2:]
    resumed = api.read_events(execution_id, **{"Last-Event-ID": "2"})
    assert [e["seq"] for e in resumed] == [line["seq"] for line in logs][2:]


def test_export_numbers_each_runs_events_from_1(server):
    api, _ = new_project(server.url)
    first = api.post("/orchestrations", NOTHING).json()["executionId"]
    api.wait_finished(first)
    _busy(server.url, 3)
    second = api.post("/orchestrations", NOTHING).json()["executionId"]
    api.wait_finished(second)
    exported = api.get("/export/events", params={"format": "arrow"})
    assert exported.status_code == 200, exported.text
    rows = ipc.open_stream(exported.content).read_all().to_pylist()
    for execution_id in (first, second):
        numbers = [r["seq"] for r in rows if r["execution_id"] == execution_id]
        assert numbers == list(range(1, len(numbers) + 1)), numbers


#: '²' as the server reads a header (latin-1): str.isdigit() is true for it, int() fails
SUPERSCRIPT_TWO = "²".encode("latin-1")


@pytest.mark.parametrize(
    "value", [SUPERSCRIPT_TWO, "١٢".encode(), b"-1", b"1e3", b"99999999999999999999"]
)
def test_a_last_event_id_that_is_not_ascii_digits_is_a_400_naming_it(server, value):
    api, _ = new_project(server.url)
    execution_id = api.post("/orchestrations", NOTHING).json()["executionId"]
    answer = api.get(f"/orchestrations/{execution_id}/events", headers={"Last-Event-ID": value})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_last_event_id"
    assert "Last-Event-ID" in error["message"]


def test_an_x_orra_capacity_that_is_not_ascii_digits_refuses_the_handshake(server):
    api, _ = new_project(server.url)
    service = api.post(
        "/register/service", {"name": "capacity", "description": "x", "schema": REFUND_SCHEMA}
    ).json()

    async def handshake(value: bytes) -> int:
        try:
            async with websockets.connect(
                ws_url(server.url, service["id"], api.key or ""),
                additional_headers={"X-Orra-Capacity": value.decode("latin-1")},
            ):
                return 101
        except websockets.InvalidStatus as refused:
            return refused.response.status_code

    assert asyncio.run(handshake(SUPERSCRIPT_TWO)) == 403
    assert asyncio.run(handshake(b"4")) == 101
    assert "X-Orra-Capacity must be a whole number" in server.log()
    assert "Traceback" not in server.log()


def _raw(server: ServerProcess, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


@pytest.mark.parametrize("length", [SUPERSCRIPT_TWO, "²".encode(), b"12abc", b"-5"])
def test_a_content_length_that_is_not_ascii_digits_is_a_400(server, length):
    api, _ = new_project(server.url)
    answer = _raw(
        server,
        b"POST /orchestrations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + (api.key or "").encode()
        + b"\r\nContent-Type: application/json\r\nContent-Length: "
        + length
        + b"\r\nConnection: close\r\n\r\n{}",
    )
    status = answer.split(b"\r\n", 1)[0]
    assert status.startswith(b"HTTP/1.1 400"), answer[:300]
    assert b"500" not in status


@pytest.mark.parametrize("length", [SUPERSCRIPT_TWO, b"12abc", b" ", b"1" * 20])
def test_the_body_limit_refuses_a_content_length_that_is_not_ascii_digits(length):
    """uvicorn's parser refuses these before the app; another ASGI server may not: the app's
    own check answers 400 ``invalid_content_length`` (the real app, called as ASGI)."""
    from orra_server.api import create_app
    from orra_server.settings import Settings

    app = create_app(Settings(db_path=":memory:"))
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/orchestrations",
        "raw_path": b"/orchestrations",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-length", length), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 400
    body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert body["error"]["code"] == "invalid_content_length"
    assert "Content-Length" in body["error"]["message"]
