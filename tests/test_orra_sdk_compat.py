"""Services written with the real ``orra-sdk==0.2.4`` from PyPI work against this control plane.

That SDK pins ``httpx<0.27`` and ``websockets<13``, so it gets a virtualenv of its own, cached
between runs under ``~/.cache/orra-studio/``.
"""

from __future__ import annotations

import json
import sys

import pytest

from helpers import (
    SEED_REQUEST,
    SEED_SERVICES,
    SERVICES,
    ServerProcess,
    ServiceProcess,
    new_project,
    one_step,
    wait_until,
)


def test_orra_sdk_services_register_connect_complete_and_survive_a_restart(
    live_server, orra_sdk_python, tmp_path
):
    api, project = new_project(live_server.url)
    args = [str(SERVICES / "orra_legacy_services.py"), live_server.url, project["apiKey"]]
    env = {"PYTHONPATH": ""}
    first = ServiceProcess(args, python=orra_sdk_python, cwd=tmp_path, env=env).start()
    try:
        wait_until(lambda: api.services_online(SEED_SERVICES), 30, "the orra-sdk services")
        body = api.wait_finished(api.post("/orchestrations", SEED_REQUEST).json()["executionId"])
        assert body["status"] == "COMPLETED", body
        assert body["result"]["content"] == "Hi Jane Doe, meet Premium Analytics Suite."
        assert len(body["stepResults"]) == 4
    finally:
        output = first.stop()
    assert "Traceback" not in output, output[-3000:]

    services = {s["name"]: s for s in api.get("/services").json()["services"]}
    saved = {
        name: json.loads((tmp_path / ".orra-data" / f"{name}-orra-service-key.json").read_text())
        for name in SEED_SERVICES
    }
    assert {n: s["id"] for n, s in services.items()} == {n: saved[n]["id"] for n in saved}
    wait_until(
        lambda: not any(s["online"] for s in api.get("/services").json()["services"]),
        10,
        "the killed services to go offline",
    )

    second = ServiceProcess(args, python=orra_sdk_python, cwd=tmp_path, env=env).start()
    try:
        wait_until(lambda: api.services_online(SEED_SERVICES), 30, "the restarted services")
        again = {s["name"]: s for s in api.get("/services").json()["services"]}
        assert {n: s["id"] for n, s in again.items()} == {n: s["id"] for n, s in services.items()}
        assert all(s["version"] == 2 for s in again.values())
        body = api.wait_finished(api.post("/orchestrations", SEED_REQUEST).json()["executionId"])
        assert body["status"] == "COMPLETED", body
    finally:
        second.stop()


def test_orra_sdk_service_error_is_reported(live_server, orra_sdk_python, tmp_path):
    api, project = new_project(live_server.url)
    script = tmp_path / "failing.py"
    script.write_text(
        "import asyncio, sys\n"
        "from orra import OrraService, Task\n"
        "from pydantic import BaseModel\n"
        "class In(BaseModel):\n    orderId: str\n"
        "class Out(BaseModel):\n    refund: float\n"
        "async def main():\n"
        "    svc = OrraService(name='refund-service', description='Refunds an order',\n"
        "                      url=sys.argv[1], api_key=sys.argv[2])\n"
        "    @svc.handler()\n"
        "    async def refund(task: Task[In]) -> Out:\n"
        "        raise RuntimeError('payment gateway down')\n"
        "    await svc.start()\n"
        "    await asyncio.Event().wait()\n"
        "asyncio.run(main())\n"
    )
    proc = ServiceProcess(
        [str(script), live_server.url, project["apiKey"]],
        python=orra_sdk_python,
        cwd=tmp_path,
        env={"PYTHONPATH": ""},
    ).start()
    try:
        wait_until(lambda: api.services_online({"refund-service"}), 30, "the refund service")
        request = {
            "action": {"type": "refund-order", "content": "refund it"},
            "data": [{"field": "orderId", "value": "o-1"}],
            "options": {"initialDelaySeconds": 0.05, "maxAttempts": 3},
        }
        body = api.wait_finished(api.post("/orchestrations", request).json()["executionId"])
        assert body["status"] == "FAILED"
        assert body["stepResults"][0]["error"] == "Service error: payment gateway down"
        assert body["stepResults"][0]["attempts"] == 3  # each retry ran the handler again
    finally:
        proc.stop()


def _hold_then_estimate(product: str) -> dict:
    return {
        "action": {"type": "order", "content": f"hold {product} and estimate delivery"},
        "data": [{"field": "productId", "value": product}],
        "options": {"maxAttempts": 1},
        "plan": {
            "steps": [
                {
                    "id": "step1",
                    "component": "inventory-service",
                    "action": "hold",
                    "input": {"productId": "{{request.data.productId}}"},
                    "dependencies": [],
                },
                {
                    "id": "step2",
                    "component": "delivery-estimator",
                    "action": "estimate",
                    "input": {"holdId": "{{step1.output.holdId}}"},
                    "dependencies": ["step1"],
                },
            ]
        },
    }


def test_orra_sdk_revert_handler_runs_and_a_failing_one_becomes_a_resolvable_record(
    fresh_db, orra_sdk_python, tmp_path
):
    fast = {"ORRA_RETRY_DELAY": "0.05", "ORRA_COMPENSATION_ATTEMPTS": "2"}
    server = ServerProcess(fresh_db, env=fast).start()
    api, project = new_project(server.url)
    revert_log = tmp_path / "reverts.log"
    proc = ServiceProcess(
        [
            str(SERVICES / "orra_legacy_revertible.py"),
            server.url,
            project["apiKey"],
            str(revert_log),
        ],
        python=orra_sdk_python,
        cwd=tmp_path,
        env={"PYTHONPATH": ""},
    ).start()
    try:
        names = {"inventory-service", "delivery-estimator"}
        wait_until(lambda: api.services_online(names), 30, "the orra-sdk services")
        listed = {s["name"]: s for s in api.get("/services").json()["services"]}
        assert listed["inventory-service"]["revertible"] is True

        def compensations(execution_id: str) -> list[dict]:
            def ended():
                body = api.get(f"/orchestrations/{execution_id}").json()
                comps = body.get("compensations", [])
                final = comps and all(c["status"] not in ("pending", "running") for c in comps)
                return comps if final else None

            return wait_until(ended, 30, "the compensation to end")

        ok = api.post("/orchestrations", _hold_then_estimate("p-1")).json()["executionId"]
        assert api.wait_finished(ok)["status"] == "FAILED"
        (comp,) = compensations(ok)
        assert (comp["stepId"], comp["status"], comp["attempts"]) == ("step1", "completed", 1)
        assert comp["result"] == {"status": "completed", "error": None}

        stuck = api.post("/orchestrations", _hold_then_estimate("stuck-9")).json()["executionId"]
        assert api.wait_finished(stuck)["status"] == "FAILED"
        (comp,) = compensations(stuck)
        assert comp["status"] == "failed" and comp["attempts"] == 2
        assert "warehouse system is read-only" in comp["error"]
        assert revert_log.read_text().splitlines() == [
            "release hold-p-1 failed",
            "release hold-stuck-9 failed",
            "release hold-stuck-9 failed",
        ]
        (failure,) = api.get("/compensation-failures").json()["compensationFailures"]
        assert failure["orchestrationId"] == stuck and failure["status"] == "pending"
        answer = api.post(
            f"/compensation-failures/{failure['id']}/resolve",
            {"reason": "released the hold in the warehouse UI"},
        )
        assert answer.status_code == 200
        assert api.get(f"/compensation-failures/{failure['id']}").json()["status"] == "resolved"
    finally:
        output = proc.stop()
        server.stop()
    assert "Traceback" not in output, output[-3000:]


if sys.platform == "win32":  # pragma: no cover
    pytestmark = pytest.mark.skip("the venv layout above is POSIX")


def test_an_orra_sdk_instance_holds_at_most_16_tasks_and_the_rest_wait_their_turn(
    live_server, orra_sdk_python, tmp_path
):
    """The orra SDKs read at most 32 frames ahead of a busy handler; more queued tasks would
    stall the socket until its client drops it. Their instances hold 16 tasks at most, the
    rest wait in the control plane; an Orra Studio SDK socket holds what its concurrency says
    (``X-Orra-Capacity``: 64 here)."""
    api, project = new_project(live_server.url)
    url, key = live_server.url, project["apiKey"]
    legacy = ServiceProcess(
        [str(SERVICES / "orra_legacy_slow.py"), url, key, "slow-echo", "0.15"],
        python=orra_sdk_python,
        cwd=tmp_path,
        env={"PYTHONPATH": ""},
    ).start()
    roomy = [str(SERVICES / "sdk_services.py"), url, key, "roomy"]
    studio = ServiceProcess(roomy, cwd=tmp_path).start()
    names = {"slow-echo", "roomy-echo"}
    try:
        wait_until(lambda: api.services_online(names), 30, "both services")

        def connections() -> dict[str, list[dict]]:
            services = api.get("/services").json()["services"]
            return {s["name"]: s["connections"] for s in services if s["name"] in names}

        before = connections()
        assert [c["capacity"] for c in before["slow-echo"]] == [16]
        assert [c["capacity"] for c in before["roomy-echo"]] == [64]
        ids = [
            api.post("/orchestrations", one_step(name, "text", f"t{n}")).json()["executionId"]
            for name in sorted(names)
            for n in range(40)
        ]
        most = {name: 0 for name in names}

        def all_finished() -> bool:
            for name, conns in connections().items():
                most[name] = max([most[name], *(c["tasksInFlight"] for c in conns)])
            states = api.get("/orchestrations", params={"limit": 100}).json()["orchestrations"]
            return all(o["status"] == "COMPLETED" for o in states if o["executionId"] in ids)

        wait_until(all_finished, 60, "80 orchestrations to complete")
        assert 0 < most["slow-echo"] <= 16, most
        held_at_once = 0
        for execution_id in ids:
            body = api.get(f"/orchestrations/{execution_id}").json()
            assert body["stepResults"][0]["attempts"] == 1, body
            held_at_once = max(held_at_once, body["stepResults"][0]["output"].get("most", 0))
        assert 16 < held_at_once <= 64, held_at_once  # its own capacity, not the legacy 16
        # the same sockets throughout: nothing stalled, nothing reconnected
        assert {n: [c["instance"] for c in cs] for n, cs in connections().items()} == {
            n: [c["instance"] for c in cs] for n, cs in before.items()
        }
    finally:
        output = legacy.stop()
        studio.stop()
    assert "Traceback" not in output, output[-3000:]
