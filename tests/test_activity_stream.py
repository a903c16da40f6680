"""``GET /activity/events``: a project's orchestrations as they change, for a live run list
(issue 27). A real control plane; the stream is read with httpx while runs are submitted in
the project and in another one."""

from __future__ import annotations

import asyncio
import json
import time

import httpx

from helpers import REFUND_SCHEMA, new_project, one_step, server_fixture

server = server_fixture("activity-stream")


async def _changed_ids(lines: object, wanted: str, seen: set[str]) -> None:
    """Read ``changed`` frames into ``seen`` until ``wanted`` is among them."""
    if wanted in seen:
        return
    async for line in lines:  # type: ignore[attr-defined]
        if line.startswith("data:"):
            body = json.loads(line[5:])
            assert set(body) == {"executionIds", "everything"}
            seen.update(body["executionIds"])
            if wanted in seen:
                return


def test_the_stream_names_the_projects_changed_runs_and_no_other_projects(server) -> None:
    mine, _ = new_project(server.url)
    theirs, _ = new_project(server.url)
    for api in (mine, theirs):
        api.post(
            "/register/service",
            {"name": "held", "description": "never answers", "schema": REFUND_SCHEMA},
        )
    auth = {"Authorization": mine.http.headers["authorization"]}

    async def scenario() -> tuple[set[str], str, str, str]:
        async with (
            httpx.AsyncClient(base_url=server.url, timeout=30) as http,
            http.stream("GET", "/activity/events", headers=auth) as sse,
        ):
            assert sse.status_code == 200
            assert sse.headers["content-type"].startswith("text/event-stream")
            lines = sse.aiter_lines()
            # the first event, once the stream watches: "read the list now"
            assert await anext(lines) == "event: changed"
            assert json.loads((await anext(lines))[5:]) == {"executionIds": [], "everything": True}
            # the other project's run first, then two of ours: when ours have come, theirs
            # would have come before them had it leaked
            other = theirs.post("/orchestrations", one_step("held", "orderId", "t-1"))
            first = mine.post("/orchestrations", one_step("held", "orderId", "m-1"))
            second = mine.post("/orchestrations", one_step("held", "orderId", "m-2"))
            ids = [r.json()["executionId"] for r in (other, first, second)]
            seen: set[str] = set()
            await asyncio.wait_for(_changed_ids(lines, ids[1], seen), 15)
            await asyncio.wait_for(_changed_ids(lines, ids[2], seen), 15)
            return seen, *ids

    seen, other, first, second = asyncio.run(scenario())
    assert {first, second} <= seen
    assert other not in seen


def test_the_stream_ends_when_its_key_is_revoked_and_refuses_it_after(server) -> None:
    api, _ = new_project(server.url)
    key = api.post("/apikeys", {"name": "watcher"}).json()["apiKey"]
    auth = {"Authorization": f"Bearer {key}"}

    async def scenario() -> float:
        async with (
            httpx.AsyncClient(base_url=server.url, timeout=30) as http,
            http.stream("GET", "/activity/events", headers=auth) as sse,
        ):
            assert sse.status_code == 200
            lines = sse.aiter_lines()
            ended = asyncio.ensure_future(_drain(lines))
            answer = await http.delete(
                "/apikeys/watcher", headers={"Authorization": api.http.headers["authorization"]}
            )
            assert answer.status_code == 200, answer.text
            revoked_at = time.monotonic()
            return await asyncio.wait_for(ended, 5) - revoked_at

    took = asyncio.run(scenario())
    assert took < 1.0, f"the stream ended {took:.2f} s after the key was revoked"
    refused = httpx.get(f"{server.url}/activity/events", headers=auth)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"]


async def _drain(lines: object) -> float:
    async for _ in lines:  # type: ignore[attr-defined]
        pass
    return time.monotonic()


def test_the_clients_read_the_stream_one_batch_at_a_time(server) -> None:
    """``Client.changes()`` yields the frames as dicts: first "read everything", then the
    runs that changed (the studio's list uses ``AsyncClient.changes()``, the same reader)."""
    from orra_studio import Client

    api, project = new_project(server.url)
    api.post(
        "/register/service",
        {"name": "held", "description": "never answers", "schema": REFUND_SCHEMA},
    )
    with Client(server.url, project["apiKey"]) as client:
        changes = client.changes()
        assert next(changes) == {"executionIds": [], "everything": True}
        run = api.post("/orchestrations", one_step("held", "orderId", "c-1")).json()
        seen: set[str] = set()
        for change in changes:
            seen.update(change["executionIds"])
            if run["executionId"] in seen:
                break
        changes.close()  # the stream's connection goes back to the pool
    assert run["executionId"] in seen
