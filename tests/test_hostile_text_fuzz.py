"""Hostile text at every identifier and number the API and the websocket protocol take.

Hypothesis throws Unicode digits (``'²'.isdigit()`` is true and ``int('²')`` raises), lone
surrogates, huge and negative numbers, NaN and deep nesting at each slot: step ids,
dependencies, groups, ``options.approve``, the options' numbers, data field names, reference
roots and list indexes, grounding names, timestamps, re-run and approval step ids, path ids,
query parameters, ``Last-Event-ID``, ``X-Orra-Capacity``, ``serviceId``, frame ids. Every answer
must be below 500 with the stable error shape; then the control plane is killed (``kill -9``)
and started again on the same database: it must start, log no traceback, and every run must
be readable in a status of the vocabulary.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import Api, ServerProcess, new_project, plan_step, register
from orra_sdk.vocabulary import OrchestrationStatus

pytestmark = pytest.mark.slow

SCHEMA = {
    "input": {"type": "object", "properties": {"items": {"type": "array"}}},
    "output": {"type": "object", "properties": {"done": {"type": "boolean"}}},
}
EXAMPLES_PER_SLOT = 25

#: text Python calls digits, surrogates, invisible and overlong text, and plain junk
nasty_text = (
    st.sampled_from(["²", "٣", "①", "𝟘", "step²", "task①", "\ud800", "\udfff", "x\u202e", ""])
    | st.text(st.characters(categories=("Nd", "No", "Nl", "Cs")), min_size=1, max_size=6)
    | st.text(max_size=12)
    | st.text(min_size=300, max_size=2_000)
)
huge_number = (
    st.integers(min_value=-(2**80), max_value=2**80)
    | st.sampled_from([-1, 0, 2**63, -(2**63), 1e308, -1e308, 1e-320, float("nan")])
    | st.floats()
)


@st.composite
def deep(draw: st.DrawFn) -> Any:
    value: Any = draw(nasty_text)
    for _ in range(draw(st.integers(min_value=60, max_value=300))):
        value = [value] if draw(st.booleans()) else {"k": value}
    return value


hostile = nasty_text | huge_number | deep() | st.booleans() | st.none()


def body_bytes(value: Any) -> bytes:
    """JSON as a client may send it: lone surrogates as ``\\ud800`` escapes, NaN as NaN."""
    return json.dumps(value, ensure_ascii=True).encode()


def segment(value: Any, limit: int = 300) -> str:
    """``value`` as one percent-encoded path segment or query value (surrogates included)."""
    text = value if isinstance(value, str) else json.dumps(value)
    return quote(text[:limit].encode("utf-8", "surrogatepass"), safe="")


def header_bytes(value: Any) -> bytes:
    text = value if isinstance(value, str) else json.dumps(value)[:200]
    try:  # servers read header bytes as Latin-1: b"\xb2" arrives as '²'
        encoded = text.encode("latin-1")
    except UnicodeEncodeError:
        encoded = text.encode("utf-8", "surrogatepass")
    return bytes(b for b in encoded if b >= 0x20 and b != 0x7F).strip() or b"x"


def plan_with(step: dict[str, Any] | None = None, **plan: Any) -> dict[str, Any]:
    base = plan_step("step1", "list-svc", {"items": "{{request.data.items}}"})
    return {"steps": [{**base, **(step or {})}], **plan}


def request(plan: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "action": {"type": "list", "content": "handle the items"},
        "data": [{"field": "items", "value": [1, 2]}],
        "plan": plan or plan_with(),
        **extra,
    }


@pytest.fixture(scope="module")
def target(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, Api, str, str]]:
    server = ServerProcess(tmp_path_factory.mktemp("hostile") / "orra.duckdb").start()
    api, _ = new_project(server.url)
    service_id = register(api, [{"name": "list-svc", "description": "lists", "schema": SCHEMA}])
    answer = api.post("/orchestrations", request())
    assert answer.status_code == 202, answer.text
    execution_id = answer.json()["executionId"]
    api.post(f"/orchestrations/{execution_id}/cancel", {"compensate": False})
    yield server, api, execution_id, service_id["list-svc"]
    server.stop()


def rest_slots(ended: str) -> dict[str, Callable[[Any], tuple[str, str, dict[str, Any]]]]:
    """slot → (method, path, httpx keywords) for a hostile value in that slot."""

    def post(path: str, body: Any) -> tuple[str, str, dict[str, Any]]:
        return "POST", path, {"content": body_bytes(body)}

    slots: dict[str, Callable[[Any], tuple[str, str, dict[str, Any]]]] = {
        "step id": lambda v: post("/orchestrations", request(plan_with({"id": v}))),
        "dependency": lambda v: post("/orchestrations", request(plan_with({"dependencies": [v]}))),
        "group": lambda v: post(
            "/orchestrations", request(plan_with(parallelExecutionGroups=[[v]]))
        ),
        "approve": lambda v: post("/orchestrations", request(options={"approve": [v]})),
        "data field": lambda v: post(
            "/orchestrations", {**request(), "data": [{"field": v, "value": 1}]}
        ),
        "list index": lambda v: post(
            "/orchestrations",
            request(plan_with({"input": {"items": [f"{{{{request.data.items.{v}}}}}"]}})),
        ),
        "reference root": lambda v: post(
            "/orchestrations", request(plan_with({"input": {"items": [f"{{{{{v}.output.x}}}}"]}}))
        ),
        "grounding": lambda v: post("/orchestrations", {**request(), "grounding": v}),
        "timestamp": lambda v: post("/orchestrations", {**request(), "timestamp": v}),
        "dry-run step id": lambda v: post(
            "/orchestrations", {**request(plan_with({"id": v})), "dryRun": True}
        ),
        "rerun fromStep": lambda v: post(f"/orchestrations/{ended}/rerun", {"fromStep": v}),
        "rerun input key": lambda v: post(
            f"/orchestrations/{ended}/rerun", {"input": {str(v)[:80]: {"items": [v]}}}
        ),
        "approve path": lambda v: post(f"/orchestrations/{ended}/steps/{segment(v)}/approve", {}),
        "reject path": lambda v: post(
            f"/orchestrations/{ended}/steps/{segment(v)}/reject", {"reason": "no"}
        ),
        "orchestration path": lambda v: ("GET", f"/orchestrations/{segment(v)}", {}),
        "list query": lambda v: (
            "GET",
            "/orchestrations?"
            + "&".join(
                f"{k}={segment(v)}"
                for k in ("limit", "offset", "cursor", "sort", "since", "until", "status")
            ),
            {},
        ),
        "list cursor": lambda v: ("GET", f"/orchestrations?cursor={segment(v)}", {}),
        "list since": lambda v: ("GET", f"/orchestrations?since={segment(v)}", {}),
        "list limit": lambda v: ("GET", f"/orchestrations?limit={segment(v)}", {}),
        "logs query": lambda v: ("GET", f"/orchestrations/{ended}/logs?after={segment(v)}", {}),
        "api key ref": lambda v: ("DELETE", f"/apikeys/{segment(v)}", {}),
        "webhook ref": lambda v: ("DELETE", f"/webhooks/{segment(v)}", {}),
        "grounding name": lambda v: ("GET", f"/groundings/{segment(v)}", {}),
        "last event id": lambda v: (
            "GET",
            f"/orchestrations/{ended}/events",
            {"headers": {"Last-Event-ID": header_bytes(v)}},
        ),
    }
    for name in ("timeoutSeconds", "maxAttempts", "maxReplans", "approvalTimeoutSeconds"):
        slots[f"option {name}"] = lambda v, n=name: post("/orchestrations", request(options={n: v}))
    return slots


def _checked(response: httpx.Response, slot: str, value: Any) -> None:
    assert response.status_code < 500, (
        f"{slot} = {value!r}: {response.status_code} {response.text[:300]}"
    )
    if response.status_code >= 400 and response.headers.get("content-type", "").startswith(
        "application/json"
    ):
        error = response.json()["error"]
        assert error["code"] and error["message"], (slot, value)


def test_hostile_text_in_every_slot_then_a_crash_and_a_restart(target) -> None:
    server, api, ended, service_id = target
    slots = rest_slots(ended)
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {api.key}"}, timeout=30
    ) as http:
        for slot, make in slots.items():
            _fuzz_slot(http, slot, make)

    asyncio.run(_hostile_sockets(server.url, api.key or "", service_id))

    assert server.proc is not None
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(10)
    server.stop()
    restarted = ServerProcess(server.db_path, port=server.port).start()
    try:
        _every_run_is_definite(restarted, api.key or "")
        restarted.stop()
        log = server.log()
        assert "Traceback" not in log, log[log.index("Traceback") - 2000 :][:5000]
    finally:
        restarted.stop()


def _fuzz_slot(
    http: httpx.Client, slot: str, make: Callable[[Any], tuple[str, str, dict[str, Any]]]
) -> None:
    @settings(
        max_examples=EXAMPLES_PER_SLOT,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(value=hostile)
    def one(value: Any) -> None:
        method, path, keywords = make(value)
        if method == "POST":
            keywords.setdefault("headers", {})["content-type"] = "application/json"
        if path.endswith("/events"):
            with http.stream(method, path, **keywords) as response:
                if response.status_code >= 400:
                    response.read()
                _checked(response, slot, value)
            return
        _checked(http.request(method, path, **keywords), slot, value)

    one()


def _every_run_is_definite(server: ServerProcess, key: str) -> None:
    vocabulary = {s.value for s in OrchestrationStatus}
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as http:
        listing = http.get("/orchestrations", params={"limit": 1000}).json()["orchestrations"]
        assert len(listing) >= 2  # the ended run and at least one accepted by the fuzzing
        for item in listing:
            answer = http.get(f"/orchestrations/{item['executionId']}")
            assert answer.status_code == 200, answer.text
            assert answer.json()["status"] in vocabulary, answer.json()


async def _hostile_sockets(url: str, key: str, service_id: str) -> None:
    """``X-Orra-Capacity``, ``serviceId`` and frame ids: refused before the upgrade or kept."""
    base = url.replace("http", "ws", 1) + "/ws"
    for value in ["²", "٣", "-1", "0", str(2**70), "1e3", " 5", "\udfff", "①"]:
        headers = {"Authorization": f"Bearer {key}", "X-Orra-Capacity": header_bytes(value)}
        try:
            async with websockets.connect(
                f"{base}?serviceId={service_id}", additional_headers=headers
            ) as ws:
                await ws.close()
        except websockets.InvalidStatus as refused:
            assert refused.response.status_code < 500, (value, refused.response.status_code)
    for value in ["s_²", "٣", "\ud800", "x" * 5_000]:
        try:
            async with websockets.connect(
                f"{base}?serviceId={segment(value, 5_000)}",
                additional_headers={"Authorization": f"Bearer {key}"},
            ) as ws:
                await ws.close()
        except websockets.InvalidStatus as refused:
            assert refused.response.status_code < 500, (value, refused.response.status_code)
    async with websockets.connect(
        f"{base}?serviceId={service_id}", additional_headers={"Authorization": f"Bearer {key}"}
    ) as ws:
        for value in ["²", "\ud800", 2**70, -1, 1e308, "٣" * 300]:
            frame = {
                "id": value,
                "payload": {
                    "type": "task_result",
                    "taskId": value,
                    "executionId": value,
                    "idempotencyKey": value,
                    "result": {"task": {"done": True}},
                },
            }
            await ws.send(json.dumps(frame, ensure_ascii=True))
        probe = {"id": "probe", "payload": {"type": "task_status", "idempotencyKey": "p"}}
        await ws.send(json.dumps(probe))
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 15))
            if message.get("type") == "ACK" and message.get("id") == "probe":
                break
