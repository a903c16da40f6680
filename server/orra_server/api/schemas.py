"""Response bodies, as pydantic models, so ``/openapi.json`` describes what callers get back.

Routes on the hot path build their bodies as dicts and return them through
:class:`~.responses.FastJSONResponse` (no validation per request); the models document them,
and ``tests/test_response_models.py`` checks real bodies against them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from orra_sdk.vocabulary import OrchestrationStatus, StepStatus

__all__ = [
    "ResponseBody",
    "Accepted",
    "CompensationFailureList",
    "CompensationFailureOut",
    "CompensationOut",
    "DeliveriesOut",
    "GroundingDeleted",
    "GroundingList",
    "GroundingOut",
    "HealthOut",
    "LogsOut",
    "PlanInfo",
    "RegistrationOut",
    "ServiceList",
    "OrchestrationListOut",
    "OrchestrationOut",
    "OrchestrationSummary",
    "RevisionOut",
    "PlanCacheCleared",
    "ApprovalOut",
    "ApprovalList",
    "StepResultOut",
]


def _next_cursor(how: str) -> Any:
    """The ``nextCursor`` field of a paged list (``how``: how the next request passes it)."""
    about = f"pass as {how} for the next page; null on the last page"
    return Field(default=None, description=about)


class ResponseBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class StepResultOut(ResponseBody):
    id: str = Field(description="the plan's step id, e.g. step1")
    component: str = Field(description="the service that runs it")
    status: StepStatus
    startTime: str | None = None
    endTime: str | None = None
    input: Any = Field(default=None, description="the resolved input, once dispatched")
    output: Any = None
    error: str | None = None
    attempts: int = Field(description="dispatches so far, the first included")
    approval: str | None = Field(
        default=None, description="required, approved or rejected, for a gated step"
    )


class CompensationOut(ResponseBody):
    stepId: str
    component: str
    status: str = Field(description="pending, running, completed, partial, failed or expired")
    reason: str = Field(description="failed, aborted or cancelled")
    attempts: int
    startTime: str | None = None
    endTime: str | None = None
    result: Any = None
    error: str | None = None


class ApprovalOut(ResponseBody):
    executionId: str
    stepId: str
    component: str
    input: dict[str, Any] | None = Field(
        default=None, description="what it would run with; null when inputTruncated"
    )
    inputTruncated: bool = Field(
        default=False, description="the input is over 64 KiB: inputPreview shows its start"
    )
    inputBytes: int | None = Field(default=None, description="the size of the input's JSON")
    inputPreview: str | None = Field(
        default=None, description="the first 2,000 characters of the input's JSON, when truncated"
    )
    inputUrl: str | None = Field(
        default=None, description="where to read the whole input (the step's input), when truncated"
    )
    action: dict[str, Any]
    createdAt: str | None = Field(default=None, description="when the orchestration was made")
    requestedAt: str | None = Field(default=None, description="when the step began to wait")
    expiresAt: str | None = Field(
        default=None, description="when it is rejected without a decision (approvalTimeoutSeconds)"
    )


class ApprovalList(ResponseBody):
    approvals: list[ApprovalOut]
    nextCursor: str | None = _next_cursor("cursor")


class RevisionOut(ResponseBody):
    revision: int = Field(description="1 for the first revision")
    reason: str | None = Field(default=None, description="the failure that made it")
    at: str | None = None
    failedStep: str | None = None
    excluded: list[str] | None = Field(default=None, description="services left out")
    replaced: list[str] | None = Field(default=None, description="steps the revision replaced")
    added: list[str] | None = Field(default=None, description="the new steps")
    source: str | None = Field(default=None, description="the planner: llm, schema-flow, cache")


class OrchestrationOut(ResponseBody):
    executionId: str
    status: OrchestrationStatus
    action: dict[str, Any]
    createdAt: str | None = None
    startTime: str | None = None
    endTime: str | None = None
    result: Any = Field(default=None, description="the sink steps' outputs combined")
    error: str | None = None
    stepResults: list[StepResultOut]
    compensations: list[CompensationOut] | None = None
    parentId: str | None = Field(default=None, description="the orchestration this one re-runs")
    revisions: list[RevisionOut] | None = Field(
        default=None, description="plan revisions (re-planning after a step failed for good)"
    )
    replacedSteps: list[StepResultOut] | None = Field(
        default=None, description="steps of earlier plans that a revision replaced"
    )
    data: list[dict[str, Any]] | None = Field(
        default=None, description="the request's data fields (GET only), to re-run or edit it"
    )


class OrchestrationSummary(ResponseBody):
    """One orchestration as ``GET /orchestrations`` lists it: no steps, no data."""

    executionId: str
    status: OrchestrationStatus
    action: Any
    createdAt: str | None = None
    startTime: str | None = None
    endTime: str | None = Field(default=None, description="when it ended; null until then")
    error: str | None = None
    stepsCompleted: int = Field(default=0, description="its steps that completed")
    stepsPlanned: int = Field(default=0, description="its steps, as planned (or re-planned)")


class ActivityBucket(ResponseBody):
    at: str = Field(description="the minute's start (UTC)")
    status: OrchestrationStatus = Field(description="the status these runs have now")
    runs: int


class ActivityOut(ResponseBody):
    """Runs created per minute, by status: what the studio's Executions chart draws."""

    since: str
    bucketSeconds: int
    buckets: list[ActivityBucket]


class OrchestrationListOut(ResponseBody):
    orchestrations: list[OrchestrationSummary]
    nextCursor: str | None = _next_cursor("?cursor=")


# -- services ----------------------------------------------------------------------------------
class RegistrationOut(ResponseBody):
    id: str = Field(description="s_ + lowercase letters: keep it to re-register")
    name: str
    status: str
    revertible: bool
    version: int
    warnings: list[str] | None = None


class ConnectionOut(ResponseBody):
    instance: int
    connectedAt: str | None
    tasksInFlight: int
    capacity: int | None = Field(
        default=None, description="tasks it may hold at once (null: no limit)"
    )
    stale: bool = Field(description="connected before a schema change: gets no new tasks")
    confirmed: bool = Field(
        default=True,
        description="has sent a frame or answered a ping; one that stays silent is closed",
    )


class ServiceOut(ResponseBody):
    id: str
    name: str
    kind: str
    description: str
    schema_: dict[str, Any] = Field(alias="schema")
    revertible: bool
    version: int
    policy: dict[str, Any] | None
    requiresApproval: bool = Field(default=False, description="each task waits for a person")
    online: bool
    instances: int = Field(description="instances that take new tasks")
    staleInstances: int
    unconfirmedInstances: int = Field(
        default=0,
        description="of `instances`, those that have not yet sent a frame or answered a ping",
    )
    lastSeen: str | None = Field(
        default=None,
        description="when an instance last sent a frame, or the last one left (since start)",
    )
    connections: list[ConnectionOut]
    registeredAt: str | None
    updatedAt: str | None


class ServiceList(ResponseBody):
    services: list[ServiceOut]


# -- orchestrations: planning, logs, deliveries ------------------------------------------------
class Accepted(ResponseBody):
    """``POST /orchestrations``: 202 ``ACCEPTED``/``NOT_ACTIONABLE``, or 200 ``PREVIEW``."""

    status: str = Field(description="ACCEPTED, NOT_ACTIONABLE or (dryRun) PREVIEW")
    executionId: str | None
    message: str
    resultTarget: dict[str, Any]
    plan: dict[str, Any] | None
    planSource: str | None
    cache: str | None
    grounding: dict[str, Any] | None = None
    validation: dict[str, Any] | None = None
    provenance: dict[str, Any] | None = None
    parentId: str | None = Field(default=None, description="a re-run: the orchestration re-run")
    reused: list[str] | None = Field(
        default=None, description="a re-run: steps whose recorded output was reused"
    )


class PlanCacheCleared(ResponseBody):
    cleared: int = Field(description="cached plans forgotten")


class PlanInfo(ResponseBody):
    executionId: str
    status: OrchestrationStatus
    plan: dict[str, Any] | None
    source: str | None
    model: str | None
    repairRounds: int
    cache: str | None
    provenance: dict[str, Any]
    llmCalls: list[dict[str, Any]]
    error: str | None


class LogLine(ResponseBody):
    seq: int
    time: str | None
    level: str = Field(description="info, warning or error")
    event: str
    stepId: str | None
    message: str
    payload: Any = None


class LogsOut(ResponseBody):
    executionId: str
    status: OrchestrationStatus
    logs: list[LogLine]


class DeliveryAttempt(ResponseBody):
    attempt: int | None
    time: str | None
    status: int | None = Field(description="the receiver's HTTP status")
    error: str | None
    outcome: str | None


class DeliveryOut(ResponseBody):
    id: str
    kind: str = Field(description="orchestration or compensation_failure")
    url: str
    status: str = Field(description="pending, delivered or failed")
    attempts: int
    lastStatus: int | None
    lastError: str | None = Field(description="the status line or network error, never a body")
    nextAttemptAt: str | None
    createdAt: str | None
    deliveredAt: str | None
    history: list[DeliveryAttempt]


class DeliveriesOut(ResponseBody):
    executionId: str
    deliveries: list[DeliveryOut]


# -- groundings and compensation failures ------------------------------------------------------
class GroundingOut(ResponseBody):
    name: str
    domain: str
    version: str
    useCases: list[dict[str, Any]]
    constraints: list[str]
    createdAt: str | None
    updatedAt: str | None


class GroundingList(ResponseBody):
    groundings: list[GroundingOut]


class GroundingDeleted(ResponseBody):
    deleted: str


class CompensationFailureOut(ResponseBody):
    id: str
    projectId: str
    orchestrationId: str
    stepId: str
    serviceId: str | None
    component: str
    status: str = Field(description="pending, resolved or ignored")
    failure: str | None
    resolution: str | None
    attempts: int
    compensation: Any = Field(description="{input, ttl}: what would have been sent")
    context: Any = Field(description="{reason, payload}")
    createdAt: str | None
    updatedAt: str | None


class CompensationFailureList(ResponseBody):
    compensationFailures: list[CompensationFailureOut]


# -- health (the project, key and webhook bodies are in account_schemas.py) -----------------------
class HealthOut(ResponseBody):
    status: str = Field(description="always 'ok' when it answers")
    version: str
    backend: str = Field(description="duckdb (one process) or postgresql (replicas)")
    replica: str | None = Field(description="this replica's id (null on DuckDB)")
    role: str = Field(description="single (DuckDB), or a replica's starting/serving/recovering")


class ReadyOut(ResponseBody):
    ready: bool
    role: str


class ReplicaOut(ResponseBody):
    id: str
    status: str = Field(description="alive, dead (declared by another) or left (stopped)")
    startedAt: str
    heartbeatAt: str
    silentSeconds: float = Field(description="since its last heartbeat, by the database's clock")
    runs: int = Field(description="unfinished runs it owns")
    this: bool = Field(description="the replica that answered")


class ReplicaList(ResponseBody):
    replicas: list[ReplicaOut]
