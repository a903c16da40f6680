"""Services written with ``orra_sdk`` (sync and async handlers) in their own processes."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest
import websockets

from helpers import SERVICES, ServiceProcess, new_project, python_prints, wait_until
from orra_sdk import Service
from orra_studio.studio.services import tasks_held

SHOUT = {"action": {"type": "shout-and-count", "content": "shout this message, count its words"}}


def shout(message: str) -> dict:
    return {**SHOUT, "data": [{"field": "message", "value": message}]}


@pytest.fixture
def text_project(live_server):
    api, project = new_project(live_server.url)
    procs = [
        ServiceProcess(
            [str(SERVICES / "sdk_services.py"), live_server.url, project["apiKey"], "text"]
        ).start()
    ]
    try:
        wait_until(
            lambda: api.services_online({"text-shouter", "word-counter"}), 20, "the SDK services"
        )
        yield api, project, procs
    finally:
        for proc in procs:
            proc.stop()


def test_sync_and_async_handlers_complete_a_chain(text_project):
    api, _, _ = text_project
    accepted = api.post("/orchestrations", shout("hello big world")).json()
    assert accepted["status"] == "ACCEPTED", accepted
    assert [s["component"] for s in accepted["plan"]["steps"]] == ["text-shouter", "word-counter"]
    body = api.wait_finished(accepted["executionId"])
    assert body["status"] == "COMPLETED", body
    assert body["stepResults"][0]["output"] == {"shouted": "HELLO BIG WORLD"}
    assert body["result"]["words"] == 3


def test_a_service_error_fails_the_orchestration_with_that_error(text_project):
    api, _, _ = text_project
    body = api.wait_finished(api.post("/orchestrations", shout("fail")).json()["executionId"])
    assert body["status"] == "FAILED"
    first, second = body["stepResults"]
    assert first["status"] == "FAILED"
    assert "cannot shout 'fail'" in first["error"]
    assert second["status"] == "SKIPPED"  # never dispatched
    assert first["attempts"] == 5  # the default policy retried it, then gave up
    assert "step1" in body["error"] and "cannot shout" in body["error"]


def test_instances_of_one_service_share_the_work(live_server, text_project):
    api, project, procs = text_project
    procs.append(
        ServiceProcess(
            [str(SERVICES / "sdk_services.py"), live_server.url, project["apiKey"], "counter-only"]
        ).start()
    )
    wait_until(lambda: api.services_online({"word-counter"}, count=2), 20, "a second instance")
    ids = [api.post("/orchestrations", shout(f"run {i}")).json()["executionId"] for i in range(6)]
    bodies = [api.wait_finished(i) for i in ids]
    assert all(b["status"] == "COMPLETED" for b in bodies)
    pids = {b["result"]["pid"] for b in bodies}
    assert len(pids) == 2, f"all six tasks went to one instance: {pids}"


def test_an_instance_says_how_many_tasks_it_runs_at_once(live_server):
    """The SDK sends its ``concurrency`` as ``X-Orra-Capacity``: the control plane holds the
    rest (their timeouts not running) and the studio shows "held of capacity"."""
    api, project = new_project(live_server.url)
    proc = ServiceProcess(
        [str(SERVICES / "sdk_services.py"), live_server.url, project["apiKey"], "text"],
        env={"COUNT_CONCURRENCY": "3"},
    ).start()
    try:
        wait_until(lambda: api.services_online({"text-shouter", "word-counter"}), 20, "online")
        services = {s["name"]: s for s in api.get("/services").json()["services"]}
        capacity = {n: [c["capacity"] for c in s["connections"]] for n, s in services.items()}
        assert capacity == {"text-shouter": [1], "word-counter": [3]}
        assert tasks_held(services["word-counter"]["connections"]) == "0 of 3"
    finally:
        proc.stop()


def test_json_schema_service_with_a_plain_dict_handler(live_server):
    api, project = new_project(live_server.url)
    proc = ServiceProcess(
        [str(SERVICES / "sdk_services.py"), live_server.url, project["apiKey"], "schema"]
    ).start()
    try:
        wait_until(lambda: api.services_online({"greeter"}), 20, "the greeter")
        service = api.get("/services").json()["services"][0]
        assert service["schema"]["input"]["required"] == ["name"]
        request = {
            "action": {"type": "greet", "content": "say hello"},
            "data": [{"field": "name", "value": "Ada"}],
        }
        body = api.wait_finished(api.post("/orchestrations", request).json()["executionId"])
        assert body["result"] == {"greeting": "Hello, Ada!"}
    finally:
        proc.stop()


def test_importing_the_sdk_pulls_in_no_server_or_studio_code():
    code = (
        "import sys, orra_sdk\n"
        "bad = [m for m in ('fastapi', 'duckdb', 'panel', 'orra_server', 'orra_studio', "
        "'uvicorn') if m in sys.modules]\n"
        "print(bad)\n"
    )
    assert python_prints(code) == "[]"


def test_sdk_installs_no_signal_handlers():
    code = (
        "import signal, orra_sdk\n"
        "before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)\n"
        "svc = orra_sdk.Service('x', description='d', api_key='sk-orra-v1-' + '0'*64)\n"
        "after = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)\n"
        "print(before == after)\n"
    )
    assert python_prints(code) == "True"


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("my echo", "found ' ' — try 'my-echo'"),
        ("Echo", "found 'E' — try 'echo'"),
        ("-echo", "must start with a lowercase letter or digit"),
        ("", "must not be empty"),
    ],
)
def test_a_bad_service_name_is_refused_when_the_service_is_made(name: str, rule: str) -> None:
    """Not deep in asyncio once it connects (issue 27): the constructor says which RFC 1123
    rule the name breaks and a name that would do, in the control plane's own words."""
    from orra_sdk import RegistrationError, Service
    from orra_server.services.registry import check_service_name

    with pytest.raises(RegistrationError, match=rule) as refused:
        Service(name, description="Echoes text", api_key="sk-orra-v1-unused")
    assert refused.value.code == "invalid_service_name"
    with pytest.raises(Exception, match=rule):  # the same words from the control plane
        check_service_name(name)


def _frame(kind: str, step: str, key: str, **fields: object) -> str:
    return json.dumps(
        {"type": kind, "id": step, "idempotencyKey": key, "serviceId": "s_peer", **fields}
    )


def test_a_cancel_read_right_after_its_task_stops_the_task_before_it_runs() -> None:
    """``task_request`` then ``task_cancel`` back to back (the run was cancelled as the frame
    went out): the handler never runs and nothing is answered for it; the next task is.

    The peer is a scripted websocket speaking protocol.md's frames, so that the two frames
    reach the service together, which the control plane does only now and then."""
    calls: list[str] = []
    burst = [
        _frame("task_request", "s1", "k-cancelled", input={"word": "late"}, executionId="e1"),
        _frame("task_cancel", "s1", "k-cancelled", executionId="", reason="run CANCELLED"),
        _frame("task_request", "s2", "k-next", input={"word": "next"}, executionId="e2"),
    ]

    async def scenario() -> list[str]:
        answered: list[str] = []
        done = asyncio.Event()

        async def control_plane(ws) -> None:
            for frame in burst:
                await ws.send(frame)
            with contextlib.suppress(websockets.ConnectionClosed):  # the service stops
                async for raw in ws:
                    payload = json.loads(raw).get("payload") or {}
                    if payload.get("type") == "task_result":
                        answered.append(payload["idempotencyKey"])
                        done.set()

        async with websockets.serve(control_plane, "127.0.0.1", 0) as peer:
            port = peer.sockets[0].getsockname()[1]
            service = Service(
                "echo-word",
                description="Echoes a word",
                url=f"http://127.0.0.1:{port}",
                api_key="sk-test",
            )

            @service.handler
            async def echo(payload: dict) -> dict:
                calls.append(payload["word"])
                return {"word": payload["word"]}

            service.id, service.version = "s_peer", 1  # as if registered: straight to the socket
            running = asyncio.create_task(service.run())
            try:
                await asyncio.wait_for(done.wait(), 20)
            finally:
                running.cancel()
        return answered

    answered = asyncio.run(scenario())
    assert calls == ["next"]
    assert answered == ["k-next"]
