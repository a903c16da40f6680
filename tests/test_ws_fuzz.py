"""Websocket protocol fuzz: hypothesis-generated frames against a real control plane.

Wrong types, missing fields, huge ids, binary frames, deep nesting, invalid JSON, valid frames
with nonsense values. Whatever arrives, the server must keep the socket (a probe frame sent
after the batch is ACKed), never close with a code outside the allowed set, never log a
traceback, and stay healthy.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import ServerProcess, new_project, socket_for

#: close codes the server may use on a service socket (docs/security.md)
ALLOWED_CLOSE_CODES = {1009, 1011, 1012, 1013, *range(4000, 5000)}
TYPES = ["pong", "task_result", "task_interim_result", "task_abort_result", "task_status"]

json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
odd_value = json_value | st.text(min_size=257, max_size=30_000)


@st.composite
def nested(draw: st.DrawFn) -> Any:
    depth = draw(st.integers(min_value=60, max_value=1_100))
    value: Any = draw(json_leaf)
    for _ in range(depth):
        value = [value] if draw(st.booleans()) else {"k": value}
    return value


@st.composite
def payload(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if draw(st.booleans()):
        body["type"] = draw(st.sampled_from(TYPES) | st.text(max_size=12) | json_value)
    for name in ("idempotencyKey", "taskId", "executionId", "serviceId", "status", "error"):
        if draw(st.booleans()):
            body[name] = draw(odd_value)
    if draw(st.booleans()):
        body["result"] = draw(json_value | nested() | st.builds(lambda t: {"task": t}, nested()))
    return body


@st.composite
def frame(draw: st.DrawFn) -> str | bytes:
    kind = draw(st.sampled_from(["wrapped", "bare", "binary", "text", "deep", "value"]))
    if kind == "binary":
        return draw(st.binary(max_size=200))
    if kind == "text":
        return draw(st.text(max_size=200))
    if kind == "deep":
        return json.dumps({"id": "d", "payload": draw(nested())})
    if kind == "value":
        return json.dumps(draw(json_value))
    body = draw(payload())
    if kind == "bare":
        return json.dumps(body)
    return json.dumps({"id": draw(odd_value), "payload": draw(st.just(body) | json_value)})


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    server = ServerProcess(tmp_path_factory.mktemp("fuzz") / "orra.duckdb").start()
    api, project = new_project(server.url)
    _, url = socket_for(api, "fuzz-target", "takes anything", None)
    yield server, url
    server.stop()


async def _send_batch(url: str, frames: list[str | bytes]) -> int | None:
    """Send ``frames`` then a probe; returns None if the probe was ACKed, else the close code."""
    async with websockets.connect(url, max_size=None) as ws:
        try:
            for item in frames:
                await ws.send(item)
            probe = {"id": "probe", "payload": {"type": "task_status", "idempotencyKey": "p"}}
            await ws.send(json.dumps(probe))
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 15))
                if message.get("type") == "ACK" and message.get("id") == "probe":
                    return None
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else 1006


@pytest.mark.slow
def test_random_frames_never_break_a_socket_or_the_server(target):
    server, url = target
    closes: list[int | None] = []

    @settings(
        max_examples=120,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(st.lists(frame(), min_size=1, max_size=12))
    def run(frames: list[str | bytes]) -> None:
        code = asyncio.run(_send_batch(url, frames))
        closes.append(code)
        assert code is None, f"socket closed with {code} after {len(frames)} frames"

    run()
    assert closes and all(code is None or code in ALLOWED_CLOSE_CODES for code in closes)
    assert httpx.get(server.url + "/health", timeout=5).status_code == 200
    log = server.log()
    assert "Traceback" not in log
    assert "Exception in ASGI application" not in log
