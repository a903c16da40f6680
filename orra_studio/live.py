"""One model of a live run: its event stream folded into what a person watches.

The CLI's live table, the notebook's progress widget and the web studio's run view all read a
:class:`LiveRun`, so they agree on what each event means: the run's status, each step's
status, attempts and latest update, why it paused or failed, which steps wait for a person,
and (once known) the result. Each event carries its number within the run (``seq``); the model
keeps the last one, so a stream that drops is resumed after it (``Last-Event-ID``) and an event
delivered twice is folded once. :func:`follow` does that resuming for the blocking client;
the studio's page does the same with the async client (``studio/live_feed.py``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orra_sdk.vocabulary import (
    ORCHESTRATION_STATUS_OF,
    STEP_STATUS_OF,
    TERMINAL,
    EventKind,
    OrchestrationStatus,
    StepStatus,
    SubmissionStatus,
)

from .errors import ServerUnreachable

if TYPE_CHECKING:
    from .client import Client

__all__ = ["LiveRun", "LiveStep", "Reconnects", "follow"]


@dataclass
class LiveStep:
    id: str
    component: str
    status: str = StepStatus.PENDING
    attempts: int = 0
    last_update: Any = None
    error: str | None = None
    #: the input a person is asked to approve (while AWAITING_APPROVAL)
    waiting_input: Any = None


@dataclass
class LiveRun:
    execution_id: str
    status: str = OrchestrationStatus.PENDING
    steps: dict[str, LiveStep] = field(default_factory=dict)
    #: the server's message when it accepted (for NOT_ACTIONABLE: the reason)
    message: str | None = None
    #: steps a plan revision replaced, and how many revisions there were
    replaced: dict[str, LiveStep] = field(default_factory=dict)
    revisions: int = 0
    #: the plan being run (the newest revision's once one came)
    plan: dict[str, Any] | None = None
    #: the number of the last event folded: a resumed stream starts after it
    seq: int = 0
    #: why it ended otherwise than COMPLETED (the ending event's error), once known
    reason: str | None = None
    #: the outcome's result, once :meth:`finish` has read it
    result: Any = None

    @classmethod
    def of(cls, accepted: dict[str, Any]) -> LiveRun:
        """Start from a ``POST /orchestrations`` answer (its plan names the steps)."""
        plan = accepted.get("plan") or {"steps": []}
        steps = {s["id"]: LiveStep(s["id"], s["component"]) for s in plan["steps"]}
        status = accepted.get("status", OrchestrationStatus.PENDING)
        return cls(
            accepted["executionId"],
            OrchestrationStatus.PENDING if status == SubmissionStatus.ACCEPTED else status,
            steps,
            accepted.get("message"),
            plan=accepted.get("plan"),
        )

    def apply(self, event: dict[str, Any]) -> bool:
        """Fold one event in; False (and nothing changes) when it was folded already."""
        seq = event.get("seq")
        if isinstance(seq, int):
            if seq <= self.seq:
                return False
            self.seq = seq
        kind = event.get("type", "")
        payload = event.get("payload")
        if kind in ORCHESTRATION_STATUS_OF:
            self.status = ORCHESTRATION_STATUS_OF[kind]
            if isinstance(payload, dict) and (payload.get("error") or payload.get("reason")):
                self.reason = payload.get("error") or payload["reason"]  # why it paused, too
            elif kind == EventKind.ORCHESTRATION_RUNNING:
                self.reason = None  # running again: the pause is over
        elif kind == EventKind.ORCHESTRATION_ACCEPTED:
            self.status = OrchestrationStatus.RUNNING if self.steps else self.status
        elif kind == EventKind.PLAN_REVISED and isinstance(payload, dict):
            self._revise(payload)
        step = self.steps.get(event.get("stepId") or "")
        if step is not None:
            _fold_step(step, kind, payload)
        return True

    def finish(self, body: dict[str, Any]) -> None:
        """The orchestration as ``GET`` answers it once it has ended: the last word."""
        for answer in body.get("stepResults", []):
            step = self.steps.get(answer["id"])
            if step is not None:
                step.status, step.attempts = answer["status"], answer.get("attempts", 0)
        self.status = body["status"]
        self.reason = body.get("error") or self.reason
        self.result = body.get("result")

    def _revise(self, revision: dict[str, Any]) -> None:
        """A plan revision: the replaced steps leave the table, the new ones join it."""
        for step_id in revision.get("replaced") or []:
            gone = self.steps.pop(step_id, None)
            if gone is not None:
                self.replaced[step_id] = gone
        new_plan = revision.get("newPlan") or {}
        for spec in new_plan.get("steps", []):
            if spec["id"] not in self.steps:
                self.steps[spec["id"]] = LiveStep(spec["id"], spec["component"])
        self.plan = new_plan or self.plan
        self.revisions += 1

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL

    @property
    def done(self) -> int:
        """How many steps have finished, well or not."""
        return sum(
            s.status in (StepStatus.COMPLETED, StepStatus.FAILED, StepStatus.ABORTED)
            for s in self.steps.values()
        )

    @property
    def waiting(self) -> list[LiveStep]:
        """The steps that wait for a person's approval."""
        return [s for s in self.steps.values() if s.status == StepStatus.AWAITING_APPROVAL]


def _fold_step(step: LiveStep, kind: str, payload: Any) -> None:
    if kind in STEP_STATUS_OF:
        step.status = STEP_STATUS_OF[kind]
    if kind == EventKind.STEP_DISPATCHED:
        attempt = payload.get("attempt") if isinstance(payload, dict) else None
        step.attempts = attempt if isinstance(attempt, int) else step.attempts + 1
    elif kind == EventKind.STEP_INTERIM_RESULT:
        step.last_update = payload
    elif kind in (EventKind.STEP_FAILED, EventKind.STEP_RETRYING) and isinstance(payload, dict):
        step.error = payload.get("error")
    elif kind == EventKind.APPROVAL_REQUESTED and isinstance(payload, dict):
        step.waiting_input = payload.get("input")


class Reconnects:
    """How a dropped event stream is opened again: after a short pause that doubles (up to
    ``longest_pause``), at most ``limit`` times in a row (None: for as long as the reader
    lives); an event that arrives resets the count."""

    def __init__(
        self, limit: int | None = 5, first_pause: float = 0.2, longest_pause: float = 5.0
    ) -> None:
        self.limit, self.first_pause, self.longest_pause = limit, first_pause, longest_pause
        self.failures = 0

    def dropped(self, error: ServerUnreachable) -> float:
        """Seconds to pause before the next try; ``error`` again once there were too many."""
        self.failures += 1
        if self.limit is not None and self.failures > self.limit:
            raise error
        return min(self.longest_pause, self.first_pause * 2 ** min(self.failures - 1, 16))

    def received(self) -> None:
        self.failures = 0


def follow(
    client: Client,
    run: LiveRun,
    *,
    timeout: float | None = None,
    deadline: float | None = None,
    reconnects: int = 5,
) -> Iterator[dict[str, Any]]:
    """The run's new events as they happen, each folded into ``run`` before it is yielded.

    A dropped stream is opened again after ``run.seq``, so no event is lost or seen twice; it
    stops when the server ends the stream (the run has settled), ``timeout`` seconds pass
    with nothing new, or the wall clock reaches ``deadline`` (``time.monotonic()``)."""
    again = Reconnects(reconnects)
    while True:
        try:
            events = client.events(run.execution_id, run.seq, timeout=timeout, deadline=deadline)
            for event in events:
                again.received()
                if run.apply(event):
                    yield event
            return
        except ServerUnreachable as error:
            time.sleep(again.dropped(error))
            if client.closed:  # its owner closed it: nothing to resume
                raise
