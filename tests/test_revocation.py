"""Revoking or rotating a key ends what it holds open, within a second (issue 24, item 9).

A real control plane; a service socket and a server-sent-event stream are opened with a second
key K while a run waits on that service; K is revoked (or rotated) with the project's first key.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import websockets

from helpers import REFUND_SCHEMA, new_project, one_step, server_fixture, ws_url

server = server_fixture("revocation")


async def _until_task(ws: websockets.ClientConnection) -> None:
    while True:
        frame = json.loads(await ws.recv())
        if (frame.get("payload") or frame).get("type") == "task_request":
            return


async def _socket_end(ws: websockets.ClientConnection) -> tuple[float, int | None]:
    try:
        while True:
            await ws.recv()
    except websockets.ConnectionClosed as closed:
        return time.monotonic(), closed.rcvd.code if closed.rcvd else None


async def _stream_end(lines: object) -> float:
    async for _ in lines:  # type: ignore[attr-defined]
        pass
    return time.monotonic()


@pytest.mark.parametrize("how", ["revoke", "rotate"])
def test_revoking_a_key_ends_its_event_streams_and_sockets_within_a_second(server, how):
    api, _ = new_project(server.url)
    key = api.post("/apikeys", {"name": "k"}).json()["apiKey"]
    name = f"held-{how}"
    service = api.post(
        "/register/service", {"name": name, "description": "never answers", "schema": REFUND_SCHEMA}
    ).json()
    run = api.post("/orchestrations", one_step(name, "orderId", "o-1"))
    assert run.status_code == 202, run.text
    execution_id = run.json()["executionId"]
    auth = {"Authorization": f"Bearer {key}"}

    async def scenario() -> tuple[float, float, float, int | None]:
        async with (
            websockets.connect(ws_url(server.url, service["id"], key)) as ws,
            httpx.AsyncClient(base_url=server.url, timeout=30) as http,
            http.stream("GET", f"/orchestrations/{execution_id}/events", headers=auth) as sse,
        ):
            assert sse.status_code == 200
            lines = sse.aiter_lines()
            assert (await anext(lines)).startswith("id: 1")  # the stream is open, events flow
            await asyncio.wait_for(_until_task(ws), 15)  # the run waits on this socket
            socket_end = asyncio.ensure_future(_socket_end(ws))
            stream_end = asyncio.ensure_future(_stream_end(lines))
            if how == "revoke":
                answer = await http.delete(
                    "/apikeys/k", headers={"Authorization": api.http.headers["authorization"]}
                )
            else:
                answer = await http.post(
                    "/apikeys/k/rotate",
                    headers={"Authorization": api.http.headers["authorization"]},
                )
            assert answer.status_code in (200, 201), answer.text
            revoked_at = time.monotonic()
            # both must end on their own: a deadline, not a wait for the run
            (closed_at, code), ended_at = await asyncio.wait_for(
                asyncio.gather(socket_end, stream_end), 5
            )
            return revoked_at, closed_at, ended_at, code

    revoked_at, closed_at, ended_at, code = asyncio.run(scenario())
    print(
        f"{how}: socket closed after {closed_at - revoked_at:.3f} s, stream ended after "
        f"{ended_at - revoked_at:.3f} s"
    )
    assert code == 4001
    assert closed_at - revoked_at < 1.0, f"socket closed {closed_at - revoked_at:.2f} s later"
    assert ended_at - revoked_at < 1.0, f"stream ended {ended_at - revoked_at:.2f} s later"
    refused = httpx.get(f"{server.url}/orchestrations/{execution_id}/events", headers=auth)
    assert refused.status_code == 401
    assert api.get(f"/orchestrations/{execution_id}").json()["status"] != "COMPLETED"
