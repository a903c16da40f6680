"""The shapes of the control plane's answers, as the client returns them.

They are ``TypedDict``s: an editor and a type checker know every field, and the values stay
plain dicts, so ``run["status"]``, ``json.dumps(run)`` and DataFrame construction keep working
in notebooks. Each mirrors a response model of ``/openapi.json`` (named in ``OPENAPI_NAMES``);
``tests/test_response_models.py`` checks that their fields agree.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from orra_sdk.vocabulary import OrchestrationStatus, StepStatus

from .account_types import (
    ApiKey,
    ApiKeyCreated,
    ApiKeyRevoked,
    ApiKeyRotated,
    Health,
    Project,
    ProjectCreated,
    Ready,
    Replica,
    WebhookAdded,
    WebhookItem,
    WebhookRemoved,
)

__all__ = [
    "OPENAPI_NAMES",
    "Accepted",
    "Activity",
    "ActivityBucket",
    "Approval",
    "ApiKey",
    "ApiKeyCreated",
    "ApiKeyRevoked",
    "ApiKeyRotated",
    "Compensation",
    "CompensationFailure",
    "Connection",
    "Delivery",
    "DeliveryAttempt",
    "Grounding",
    "Health",
    "LogLine",
    "Logs",
    "Orchestration",
    "OrchestrationPage",
    "ApprovalPage",
    "OrchestrationSummary",
    "PlanCacheCleared",
    "PlanInfo",
    "Project",
    "ProjectCreated",
    "Ready",
    "Registration",
    "Replica",
    "Revision",
    "Service",
    "StepResult",
    "WebhookAdded",
    "WebhookItem",
    "WebhookRemoved",
]


class Registration(TypedDict):
    id: str
    name: str
    status: str
    revertible: bool
    version: int
    warnings: NotRequired[list[str] | None]


class Connection(TypedDict):
    instance: int
    connectedAt: str | None
    tasksInFlight: int
    #: tasks it may hold at once (None: no limit; the original orra SDKs get 16)
    capacity: NotRequired[int | None]
    stale: bool
    #: it has sent a frame or answered a ping (a silent one is closed after a grace)
    confirmed: NotRequired[bool]


class Service(TypedDict):
    id: str
    name: str
    kind: str
    description: str
    schema: dict[str, Any]
    revertible: bool
    version: int
    policy: dict[str, Any] | None
    #: each task waits for a person's approval
    requiresApproval: NotRequired[bool]
    online: bool
    instances: int
    staleInstances: int
    #: of ``instances``, those not yet heard from (no frame, no ping answered)
    unconfirmedInstances: NotRequired[int]
    #: when an instance last sent a frame, or the last one left (None: not since the start)
    lastSeen: NotRequired[str | None]
    connections: list[Connection]
    registeredAt: str | None
    updatedAt: str | None


class Accepted(TypedDict):
    """``POST /orchestrations``: ACCEPTED, NOT_ACTIONABLE or (a dry run) PREVIEW."""

    status: str
    executionId: str | None
    message: str
    resultTarget: dict[str, Any]
    plan: dict[str, Any] | None
    planSource: str | None
    cache: str | None
    grounding: NotRequired[dict[str, Any] | None]
    validation: NotRequired[dict[str, Any] | None]
    provenance: NotRequired[dict[str, Any] | None]
    #: a re-run: the orchestration it re-runs, and the steps whose recorded output it reuses
    parentId: NotRequired[str | None]
    reused: NotRequired[list[str] | None]


class StepResult(TypedDict):
    id: str
    component: str
    status: StepStatus
    startTime: str | None
    endTime: str | None
    input: Any
    output: Any
    error: str | None
    attempts: int
    #: required, approved or rejected, for a step that waits for a person's approval
    approval: NotRequired[str | None]


class Approval(TypedDict):
    """A step waiting for a person's decision (``GET /approvals``)."""

    executionId: str
    stepId: str
    component: str
    #: None when ``inputTruncated`` (over 64 KiB): ``inputPreview`` shows its start, and
    #: ``client.orchestration(executionId)`` has it whole (the step's ``input``)
    input: NotRequired[dict[str, Any] | None]
    inputTruncated: NotRequired[bool]
    inputBytes: NotRequired[int | None]
    inputPreview: NotRequired[str | None]
    inputUrl: NotRequired[str | None]
    action: dict[str, Any]
    createdAt: NotRequired[str | None]
    #: when the step began to wait, and when it is rejected without a decision (None: never)
    requestedAt: NotRequired[str | None]
    expiresAt: NotRequired[str | None]


class ApprovalPage(TypedDict):
    approvals: list[Approval]
    #: pass as ``cursor=`` for the next page; None on the last one
    nextCursor: NotRequired[str | None]


class Compensation(TypedDict):
    stepId: str
    component: str
    status: str
    reason: str
    attempts: int
    startTime: str | None
    endTime: str | None
    result: Any
    error: str | None


class Revision(TypedDict):
    """A plan revision: a step failed for good and the rest was planned again."""

    revision: int
    reason: NotRequired[str | None]
    at: NotRequired[str | None]
    failedStep: NotRequired[str | None]
    excluded: NotRequired[list[str] | None]
    replaced: NotRequired[list[str] | None]
    added: NotRequired[list[str] | None]
    source: NotRequired[str | None]


class Orchestration(TypedDict):
    executionId: str
    status: OrchestrationStatus
    action: dict[str, Any]
    createdAt: str | None
    startTime: str | None
    endTime: str | None
    result: Any
    error: str | None
    stepResults: list[StepResult]
    compensations: NotRequired[list[Compensation] | None]
    #: the orchestration this one re-runs
    parentId: NotRequired[str | None]
    revisions: NotRequired[list[Revision] | None]
    #: steps of earlier plans that a revision replaced
    replacedSteps: NotRequired[list[StepResult] | None]
    #: the request's data fields ({field, value}); GET /orchestrations/{id} only
    data: NotRequired[list[dict[str, Any]] | None]


class OrchestrationSummary(TypedDict):
    executionId: str
    status: OrchestrationStatus
    action: Any
    createdAt: str | None
    startTime: str | None
    endTime: str | None
    error: str | None
    stepsCompleted: int
    stepsPlanned: int


class ActivityBucket(TypedDict):
    at: str
    status: OrchestrationStatus
    runs: int


class Activity(TypedDict):
    since: str
    bucketSeconds: int
    buckets: list[ActivityBucket]


class OrchestrationPage(TypedDict):
    orchestrations: list[OrchestrationSummary]
    #: pass as ``cursor=`` for the next page; None on the last one
    nextCursor: NotRequired[str | None]


class PlanCacheCleared(TypedDict):
    cleared: int


class PlanInfo(TypedDict):
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


class LogLine(TypedDict):
    seq: int
    time: str | None
    level: str
    event: str
    stepId: str | None
    message: str
    payload: Any


class Logs(TypedDict):
    executionId: str
    status: OrchestrationStatus
    logs: list[LogLine]


class DeliveryAttempt(TypedDict):
    attempt: int | None
    time: str | None
    status: int | None
    error: str | None
    outcome: str | None


class Delivery(TypedDict):
    id: str
    kind: str
    url: str
    status: str
    attempts: int
    lastStatus: int | None
    lastError: str | None
    nextAttemptAt: str | None
    createdAt: str | None
    deliveredAt: str | None
    history: list[DeliveryAttempt]


class Grounding(TypedDict):
    name: str
    domain: str
    version: str
    useCases: list[dict[str, Any]]
    constraints: list[str]
    createdAt: str | None
    updatedAt: str | None


class CompensationFailure(TypedDict):
    id: str
    projectId: str
    orchestrationId: str
    stepId: str
    serviceId: str | None
    component: str
    status: str
    failure: str | None
    resolution: str | None
    attempts: int
    compensation: Any
    context: Any
    createdAt: str | None
    updatedAt: str | None


#: each shape -> the schema of ``/openapi.json`` it mirrors
OPENAPI_NAMES: dict[type, str] = {
    Health: "HealthOut",
    Ready: "ReadyOut",
    Replica: "ReplicaOut",
    ProjectCreated: "ProjectCreated",
    Project: "ProjectOut",
    ApiKeyCreated: "ApiKeyCreated",
    ApiKey: "ApiKeyOut",
    ApiKeyRevoked: "ApiKeyRevoked",
    ApiKeyRotated: "ApiKeyRotated",
    WebhookAdded: "WebhookAdded",
    WebhookItem: "WebhookItem",
    WebhookRemoved: "WebhookRemoved",
    Registration: "RegistrationOut",
    Connection: "ConnectionOut",
    Service: "ServiceOut",
    Accepted: "Accepted",
    StepResult: "StepResultOut",
    Compensation: "CompensationOut",
    Orchestration: "OrchestrationOut",
    OrchestrationSummary: "OrchestrationSummary",
    OrchestrationPage: "OrchestrationListOut",
    ActivityBucket: "ActivityBucket",
    Activity: "ActivityOut",
    Revision: "RevisionOut",
    PlanCacheCleared: "PlanCacheCleared",
    Approval: "ApprovalOut",
    PlanInfo: "PlanInfo",
    LogLine: "LogLine",
    Logs: "LogsOut",
    DeliveryAttempt: "DeliveryAttempt",
    Delivery: "DeliveryOut",
    Grounding: "GroundingOut",
    CompensationFailure: "CompensationFailureOut",
}
