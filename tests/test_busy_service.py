"""A service busy for 90 s in one handler stays connected and online, and its step is neither
timed out nor re-sent: busy is not dead (protocol.md)."""

from __future__ import annotations

import time

import pytest

from helpers import ServiceProcess, new_project, wait_until

BUSY_SECONDS = 90

ORRA_SDK_SERVICE = """
import asyncio, sys
from orra import OrraService, Task
from pydantic import BaseModel
class In(BaseModel):
    topic: str
class Out(BaseModel):
    report: str
async def main():
    svc = OrraService(name='deep-researcher', description='Researches a topic at length',
                      url=sys.argv[1], api_key=sys.argv[2])
    @svc.handler()
    async def research(task: Task[In]) -> Out:
        await asyncio.sleep(float(sys.argv[3]))  # inline: no pings or ACKs are read meanwhile
        return Out(report='done: ' + task.input.topic)
    await svc.start()
    await asyncio.Event().wait()
asyncio.run(main())
"""

ORRA_STUDIO_SERVICE = """
import asyncio, sys, time
from pydantic import BaseModel
from orra_sdk import Service
class In(BaseModel):
    topic: str
class Out(BaseModel):
    summary: str
service = Service('slow-summarizer', description='Summarizes a topic slowly',
                  url=sys.argv[1], api_key=sys.argv[2])
@service.handler
def summarize(topic: In) -> Out:  # sync: runs in a worker thread
    time.sleep(float(sys.argv[3]))
    return Out(summary='summary of ' + topic.topic)
asyncio.run(service.run())
"""


def plan_for(component: str, output_field: str) -> dict:
    return {
        "action": {"type": "research", "content": "take your time"},
        "data": [{"field": "topic", "value": "durable execution"}],
        "plan": {
            "steps": [
                {
                    "id": "step1",
                    "component": component,
                    "action": "work",
                    "input": {"topic": "{{request.data.topic}}"},
                    "dependencies": [],
                }
            ]
        },
    }


@pytest.mark.slow
def test_services_busy_for_90_seconds_are_not_disconnected_or_marked_offline(
    live_server,
    orra_sdk_python,  # noqa: F811
    tmp_path,
):
    api, project = new_project(live_server.url)
    legacy_script = tmp_path / "legacy.py"
    legacy_script.write_text(ORRA_SDK_SERVICE)
    studio_script = tmp_path / "studio.py"
    studio_script.write_text(ORRA_STUDIO_SERVICE)
    args = [live_server.url, project["apiKey"], str(BUSY_SECONDS)]
    legacy = ServiceProcess(
        [str(legacy_script), *args], python=orra_sdk_python, cwd=tmp_path, env={"PYTHONPATH": ""}
    ).start()
    studio = ServiceProcess([str(studio_script), *args], cwd=tmp_path).start()
    names = {"deep-researcher", "slow-summarizer"}
    try:
        wait_until(lambda: api.services_online(names), 30, "both services")

        def connections() -> dict[str, list[dict]]:
            services = api.get("/services").json()["services"]
            return {s["name"]: s["connections"] for s in services if s["name"] in names}

        before = connections()
        ids = [
            api.post("/orchestrations", plan_for("deep-researcher", "report")).json()[
                "executionId"
            ],
            api.post("/orchestrations", plan_for("slow-summarizer", "summary")).json()[
                "executionId"
            ],
        ]
        started = time.monotonic()
        checks = 0
        while time.monotonic() - started < BUSY_SECONDS - 5:
            now = connections()
            assert now == {
                name: [{**c, "tasksInFlight": 1} for c in conns] for name, conns in before.items()
            }, now  # same socket, still online, still holding its one task
            for execution_id in ids:
                assert api.get(f"/orchestrations/{execution_id}").json()["status"] == "RUNNING"
            checks += 1
            time.sleep(2)  # pacing the observation, not synchronising: the asserts are above
        assert checks > 30
        for execution_id in ids:
            body = api.wait_finished(execution_id, timeout=60)
            assert body["status"] == "COMPLETED", body
            assert body["stepResults"][0]["attempts"] == 1
            logs = api.get(f"/orchestrations/{execution_id}/logs").json()["logs"]
            assert not [e for e in logs if e["event"] == "step_retrying"]
        assert connections() == before  # never reconnected
    finally:
        legacy_output = legacy.stop()
        studio.stop()
    assert "Traceback" not in legacy_output, legacy_output[-3000:]
