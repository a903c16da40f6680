"""Hostile input against a real control plane exposed as in production (issue 12).

One server for the module, started as an operator would for a shared deployment: an admin
token, private webhook addresses refused, ``--log-level info`` (so the log shows what an
operator's log would). Services are raw websocket clients, so each frame is exactly what a
hostile or broken peer would send.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import psutil
import pytest
import websockets
from local_http import LocalHttpServer, QuietHandler

from helpers import (
    REFUND_SCHEMA,
    Api,
    ServerProcess,
    close_code,
    new_project,
    orra_cli,
    server_fixture,
    serving,
    wait_until,
)

ADMIN = "admin-token-for-tests-0123456789"
KEY_PATTERN = re.compile(r"sk-orra-v1-[0-9a-f]{8,}")
REQUEST = {
    "action": {"type": "refund-order", "content": "refund it"},
    "data": [{"field": "orderId", "value": "o-1"}],
}


server = server_fixture(
    "security",
    env={"ORRA_ALLOW_PRIVATE_WEBHOOKS": "0", "ORRA_ADMIN_TOKEN": ADMIN},
    args=["--log-level", "info"],
)


def _project(server: ServerProcess) -> tuple[Api, dict[str, Any]]:
    return new_project(server.url, admin_token=ADMIN)


def _service(api: Api, name: str = "refund-service") -> dict[str, Any]:
    answer = api.post(
        "/register/service",
        {"name": name, "description": "Refunds an order", "schema": REFUND_SCHEMA},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _ws_url(server: ServerProcess, service_id: str, key: str | None = None) -> str:
    url = server.url.replace("http", "ws") + f"/ws?serviceId={service_id}"
    return url + (f"&apiKey={key}" if key else "")


def _rss(server: ServerProcess) -> int:
    assert server.proc is not None
    return psutil.Process(server.proc.pid).memory_info().rss


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


async def _next_of(ws: Any, kind: str, timeout: float = 10.0) -> dict[str, Any]:
    async def loop() -> dict[str, Any]:
        while True:
            message = json.loads(await ws.recv())
            if message.get("type") == kind:
                return message

    return await asyncio.wait_for(loop(), timeout)


def _result(task: dict[str, Any], service_id: str, result: Any) -> dict[str, Any]:
    return {
        "type": "task_result",
        "taskId": task["id"],
        "idempotencyKey": task["idempotencyKey"],
        "executionId": task["executionId"],
        "serviceId": service_id,
        "result": result,
        "error": None,
    }


# -- 1. memory: ACKs a client never reads ------------------------------------------------------
@pytest.mark.slow
def test_unread_acks_do_not_grow_memory_and_a_peer_that_never_reads_is_dropped(server):
    api, project = _project(server)
    service = _service(api, "unread-acks")
    url = _ws_url(server, service["id"], project["apiKey"])
    before = _rss(server)
    growth: dict[str, int] = {}

    async def flood(id_chars: int, frames: int, label: str) -> None:
        # a client that sends and never reads (its library stops reading after 16 frames)
        async with websockets.connect(url, max_queue=1) as ws:
            for n in range(frames):
                frame = {
                    "id": f"{n:08d}" + "x" * (id_chars - 8),
                    "payload": {
                        "type": "task_status",
                        "status": "in_progress",
                        "idempotencyKey": "k" * 40,
                        "serviceId": service["id"],
                    },
                }
                await ws.send(json.dumps(frame))
            growth[label] = _rss(server) - before

    # 160 MB of ids over the id limit (refused, not ACKed): three times the growth allowed
    asyncio.run(flood(20_000, 8_000, "refused 20 KB ids"))
    asyncio.run(flood(256, 20_000, "ACKed 256-char ids"))
    limit = 50 * 1024 * 1024
    print(
        f"RSS growth over {before / 2**20:.0f} MiB: "
        + ", ".join(f"{k}: {v / 2**20:+.1f} MiB" for k, v in growth.items())
    )
    assert all(g < limit for g in growth.values()), growth
    after_close = wait_until(
        lambda: (_rss(server) - before < limit) and _rss(server) - before + 1,
        10,
        "memory released",
    )
    assert after_close - 1 < limit
    assert httpx.get(server.url + "/health", timeout=5).status_code == 200
    log = server.log()
    assert "Traceback" not in log


@pytest.mark.slow
def test_a_service_that_stops_reading_its_tasks_is_disconnected_with_1013(server):
    api, project = _project(server)
    service = _service(api, "never-reads")
    url = _ws_url(server, service["id"], project["apiKey"])
    big = "y" * 900_000  # each task frame ~0.9 MB: the send queue's byte bound fills first

    async def scenario() -> int | None:
        # it asks to hold up to 1,000 tasks (an orra SDK's socket would get 16 at most and
        # the rest would wait in the control plane): the send queue's bound is what is tested
        capacity = {"X-Orra-Capacity": "1000"}
        async with websockets.connect(
            url, max_queue=1, max_size=None, additional_headers=capacity
        ) as ws:
            wait_until(lambda: api.services_online({"never-reads"}), 10, "online")
            body = {
                "action": {"type": "refund-order", "content": "refund it"},
                "data": [{"field": "orderId", "value": big}],
                "options": {"maxAttempts": 1},
            }
            for _ in range(60):
                answer = await asyncio.to_thread(api.post, "/orchestrations", body)
                assert answer.status_code == 202, answer.text
                if not api.services_online({"never-reads"}):
                    break
            await asyncio.to_thread(
                wait_until,
                lambda: not api.services_online({"never-reads"}),
                30,
                "the server to drop the socket",
            )
            return await close_code(ws, 30)

    code = asyncio.run(scenario())
    assert code in (1013, None)  # 1013 when the close frame got through, else dropped (abort)
    assert "with 1013: frames to this socket piled up unread" in server.log()
    assert httpx.get(server.url + "/health", timeout=5).status_code == 200


# -- 2. a result nested too deep ---------------------------------------------------------------
def test_a_result_nested_300_deep_fails_its_step_and_every_read_works(server):
    api, project = _project(server)
    service = _service(api, "deep-results")

    async def scenario() -> str:
        async with websockets.connect(_ws_url(server, service["id"], project["apiKey"])) as ws:
            body = {**REQUEST, "options": {"maxAttempts": 2, "initialDelaySeconds": 0}}
            answer = await asyncio.to_thread(api.post, "/orchestrations", body)
            answered, acked = 0, set()
            while answered < 2 or len(acked) < 2:
                message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if message["type"] == "task_request":
                    result = _result(message, service["id"], {"task": _nested(300)})
                    await ws.send(json.dumps({"id": f"m{answered}", "payload": result}))
                    answered += 1
                elif message["type"] == "ACK":
                    acked.add(message["id"])
            assert acked == {"m0", "m1"}
            return answer.json()["executionId"]

    execution_id = asyncio.run(scenario())
    finished = api.wait_finished(execution_id)
    assert finished["status"] == "FAILED"
    step = finished["stepResults"][0]
    assert step["attempts"] == 2
    assert "nests more than 64 levels" in step["error"]
    for path in ("", "/logs", "/plan", "/events", "/deliveries"):
        assert api.get(f"/orchestrations/{execution_id}{path}").status_code == 200, path
    assert api.post(f"/orchestrations/{execution_id}/cancel").status_code == 409


# -- 3. JSON nested too deep in HTTP bodies --------------------------------------------------
@pytest.mark.parametrize("depth", [65, 255, 300, 900])
def test_bodies_nested_too_deep_are_a_400_and_the_connection_survives(server, depth):
    api, _ = _project(server)
    orchestration = {**REQUEST, "data": [{"field": "orderId", "value": _nested(depth)}]}
    answer = api.post("/orchestrations", orchestration)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "json_too_deep"
    assert "64" in answer.json()["error"]["message"]
    schema = {"input": {"type": "object", "properties": {"x": _nested(depth)}}}
    registration = {"name": "deep-schema", "description": "x", "schema": schema}
    answer = api.post("/register/service", registration)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "json_too_deep"
    assert api.get("/services").status_code == 200  # the same keep-alive connection


def test_deeper_than_the_parser_allows_is_invalid_json(server):
    api, _ = _project(server)
    raw = '{"action": {"type": "a"}, "data": [{"field": "f", "value": ' + "[" * 2000
    raw += "]" * 2000 + "}]}"
    answer = api.http.post(
        "/orchestrations", content=raw, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("kind", ["json", "yaml"])
def test_a_grounding_nested_10000_deep_is_a_400(server, kind):
    api, _ = _project(server)
    if kind == "json":
        raw = '{"name": "x", "domain": "d", "version": "1", "use-cases": ' + "[" * 10_000
        raw += "]" * 10_000 + "}"
        content_type = "application/json"
    else:
        raw = "name: x\ndomain: d\nversion: '1'\nuse-cases: " + "[" * 10_000 + "]" * 10_000
        content_type = "application/yaml"
    answer = api.http.post("/groundings", content=raw, headers={"content-type": content_type})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "json_too_deep"


# -- 4. webhook destinations -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://169.254.169.254/latest/meta-data/iam", "webhook_url_forbidden"),
        ("http://metadata.google.internal/", "webhook_url_forbidden"),
        ("http://10.0.0.1/", "webhook_url_forbidden"),
        ("http://127.0.0.1:22/", "webhook_url_forbidden"),
        ("http://[::1]:6379/", "webhook_url_forbidden"),
        ("http://0x7f000001/", "webhook_url_forbidden"),
        ("http://localhost:3000/hook", "webhook_url_forbidden"),
        ("http://[::ffff:127.0.0.1]/", "webhook_url_forbidden"),
        ("http://2130706433/", "invalid_webhook_url"),
        ("http://user:pass@127.0.0.1/", "webhook_url_credentials"),
        ("http://a b/", "invalid_webhook_url"),
        ("https://example.com\r\nX-Injected: 1", "invalid_webhook_url"),
    ],
)
def test_webhook_urls_to_internal_addresses_are_refused(server, url, code):
    api, _ = _project(server)
    for path in ("/webhooks", "/compensation-failure-webhooks"):
        answer = api.post(path, {"url": url})
        assert answer.status_code == 400, (path, answer.text)
        assert answer.json()["error"]["code"] == code
    answer = httpx.post(
        server.url + "/register/project",
        json={"name": "p", "webhooks": [url]},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert answer.status_code == 400 and answer.json()["error"]["code"] == code
    assert api.get("/webhooks").json()["webhooks"] == []


def test_a_public_webhook_is_accepted_listed_and_removed(server):
    api, _ = _project(server)
    added = api.post("/webhooks", {"url": "https://hooks.example.com/orra"}).json()
    assert added["id"].startswith("wh_")
    items = api.get("/webhooks").json()["items"]
    assert items == [{"id": added["id"], "url": "https://hooks.example.com/orra"}]
    removed = api.http.delete(f"/webhooks/{added['id']}")
    assert removed.status_code == 200 and removed.json()["removed"] is True
    assert api.get("/webhooks").json()["webhooks"] == []
    again = api.http.delete(f"/webhooks/{added['id']}")
    assert again.status_code == 404 and again.json()["error"]["code"] == "webhook_not_found"


class _Refusing(QuietHandler):
    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.answer(401, b'{"secret": "internal-body-that-must-not-leak"}')


def test_a_failed_delivery_records_the_status_line_not_the_body(tmp_path):
    with LocalHttpServer(_Refusing, "/hook") as receiver:
        hook = receiver.url
        local = ServerProcess(tmp_path / "orra.duckdb", env={"ORRA_WEBHOOK_ATTEMPTS": "1"}).start()
        try:
            api, _ = new_project(local.url, webhooks=[hook])
            answer = api.post("/orchestrations", {"action": {"type": "x", "content": "nothing"}})
            execution_id = answer.json()["executionId"]

            def delivered() -> list[dict[str, Any]]:
                rows = api.get(f"/orchestrations/{execution_id}/deliveries").json()["deliveries"]
                return [r for r in rows if r["status"] != "pending"]

            rows = wait_until(delivered, 20, "the delivery attempt")
            assert rows[0]["lastError"] == "HTTP 401 Unauthorized"
            assert "internal-body" not in json.dumps(
                api.get(f"/orchestrations/{execution_id}/deliveries").json()
            )
        finally:
            local.stop()


# -- 5. admin token, key revocation and rotation ----------------------------------------------
def test_creating_a_project_needs_the_admin_token(server):
    anonymous = httpx.post(server.url + "/register/project", json={"name": "x"})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "admin_token_required"
    wrong = httpx.post(
        server.url + "/register/project",
        json={"name": "x"},
        headers={"Authorization": "Bearer nope"},
    )
    assert wrong.status_code == 401
    assert _project(server)[1]["apiKey"].startswith("sk-orra-v1-")


def test_serving_beyond_loopback_without_an_admin_token_refuses_to_start(tmp_path):
    beyond_loopback = ["serve", "--host", "0.0.0.0", "--port", "1"]
    run = orra_cli(*beyond_loopback, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert run.returncode == 2
    assert "--admin-token" in run.stderr and "--open-registration" in run.stderr
    assert "Traceback" not in run.stderr


def test_revoking_a_key_refuses_it_at_once_and_disconnects_its_services(server):
    api, project = _project(server)
    service = _service(api, "revocable")
    second = api.post("/apikeys", {"name": "ci"}).json()["apiKey"]
    keys = api.get("/apikeys").json()["apiKeys"]
    assert {k["name"] for k in keys} == {"default", "ci"}
    assert all(k["id"].startswith("k_") and "apiKey" not in k for k in keys)

    async def scenario() -> int | None:
        async with websockets.connect(_ws_url(server, service["id"], second)) as ws:
            await asyncio.to_thread(
                wait_until, lambda: api.services_online({"revocable"}), 10, "online"
            )
            revoked = await asyncio.to_thread(api.http.delete, "/apikeys/ci")
            assert revoked.status_code == 200, revoked.text
            assert revoked.json()["disconnectedServices"] == 1
            return await close_code(ws)

    assert asyncio.run(scenario()) == 4001
    refused = httpx.get(server.url + "/services", headers={"Authorization": f"Bearer {second}"})
    assert refused.status_code == 401
    last = api.http.delete("/apikeys/default")
    assert last.status_code == 409 and last.json()["error"]["code"] == "last_api_key"
    rotated = api.post("/apikeys/default/rotate")
    assert rotated.status_code == 201, rotated.text
    new_key = rotated.json()["apiKey"]
    old = httpx.get(
        server.url + "/services", headers={"Authorization": f"Bearer {project['apiKey']}"}
    )
    assert old.status_code == 401
    fresh = httpx.get(server.url + "/services", headers={"Authorization": f"Bearer {new_key}"})
    assert fresh.status_code == 200
    missing = httpx.delete(
        server.url + "/apikeys/nope", headers={"Authorization": f"Bearer {new_key}"}
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "api_key_not_found"


# -- 6. keys never logged; the key in a header -------------------------------------------------
def test_api_keys_never_reach_the_log_and_the_upgrade_takes_an_authorization_header(server):
    api, project = _project(server)
    service = _service(api, "header-auth")
    key = project["apiKey"]

    async def scenario() -> None:
        async with websockets.connect(_ws_url(server, service["id"], key)):
            pass
        headers = {"Authorization": f"Bearer {key}"}
        async with websockets.connect(
            _ws_url(server, service["id"]), additional_headers=headers
        ) as ws:
            await asyncio.to_thread(
                wait_until, lambda: api.services_online({"header-auth"}), 10, "online"
            )
            await ws.send(json.dumps({"id": "pong", "payload": {"type": "pong"}}))
        with pytest.raises(websockets.InvalidStatus):
            async with websockets.connect(_ws_url(server, service["id"])):
                pass

    asyncio.run(scenario())
    log = wait_until(lambda: "WebSocket /ws" in server.log() and server.log(), 10, "log lines")
    assert "[redacted]" in log  # the handshake line was written, with the key cut out
    assert not KEY_PATTERN.search(log), KEY_PATTERN.search(log)


# -- 7. a chunked body over the limit -----------------------------------------------------------
def test_a_chunked_body_over_10_mib_is_a_413(server):
    api, _ = _project(server)

    def chunks() -> Iterator[bytes]:
        yield b'{"action": {"type": "x"}, "data": [{"field": "f", "value": "'
        for _ in range(11):
            yield b"z" * (1024 * 1024)
        yield b'"}]}'

    answer = api.http.post(
        "/orchestrations", content=chunks(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"]["code"] == "payload_too_large"
    small = api.http.post(
        "/orchestrations",
        content=iter([json.dumps({"action": {"type": "x", "content": "y"}}).encode()]),
        headers={"content-type": "application/json"},
    )
    assert small.status_code == 202, small.text


# -- 8 and 9. bad frames: refused, logged once, the connection survives ------------------------
def test_bad_frames_are_refused_the_socket_survives_and_the_log_stays_small(server):
    api, project = _project(server)
    service = _service(api, "bad-frames")
    bad_frames: list[str | bytes] = [
        b"\x00\x01binary",
        json.dumps({"id": "b1", "payload": {"type": "task_result", "idempotencyKey": ["a"]}}),
        json.dumps({"id": "b2", "payload": {"type": "task_interim_result", "idempotencyKey": {}}}),
        json.dumps({"id": "b3", "payload": {"type": "task_status", "idempotencyKey": 7}}),
        json.dumps({"id": ["x"], "payload": {"type": "task_status", "idempotencyKey": "k"}}),
        json.dumps({"id": "b4", "payload": "not an object"}),
        json.dumps({"type": "nonsense"}),
        json.dumps([1, 2, 3]),
        "not json at all",
    ]

    def probe(name: str) -> str:
        payload = {"type": "task_status", "status": "in_progress", "idempotencyKey": "k"}
        return json.dumps({"id": name, "payload": payload})

    async def scenario() -> None:
        async with websockets.connect(_ws_url(server, service["id"], project["apiKey"])) as ws:
            # a well-behaved peer reads while it writes: the ACKs to the frames with an id are
            # more than the server queues for a peer that never reads (that case is the test
            # above), so a reader drains them, and every 25 rounds the writer waits for the
            # ACK of a probe (a send need not yield, so on a busy machine the reader could
            # otherwise starve and the server rightly drop the socket as not reading)
            acked: dict[str, asyncio.Event] = {}

            async def read_acks() -> None:
                while True:
                    ack = await _next_of(ws, "ACK", timeout=60)
                    if ack["id"] in acked:
                        acked[ack["id"]].set()
                    if ack["id"] == "still-alive":
                        return

            reader = asyncio.create_task(read_acks())
            for round_number in range(500):
                for frame in bad_frames:
                    await ws.send(frame)
                if round_number % 25 == 24:
                    name = f"probe-{round_number}"
                    acked[name] = asyncio.Event()
                    await ws.send(probe(name))
                    await asyncio.wait_for(acked[name].wait(), 60)
            await ws.send(probe("still-alive"))
            await asyncio.wait_for(reader, 60)

    asyncio.run(scenario())
    wait_until(lambda: "more malformed frames" in server.log(), 10, "the summary line")
    log = server.log()
    assert "Traceback" not in log
    refusal_lines = [
        line for line in log.splitlines() if "refused" in line and "bad-frames" not in line
    ]
    lines_about_it = [line for line in log.splitlines() if "malformed frame" in line]
    assert len(lines_about_it) <= 3, lines_about_it
    assert len(refusal_lines) < 20


# -- 10. requests too big to plan, and the loop stays free ------------------------------------
def test_plans_and_data_past_the_limits_are_400s_and_health_stays_fast(server):
    api, _ = _project(server)
    service_name = _service(api, "limits-service")["name"]
    huge_plan = {
        "steps": [
            {
                "id": "step1",
                "component": service_name,
                "input": {f"f{n}": "{{request.data.orderId}}" for n in range(100_000)},
            }
        ]
    }
    answer = api.post("/orchestrations", {**REQUEST, "dryRun": True, "plan": huge_plan})
    assert answer.status_code == 400, answer.text[:300]
    assert answer.json()["error"]["code"] == "too_many_references"
    many_fields = {**REQUEST, "data": [{"field": f"f{n}", "value": n} for n in range(1001)]}
    assert api.post("/orchestrations", many_fields).status_code == 400
    many_steps = {"steps": [{"id": f"step{n}", "component": service_name} for n in range(1, 202)]}
    answer = api.post("/orchestrations", {**REQUEST, "dryRun": True, "plan": many_steps})
    assert answer.status_code == 400

    legal_plan = {
        "steps": [
            {
                "id": f"step{n}",
                "component": service_name,
                "input": {f"f{i}": "{{request.data.orderId}}" for i in range(24)},
            }
            for n in range(1, 201)
        ]
    }
    body = {**REQUEST, "dryRun": True, "plan": legal_plan}

    async def scenario() -> float:
        async with httpx.AsyncClient(base_url=server.url, headers=api.http.headers) as client:
            posts = [
                asyncio.create_task(client.post("/orchestrations", json=body)) for _ in range(4)
            ]
            worst = 0.0
            while not all(p.done() for p in posts):
                started = asyncio.get_running_loop().time()
                assert (await client.get("/health")).status_code == 200
                worst = max(worst, asyncio.get_running_loop().time() - started)
            for post in posts:
                assert (await post).status_code == 200
            return worst

    slowest = asyncio.run(scenario())
    assert slowest < 1.0, slowest


# -- 12. resuming a finished run's event stream -------------------------------------------------
def test_a_resumed_stream_of_a_finished_run_ends_and_bad_ids_are_400(server):
    api, _ = _project(server)
    answer = api.post("/orchestrations", {"action": {"type": "x", "content": "nothing to do"}})
    execution_id = answer.json()["executionId"]
    api.wait_finished(execution_id)
    with api.http.stream("GET", f"/orchestrations/{execution_id}/events", timeout=10) as first:
        text = "".join(first.iter_text())
    seqs = [int(line[4:]) for line in text.splitlines() if line.startswith("id: ")]
    assert seqs
    for headers, params in (({"Last-Event-ID": str(seqs[-1])}, {}), ({}, {"after": seqs[0]})):
        with api.http.stream(
            "GET",
            f"/orchestrations/{execution_id}/events",
            headers=headers,
            params=params,
            timeout=10,
        ) as resumed:
            rest = "".join(resumed.iter_text())
        resumed_seqs = [int(line[4:]) for line in rest.splitlines() if line.startswith("id: ")]
        assert resumed_seqs == [s for s in seqs if s > (params.get("after") or seqs[-1])]
    bad = api.get(
        f"/orchestrations/{execution_id}/events",
        headers={"Last-Event-ID": "9999999999999999999999999999999999999999"},
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_last_event_id"


def test_the_first_stream_carries_the_webhook_attempt(tmp_path):
    from helpers import WebhookReceiver

    local = ServerProcess(tmp_path / "orra.duckdb").start()
    try:
        with WebhookReceiver() as receiver:
            api, _ = new_project(local.url, webhooks=[receiver.url])
            answer = api.post("/orchestrations", {"action": {"type": "x", "content": "nothing"}})
            execution_id = answer.json()["executionId"]
            with api.http.stream(
                "GET", f"/orchestrations/{execution_id}/events", timeout=30
            ) as stream:
                text = "".join(stream.iter_text())
            assert "event: webhook_attempt" in text
    finally:
        local.stop()


# -- 13. unchecked text ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["bad\x00name", "evil\u202etxt.exe", "two\nlines"])
def test_names_with_control_characters_are_refused(server, name):
    api, _ = _project(server)
    answer = httpx.post(
        server.url + "/register/project",
        json={"name": name},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert answer.status_code == 400 and "U+" in answer.json()["error"]["message"]
    assert api.post("/apikeys", {"name": name}).status_code == 400


def test_an_orchestration_timestamp_must_be_iso_8601(server):
    api, _ = _project(server)
    answer = api.post("/orchestrations", {**REQUEST, "timestamp": "99999-99-99T99:99:99Z"})
    assert answer.status_code == 400 and "ISO-8601" in answer.json()["error"]["message"]
    good = api.post("/orchestrations", {**REQUEST, "timestamp": "2024-09-06T14:30:00Z"})
    assert good.status_code == 202


# -- 14. smaller ---------------------------------------------------------------------------------
def test_trace_gets_405_with_allow_and_booleans_are_not_numbers(server):
    api, _ = _project(server)
    answer = api.http.request("TRACE", "/orchestrations")
    assert answer.status_code == 405 and answer.headers.get("allow")
    boolean = api.post("/orchestrations", {**REQUEST, "options": {"maxDelaySeconds": False}})
    assert boolean.status_code == 400 and "true/false" in boolean.json()["error"]["message"]


def test_openapi_documents_the_error_answers(server):
    document = httpx.get(server.url + "/openapi.json").json()
    post = document["paths"]["/orchestrations"]["post"]["responses"]
    assert {"400", "401", "413"} <= set(post)
    assert post["400"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorBody")
    cancel = document["paths"]["/orchestrations/{orchestration_id}/cancel"]["post"]["responses"]
    assert "409" in cancel


def test_a_file_that_is_not_a_database_gives_one_line(tmp_path):
    bad = tmp_path / "orra.duckdb"
    bad.write_bytes(b"this is not a duckdb file" * 100)
    run = orra_cli("serve", "--db", str(bad), "--port", "1")
    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "not a valid DuckDB database file" in errors[0]
    assert "Traceback" not in run.stderr


def test_a_delivery_checks_the_address_again_when_it_is_sent(tmp_path):
    """A webhook added while private addresses were allowed is refused at delivery once they
    are not: the check runs against the address the delivery would connect to."""
    from helpers import WebhookReceiver

    db = tmp_path / "orra.duckdb"
    with WebhookReceiver() as receiver:
        disguised = receiver.url.replace("127.0.0.1", "0x7f000001")  # resolves to 127.0.0.1
        permissive = ServerProcess(db).start()
        try:
            api, project = new_project(permissive.url, webhooks=[disguised])
        finally:
            permissive.stop()
        strict = ServerProcess(
            db, port=permissive.port, env={"ORRA_ALLOW_PRIVATE_WEBHOOKS": "0"}
        ).start()
        try:
            answer = api.post("/orchestrations", {"action": {"type": "x", "content": "none"}})
            execution_id = answer.json()["executionId"]

            def settled() -> list[dict[str, Any]]:
                path = f"/orchestrations/{execution_id}/deliveries"
                rows = api.get(path).json()["deliveries"]
                return [r for r in rows if r["status"] != "pending"]

            row = wait_until(settled, 20, "the delivery to be refused")[0]
            assert row["status"] == "failed" and row["attempts"] == 1
            assert "loopback address (127.0.0.1)" in row["lastError"]
            assert receiver.received.empty()
        finally:
            strict.stop()


def test_orra_sdk_sends_its_key_in_a_header_not_the_url(server, tmp_path):

    api, project = _project(server)
    with serving(api, "sdk_services.py", "schema", online={"greeter"}, cwd=tmp_path):
        greeter = next(s for s in api.get("/services").json()["services"] if s["name"] == "greeter")
        line = wait_until(
            lambda: next(
                (x for x in server.log().splitlines() if f"serviceId={greeter['id']}" in x), None
            ),
            10,
            "the handshake line",
        )
        assert "apiKey" not in line and "[accepted]" in line
