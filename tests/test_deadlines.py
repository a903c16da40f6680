"""A timeout is a wall-clock deadline: ``orra run -t``, ``Client.orchestrate(timeout=)`` and
``AsyncClient.orchestrate(timeout=)`` end on time while a run is PAUSED, though the stream's
keep-alives (every 0.2 s here, 15 s by default) keep resetting its read timeout."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import Api, ServerProcess, new_project, one_step, server_fixture, wait_until
from orra_studio import AsyncClient, Client, OrchestrationTimeout

server = server_fixture("deadlines", env={"ORRA_STREAM_KEEPALIVE": "0.2"})

#: what a test that hangs is given before it fails (the old code never ended)
HUNG = 60


@pytest.fixture(scope="module")
def offline(server: ServerProcess) -> Iterator[tuple[Api, str]]:
    """A project whose one service is registered but never connects: its runs pause."""
    api, project = new_project(server.url, lasting=True)
    api.post("/register/service", {"name": "slow-worker", "description": "Does slow work"})
    yield api, project["apiKey"]
    api.close()


def _plan(job: str) -> dict[str, Any]:
    return one_step("slow-worker", "job", job)["plan"]


def _waited_for(job: str) -> dict[str, Any]:
    """What both clients are asked: a run of the offline service, waited for 1.5 s."""
    data = {"job": job}
    return {"action": "run slow-worker", "data": data, "plan": _plan(job), "timeout": 1.5}


def _paused(api: Api, execution_id: str) -> bool:
    return api.get(f"/orchestrations/{execution_id}").json()["status"] == "PAUSED"


def test_orra_run_timeout_ends_on_time_while_the_run_is_paused(
    server: ServerProcess, offline: tuple[Api, str], tmp_path: Path
) -> None:
    api, key = offline
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(_plan("cli")))
    env = {**os.environ, "ORRA_URL": server.url, "ORRA_API_KEY": key}
    env["ORRA_CONFIG"] = str(tmp_path / "config.toml")
    command = [sys.executable, "-m", "orra_studio.cli", "run", "run slow-worker"]
    command += ["-d", "job:cli", "--plan", str(plan), "-t", "1.5"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=HUNG)
    assert done.returncode == 4, done.stderr
    assert "is still PAUSED after 1.5 s" in done.stderr
    # why: the service it waits for, named (in the CLI's words and in the run's log)
    assert "waiting for an instance of 'slow-worker'" in done.stderr.replace("\n", " ")
    execution_id = done.stderr.split("orchestration ")[1].split()[0]
    assert _paused(api, execution_id)  # it goes on: only the wait ended
    logs = api.get(f"/orchestrations/{execution_id}/logs").json()["logs"]
    (paused,) = [e for e in logs if e["event"] == "orchestration_paused"]
    assert paused["payload"]["services"] == ["slow-worker"]
    assert paused["message"].startswith("paused: waiting for an instance of 'slow-worker'")


def test_client_orchestrate_timeout_ends_on_time_while_the_run_is_paused(
    server: ServerProcess, offline: tuple[Api, str]
) -> None:
    api, key = offline
    outcome: list[BaseException] = []
    events: list[dict[str, Any]] = []

    def orchestrate() -> None:
        with Client(server.url, key) as client:
            try:
                client.orchestrate(**_waited_for("sync"), wait=True, on_event=events.append)
            except OrchestrationTimeout as late:
                outcome.append(late)

    waiting = threading.Thread(target=orchestrate, daemon=True)
    waiting.start()
    waiting.join(HUNG)
    assert not waiting.is_alive(), "Client.orchestrate outlived its timeout"
    (late,) = outcome
    assert isinstance(late, OrchestrationTimeout) and late.status == "PAUSED"
    assert "orchestration_paused" in {e.get("type") for e in events}
    wait_until(lambda: _paused(api, late.execution_id), 5, "the run to stay paused")


def test_async_client_orchestrate_timeout_ends_on_time_while_the_run_is_paused(
    server: ServerProcess, offline: tuple[Api, str]
) -> None:
    _, key = offline

    async def orchestrate() -> OrchestrationTimeout:
        async with AsyncClient(server.url, key) as client:
            with pytest.raises(OrchestrationTimeout) as late:
                waiting = client.orchestrate(**_waited_for("async"), wait=True, on_event=print)
                await asyncio.wait_for(waiting, HUNG)
            return late.value

    assert asyncio.run(orchestrate()).status == "PAUSED"
