"""Per-step progress of one orchestration, folded from its events.

The CLI's live display and the notebook's progress widget both draw from this, so they agree on
what each event means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orra_sdk.vocabulary import (
    ORCHESTRATION_STATUS_OF,
    STEP_STATUS_OF,
    EventKind,
    OrchestrationStatus,
    StepStatus,
    SubmissionStatus,
)

__all__ = ["Progress", "StepProgress"]


@dataclass
class StepProgress:
    id: str
    component: str
    status: str = StepStatus.PENDING
    attempts: int = 0
    last_update: Any = None
    error: str | None = None
    #: the input a person is asked to approve (while AWAITING_APPROVAL)
    waiting_input: Any = None


@dataclass
class Progress:
    execution_id: str
    status: str = OrchestrationStatus.PENDING
    steps: dict[str, StepProgress] = field(default_factory=dict)
    #: the server's message when it accepted (for NOT_ACTIONABLE: the reason)
    message: str | None = None
    #: steps a plan revision replaced, and how many revisions there were
    replaced: dict[str, StepProgress] = field(default_factory=dict)
    revisions: int = 0

    @classmethod
    def of(cls, accepted: dict[str, Any]) -> Progress:
        """Start from a ``POST /orchestrations`` answer (its plan names the steps)."""
        plan = accepted.get("plan") or {"steps": []}
        steps = {s["id"]: StepProgress(s["id"], s["component"]) for s in plan["steps"]}
        status = accepted.get("status", OrchestrationStatus.PENDING)
        return cls(
            accepted["executionId"],
            OrchestrationStatus.PENDING if status == SubmissionStatus.ACCEPTED else status,
            steps,
            accepted.get("message"),
        )

    def apply(self, event: dict[str, Any]) -> None:
        kind = event.get("type", "")
        payload = event.get("payload")
        step = self.steps.get(event.get("stepId") or "")
        if kind in ORCHESTRATION_STATUS_OF:
            self.status = ORCHESTRATION_STATUS_OF[kind]
        elif kind == EventKind.ORCHESTRATION_ACCEPTED:
            self.status = OrchestrationStatus.RUNNING if self.steps else self.status
        elif kind == EventKind.PLAN_REVISED and isinstance(payload, dict):
            self._revise(payload)
        if step is None:
            return
        if kind in STEP_STATUS_OF:
            step.status = STEP_STATUS_OF[kind]
        if kind == EventKind.STEP_DISPATCHED:
            step.attempts = _attempt(payload, step.attempts + 1)
        elif kind == EventKind.STEP_INTERIM_RESULT:
            step.last_update = payload
        elif kind in (EventKind.STEP_FAILED, EventKind.STEP_RETRYING) and isinstance(payload, dict):
            step.error = payload.get("error")
        elif kind == EventKind.APPROVAL_REQUESTED and isinstance(payload, dict):
            step.waiting_input = payload.get("input")

    def _revise(self, revision: dict[str, Any]) -> None:
        """A plan revision: the replaced steps leave the table, the new ones join it."""
        for step_id in revision.get("replaced") or []:
            gone = self.steps.pop(step_id, None)
            if gone is not None:
                self.replaced[step_id] = gone
        for spec in (revision.get("newPlan") or {}).get("steps", []):
            if spec["id"] not in self.steps:
                self.steps[spec["id"]] = StepProgress(spec["id"], spec["component"])
        self.revisions += 1

    @property
    def done(self) -> int:
        return sum(
            s.status in (StepStatus.COMPLETED, StepStatus.FAILED, StepStatus.ABORTED)
            for s in self.steps.values()
        )


def _attempt(payload: Any, default: int) -> int:
    if isinstance(payload, dict) and isinstance(payload.get("attempt"), int):
        return payload["attempt"]
    return default
