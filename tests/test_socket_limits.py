"""Service sockets are bounded (issue 24, third round): per service, per project, and in
how long one may stay silent. Real server, real sockets (one of them a bare TCP socket that
completes the upgrade and then never reads or writes)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest
import websockets
from pydantic import BaseModel
from websockets.exceptions import InvalidStatus
from websockets.protocol import State

from helpers import ServerProcess, new_project, socket_for, wait_until


class Text(BaseModel):
    a: str = ""


SCHEMA = {
    "input": {"type": "object", "properties": {"a": {"type": "string"}}},
    "output": {"type": "object", "properties": {"b": {"type": "string"}}},
}


def _services(api: Any) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in api.get("/services").json()["services"]}


async def _refusal(url: str) -> tuple[int, dict[str, Any], str | None]:
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(url):
            pass
    response = refused.value.response
    return response.status_code, json.loads(response.body), response.headers.get("Retry-After")


def test_sockets_past_the_service_and_project_caps_are_refused_before_the_upgrade(
    tmp_path: Path,
):
    server = ServerProcess(
        tmp_path / "orra.duckdb",
        env={"ORRA_MAX_INSTANCES_PER_SERVICE": "3", "ORRA_MAX_SOCKETS_PER_PROJECT": "5"},
    ).start()
    try:
        api, _ = new_project(server.url)
        one, one_url = socket_for(api, "one", "first service", SCHEMA)
        two, two_url = socket_for(api, "two", "second service", SCHEMA)

        async def scenario() -> None:
            first = [await websockets.connect(one_url) for _ in range(3)]
            status, body, retry = await _refusal(one_url)
            assert status == 429 and retry == "30"
            assert body["error"]["code"] == "too_many_instances"
            assert "ORRA_MAX_INSTANCES_PER_SERVICE" in body["error"]["message"]
            second = [await websockets.connect(two_url) for _ in range(2)]
            status, body, _ = await _refusal(two_url)  # the project's 5 are open
            assert status == 429 and body["error"]["code"] == "too_many_sockets"
            assert "ORRA_MAX_SOCKETS_PER_PROJECT" in body["error"]["message"]
            shown = await asyncio.to_thread(_services, api)
            assert (shown[one["id"]]["instances"], shown[two["id"]]["instances"]) == (3, 2)

            # a socket that goes makes room for another
            await first.pop().close()

            async def admitted() -> Any:
                try:
                    return await websockets.connect(two_url)
                except InvalidStatus:
                    return None

            deadline = time.monotonic() + 10
            again = None
            while again is None and time.monotonic() < deadline:
                again = await admitted()
            assert again is not None, "no room after a socket closed"
            for ws in (*first, *second, again):
                await ws.close()

        asyncio.run(scenario())
        assert "Traceback" not in server.log()
        assert "too many sockets" in server.log()
    finally:
        server.stop()


def _raw_upgrade(url: str) -> socket.socket:
    """A bare TCP socket that completes the websocket upgrade and then never speaks."""
    rest = url.removeprefix("ws://")
    address, _, target = rest.partition("/")
    host, _, port = address.partition(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /{target} HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        assert chunk, answer
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 101"), answer[:200]
    return sock


def test_a_silent_socket_is_closed_after_the_grace_and_an_idle_one_that_pongs_stays(
    tmp_path: Path,
):
    """The idle client sends no frame at all, but its library answers the keep-alive ping:
    it stays. The bare socket answers nothing: closed with 4002 after ORRA_WS_SILENT_GRACE
    (2 s here; before: held until the 180 s ping timeout, listed as an instance)."""
    server = ServerProcess(tmp_path / "orra.duckdb", env={"ORRA_WS_SILENT_GRACE": "2"}).start()
    try:
        api, _ = new_project(server.url)
        idle_service, idle_url = socket_for(api, "idle", "answers pings only", SCHEMA)
        silent_service, silent_url = socket_for(api, "silent", "answers nothing", SCHEMA)

        async def scenario() -> None:
            idle = await websockets.connect(idle_url)
            silent = await asyncio.to_thread(_raw_upgrade, silent_url)
            try:
                shown = await asyncio.to_thread(_services, api)
                held = shown[silent_service["id"]]
                assert held["instances"] == 1 and held["unconfirmedInstances"] == 1
                assert held["connections"][0]["confirmed"] is False

                received = await asyncio.to_thread(_until_closed, silent, 15.0)
                assert b"\x88" in received and (4002).to_bytes(2, "big") in received

                def confirmed_idle() -> bool:
                    listed = _services(api)
                    return (
                        listed[silent_service["id"]]["instances"] == 0
                        and listed[idle_service["id"]]["instances"] == 1
                        and listed[idle_service["id"]]["unconfirmedInstances"] == 0
                    )

                await asyncio.to_thread(wait_until, confirmed_idle, 10, "idle one confirmed")
                # the idle one's grace has passed (it connected first) and it is still open
                assert idle.state is State.OPEN
                assert json.loads(await asyncio.wait_for(idle.recv(), 5))["type"] == "ping"
            finally:
                silent.close()
                await idle.close()

        asyncio.run(scenario())
        assert "answered no ping within 2 s" in server.log()
        assert "Traceback" not in server.log()
    finally:
        server.stop()


def _until_closed(sock: socket.socket, timeout: float) -> bytes:
    """Every byte the server sends (read only now, after the grace) until it closes, or until
    its close frame with 4002 has come (the server then waits for a closing handshake this
    socket never sends)."""
    sock.settimeout(timeout)
    received = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        received += chunk
        closing = received.find(b"\x88")
        if closing >= 0 and (4002).to_bytes(2, "big") in received[closing:]:
            break
    return received


def test_the_python_sdk_logs_why_its_socket_was_refused_and_connects_once_there_is_room(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    import orra_sdk

    server = ServerProcess(
        tmp_path / "orra.duckdb", env={"ORRA_MAX_INSTANCES_PER_SERVICE": "1"}
    ).start()
    try:
        _, project = new_project(server.url)
        service = orra_sdk.Service(
            "capped",
            description="one instance at most",
            url=server.url,
            api_key=project["apiKey"],
            input=Text,
            output=Text,
            max_backoff=0.5,
        )

        @service.handler
        async def handle(task: Any) -> Text:
            return Text(a="ok")

        async def scenario() -> None:
            service_id = await service.register()
            holder = await websockets.connect(
                server.url.replace("http", "ws", 1) + f"/ws?serviceId={service_id}",
                additional_headers={"Authorization": f"Bearer {project['apiKey']}"},
            )
            running = asyncio.create_task(service.run())
            try:
                deadline = time.monotonic() + 10
                while "ORRA_MAX_INSTANCES_PER_SERVICE" not in caplog.text:
                    assert time.monotonic() < deadline, caplog.text
                    await asyncio.sleep(0.05)
                assert "HTTP 429" in caplog.text and "too many sockets" in caplog.text
                await holder.close()
                await service.wait_connected(10)  # room again: it connects
            finally:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running

        with caplog.at_level("WARNING", logger="orra_sdk"):
            asyncio.run(scenario())
    finally:
        server.stop()
