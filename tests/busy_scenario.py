"""Two services busy for 90 s in one handler each, watched from a thread while the rest of the
suite runs: the scenario is mostly waiting, so it starts with the session (see ``soak`` in
conftest.py) and ``test_busy_service.py``, run last, checks what was seen."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers import SERVICES, Api, ServerProcess, ServiceProcess, new_project, wait_until

BUSY_SECONDS = 90
#: how often the watcher looks (pacing the observation; nothing waits on it)
LOOK_EVERY = 2.0
NAMES = {"deep-researcher", "slow-summarizer"}


def plan_for(component: str) -> dict[str, Any]:
    return {
        "action": {"type": "research", "content": "take your time"},
        "data": [{"field": "text", "value": "durable execution"}],
        "plan": {
            "steps": [
                {
                    "id": "step1",
                    "component": component,
                    "action": "work",
                    "input": {"text": "{{request.data.text}}"},
                    "dependencies": [],
                }
            ]
        },
    }


@dataclass
class Look:
    """One look at the services and the two orchestrations while the handlers are busy."""

    at: float
    connections: dict[str, list[dict[str, Any]]]
    statuses: list[str]


@dataclass
class BusyScenario:
    """Its own control plane and two busy services; a thread records a :class:`Look` every
    :data:`LOOK_EVERY` seconds until the handlers are about to finish."""

    folder: Path
    orra_sdk_python: str
    server: ServerProcess | None = None
    api: Api | None = None
    services: list[ServiceProcess] = field(default_factory=list)
    before: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    execution_ids: list[str] = field(default_factory=list)
    looks: list[Look] = field(default_factory=list)
    error: BaseException | None = None
    _watcher: threading.Thread | None = None

    def start(self) -> BusyScenario:
        self.server = ServerProcess(self.folder / "orra.duckdb").start()
        self.api, project = new_project(self.server.url)
        Api.opened.remove(self.api)  # lives until the scenario stops, not one test
        url, key, seconds = self.server.url, project["apiKey"], str(BUSY_SECONDS)
        self.services = [
            ServiceProcess(
                [str(SERVICES / "orra_legacy_slow.py"), url, key, "deep-researcher", seconds],
                python=self.orra_sdk_python,
                cwd=self.folder,
                env={"PYTHONPATH": ""},
            ).start(),
            ServiceProcess(
                [str(SERVICES / "sdk_services.py"), url, key, "summarizer"],
                cwd=self.folder,
                env={"BUSY_SECONDS": seconds},
            ).start(),
        ]
        self._watcher = threading.Thread(target=self._watch, name="busy-watcher", daemon=True)
        self._watcher.start()
        return self

    def connections(self) -> dict[str, list[dict[str, Any]]]:
        assert self.api is not None
        services = self.api.get("/services").json()["services"]
        return {s["name"]: s["connections"] for s in services if s["name"] in NAMES}

    def _watch(self) -> None:
        try:
            assert self.api is not None
            wait_until(lambda: self.api.services_online(NAMES), 30, "both services")
            self.before = self.connections()
            for component in ("deep-researcher", "slow-summarizer"):
                answer = self.api.post("/orchestrations", plan_for(component))
                self.execution_ids.append(answer.json()["executionId"])
            started = time.monotonic()
            while (elapsed := time.monotonic() - started) < BUSY_SECONDS - 5:
                statuses = [
                    self.api.get(f"/orchestrations/{i}").json()["status"]
                    for i in self.execution_ids
                ]
                self.looks.append(Look(elapsed, self.connections(), statuses))
                time.sleep(LOOK_EVERY)
        except BaseException as exc:  # re-raised in the test
            self.error = exc

    def watched(self, timeout: float) -> None:
        """Wait for the watcher to finish; re-raise what it hit."""
        assert self._watcher is not None
        self._watcher.join(timeout)
        assert not self._watcher.is_alive(), "the watcher is still looking"
        if self.error is not None:
            raise self.error

    def stop(self) -> str:
        """Stop everything; returns what the orra-sdk service printed."""
        outputs = [service.stop() for service in self.services]
        if self.api is not None:
            self.api.close()
        if self.server is not None:
            self.server.stop()
        return outputs[0] if outputs else ""
