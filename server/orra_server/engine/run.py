"""In-memory state of one orchestration while the engine runs it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from orra_sdk.vocabulary import (
    TERMINAL,
    ApprovalStatus,
    CompensationStatus,
    OrchestrationStatus,
    StepStatus,
)

from ..core.ids import to_iso
from ..store import (
    StoredCompensation,
    StoredOrchestration,
    StoredRevision,
    StoredService,
    StoredStep,
)

__all__ = [
    "TERMINAL",
    "CompensationState",
    "Run",
    "StepState",
    "build_steps",
    "combine_result",
    "gate_steps",
    "revision_summary",
    "run_from_rows",
]


@dataclass(eq=False)
class StepState:
    id: str
    component: str
    service_id: str | None
    template: dict[str, Any]
    dependencies: list[str]
    dependents: list[str] = field(default_factory=list)
    status: StepStatus = StepStatus.PENDING
    input: dict[str, Any] | None = None
    output: Any = None
    error: str | None = None
    attempts: int = 0
    idempotency_key: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    remaining: int = 0  # dependencies not yet completed
    paused: bool = False
    #: bumped when a service error is retried: the retry needs a new idempotency key, because
    #: a service may cache the error under the old one
    generation: int = 0
    #: ``result.compensation`` of a revertible service: ``{"data": ..., "ttl": ms}``
    compensation: Any = None
    #: None (not gated), "required" (waits for a person before it runs), "approved" (its
    #: input is the one approved: never resolved again), "rejected"
    approval: str | None = None
    #: when its wait for a person's decision began (an approval's deadline counts from it)
    waiting_since: datetime | None = None
    #: live only: the attempt's deadline, and where the attempt went
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)
    instance: Any = field(default=None, repr=False)

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
            **({"approval": self.approval} if self.approval else {}),
        }


@dataclass(eq=False)
class CompensationState:
    """Undoing one completed step of a revertible service, after its orchestration ended badly."""

    orchestration_id: str
    step_id: str
    service_id: str | None
    component: str
    reason: str  # failed, aborted, cancelled
    context: Any  # compensationContext.payload: a JSON object or None
    position: int  # 0 runs first (the step that completed last)
    input: Any  # exactly the ``compensation.data`` the service returned
    ttl_ms: int | None
    idempotency_key: str
    created_at: datetime
    #: the step's completion, from which the TTL counts
    step_end: datetime | None = None
    status: str = CompensationStatus.PENDING
    attempts: int = 0
    result: Any = None
    error: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None

    def body(self) -> dict[str, Any]:
        return {
            "stepId": self.step_id,
            "component": self.component,
            "status": self.status,
            "reason": self.reason,
            "attempts": self.attempts,
            "startTime": to_iso(self.start_time),
            "endTime": to_iso(self.end_time),
            "result": self.result,
            "error": self.error,
        }

    @classmethod
    def from_stored(cls, stored: StoredCompensation) -> CompensationState:
        """As the store read it (its attributes are this state's, ``step_end`` aside)."""
        read = {field.name for field in fields(stored)}
        state = cls(**{f.name: getattr(stored, f.name) for f in fields(cls) if f.name in read})
        state.attempts = state.attempts or 0
        return state


@dataclass(eq=False)
class Run:
    id: str
    project_id: str
    action: dict[str, Any]
    data: list[dict[str, Any]]
    plan: dict[str, Any] | None
    status: OrchestrationStatus
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
    #: how the plan was made (kept in memory while the run is live or recent; the store has it
    #: in the orchestration's ``plan_made`` event)
    provenance: dict[str, Any] | None = None
    #: the caller's overrides: timeout, retries, offline grace (camelCase, as sent)
    options: dict[str, Any] | None = None
    compensations: list[CompensationState] = field(default_factory=list)
    #: the orchestration this one re-runs (``POST /orchestrations/{id}/rerun``)
    parent_id: str | None = None
    #: plan revisions so far, oldest first
    revisions: list[StoredRevision] = field(default_factory=list)
    #: steps of earlier plans that a revision replaced (shown, never run again)
    replaced: dict[str, StepState] = field(default_factory=dict)
    #: a step failed for good and the remainder is being re-planned: nothing new is dispatched
    replanning: bool = False
    #: the planner has been asked (at most one re-plan at a time)
    replan_pending: bool = False
    #: why each step failure or re-plan attempt happened, for the error if the run fails
    failures: list[str] = field(default_factory=list)

    @property
    def request(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "data": {item["field"]: item.get("value") for item in self.data},
        }

    def outputs(self) -> dict[str, Any]:
        return {s.id: s.output for s in self.steps.values() if s.status == StepStatus.COMPLETED}

    def body(self, status: str | None = None) -> dict[str, Any]:
        answer = {
            "executionId": self.id,
            "status": status or self.status,
            "action": self.action,
            "createdAt": to_iso(self.created_at),
            "startTime": to_iso(self.start_time),
            "endTime": to_iso(self.end_time),
            "result": self.result,
            "error": self.error,
            "stepResults": [s.body() for s in self.steps.values()],
        }
        if self.parent_id:
            answer["parentId"] = self.parent_id
        if self.revisions:
            answer["revisions"] = [revision_summary(r) for r in self.revisions]
            answer["replacedSteps"] = [s.body() for s in self.replaced.values()]
        if self.compensations:
            answer["compensations"] = [c.body() for c in self.compensations]
        return answer


def revision_summary(revision: StoredRevision) -> dict[str, Any]:
    """A revision as callers see it (the full old and new plans stay in its event)."""
    return {
        "revision": revision.revision,
        "reason": revision.reason,
        "at": revision.at.isoformat() if revision.at is not None else None,
        "failedStep": revision.failed_step,
        "excluded": revision.excluded,
        "replaced": revision.replaced,
        "added": revision.added,
        "source": revision.source,
    }


def gate_steps(
    steps: dict[str, StepState],
    plan: dict[str, Any],
    options: dict[str, Any] | None,
    services: dict[str, StoredService],
) -> None:
    """Mark the steps that wait for a person's approval before they run: their service asks
    for it, the caller listed them (``options.approve``, or ``"revertible"``), or the plan
    marks them (``requiresApproval``). ``services``: registrations by service id."""
    approve = (options or {}).get("approve")
    marked = {s["id"] for s in plan.get("steps", []) if s.get("requiresApproval")}
    for step in steps.values():
        service = services.get(step.service_id or "")
        if (
            (service is not None and service.requires_approval)
            or step.id in marked
            or (isinstance(approve, list) and step.id in approve)
            or (approve == "revertible" and service is not None and service.revertible)
        ):
            step.approval = ApprovalStatus.REQUIRED


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


def build_steps(
    plan: dict[str, Any], service_ids: dict[str, str], *, strict: bool = True
) -> dict[str, StepState]:
    """The plan's steps, wired to each other. ``strict=False`` (for showing a stored run that
    today's rules cannot rebuild) leaves out a dependency on a step the plan does not have
    instead of raising ``KeyError``."""
    steps: dict[str, StepState] = {}
    for spec in plan["steps"]:
        steps[spec["id"]] = StepState(
            id=spec["id"],
            component=spec["component"],
            service_id=service_ids.get(spec["component"]),
            template=spec.get("input") or {},
            dependencies=list(spec.get("dependencies") or []),
        )
    for step in steps.values():
        if not strict:
            step.dependencies = [dep for dep in step.dependencies if dep in steps]
        step.remaining = len(step.dependencies)
        for dep in step.dependencies:
            steps[dep].dependents.append(step.id)
    return steps


def run_from_rows(
    row: StoredOrchestration,
    step_rows: list[StoredStep],
    compensation_rows: list[StoredCompensation] = (),  # type: ignore[assignment]
    *,
    strict: bool = True,
) -> Run:
    """Rebuild a run from its stored current state (for reads and for crash recovery);
    ``strict=False`` shows what it can of a plan that no longer builds (see build_steps)."""
    run = Run(
        id=row.id,
        project_id=row.project_id,
        action=row.action,
        data=row.data or [],
        plan=row.plan,
        status=OrchestrationStatus(row.status),
        created_at=row.created_at,
        webhooks=row.webhooks or [],
        start_time=row.start_time,
        end_time=row.end_time,
        result=row.result,
        error=row.error,
        options=row.options,
        parent_id=row.parent_id,
        compensations=[CompensationState.from_stored(r) for r in compensation_rows],
    )
    by_id = {r.step_id: r for r in step_rows}
    if run.plan:
        service_ids = {r.component: r.service_id for r in step_rows}
        run.steps = build_steps(run.plan, service_ids, strict=strict)
    for stored in step_rows:  # steps a plan revision replaced
        if stored.step_id not in run.steps:
            run.replaced[stored.step_id] = StepState(
                stored.step_id, stored.component, stored.service_id, {}, []
            )
    for step in [*run.steps.values(), *run.replaced.values()]:
        stored = by_id.get(step.id)
        if stored is None:
            continue
        step.status = StepStatus(stored.status)
        step.output = stored.output
        step.error = stored.error
        step.attempts = stored.attempts or 0
        step.idempotency_key = stored.idempotency_key
        step.start_time = stored.start_time
        step.end_time = stored.end_time
        step.compensation = stored.compensation
        step.approval = stored.approval
        if step.status != StepStatus.PENDING or step.approval == ApprovalStatus.APPROVED:
            step.input = stored.input
    return run
