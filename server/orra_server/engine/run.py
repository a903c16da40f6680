"""In-memory state of one orchestration while the engine runs it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..ids import to_iso
from ..store.store import dumps

__all__ = ["TERMINAL", "Run", "StepState", "combine_result"]

TERMINAL = frozenset({"COMPLETED", "FAILED", "ABORTED", "CANCELLED", "NOT_ACTIONABLE"})


def _naive(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=None)


@dataclass(eq=False)
class StepState:
    id: str
    component: str
    service_id: str | None
    template: dict[str, Any]
    dependencies: list[str]
    dependents: list[str] = field(default_factory=list)
    status: str = "PENDING"
    input: dict[str, Any] | None = None
    output: Any = None
    error: str | None = None
    attempts: int = 0
    idempotency_key: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    remaining: int = 0  # dependencies not yet completed
    paused: bool = False

    def row(self, orchestration_id: str) -> dict[str, Any]:
        return {
            "orchestration_id": orchestration_id,
            "step_id": self.id,
            "service_id": self.service_id,
            "component": self.component,
            "status": self.status,
            "input": dumps(self.input if self.input is not None else self.template),
            "output": dumps(self.output),
            "error": self.error,
            "attempts": self.attempts,
            "idempotency_key": self.idempotency_key,
            "start_time": _naive(self.start_time),
            "end_time": _naive(self.end_time),
        }

    def body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "component": self.component,
            "status": self.status,
            "startTime": to_iso(self.start_time),
            "endTime": to_iso(self.end_time),
            "input": self.input,
            "output": self.output,
            "error": self.error,
            "attempts": self.attempts,
        }


@dataclass(eq=False)
class Run:
    id: str
    project_id: str
    action: dict[str, Any]
    data: list[dict[str, Any]]
    plan: dict[str, Any] | None
    status: str
    created_at: datetime
    steps: dict[str, StepState] = field(default_factory=dict)
    webhooks: list[str] = field(default_factory=list)
    start_time: datetime | None = None
    end_time: datetime | None = None
    result: Any = None
    error: str | None = None
    completed: int = 0
    finishing: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def request(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "data": {item["field"]: item.get("value") for item in self.data},
        }

    def outputs(self) -> dict[str, Any]:
        return {s.id: s.output for s in self.steps.values() if s.status == "COMPLETED"}

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "project_id": self.project_id,
            "action": dumps(self.action),
            "data": dumps(self.data),
            "status": self.status,
            "plan": dumps(self.plan),
            "result": dumps(self.result),
            "error": self.error,
            "webhooks": dumps(self.webhooks),
            "created_at": _naive(self.created_at),
            "start_time": _naive(self.start_time),
            "end_time": _naive(self.end_time),
        }

    def body(self) -> dict[str, Any]:
        return {
            "executionId": self.id,
            "status": self.status,
            "action": self.action,
            "createdAt": to_iso(self.created_at),
            "startTime": to_iso(self.start_time),
            "endTime": to_iso(self.end_time),
            "result": self.result,
            "error": self.error,
            "stepResults": [s.body() for s in self.steps.values()],
        }


def combine_result(run: Run) -> Any:
    """The sink steps' outputs as one object; on a key clash, each sink's output by step id."""
    sinks = [s for s in run.steps.values() if not s.dependents]
    if len(sinks) == 1:
        return sinks[0].output
    merged: dict[str, Any] = {}
    for sink in sinks:
        if not isinstance(sink.output, dict) or merged.keys() & sink.output.keys():
            return {s.id: s.output for s in sinks}
        merged.update(sink.output)
    return merged
