"""Request bodies. Unknown extra fields are ignored, as the orra SDKs send a few."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..planning import Plan

__all__ = [
    "ActionIn",
    "ApiKeyIn",
    "CancelIn",
    "DataItem",
    "OrchestrationIn",
    "OrchestrationOptions",
    "PolicyIn",
    "ProjectIn",
    "RegistrationIn",
    "ResolutionIn",
    "WebhookIn",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ProjectIn(_Body):
    name: str | None = Field(default=None, max_length=200)
    webhooks: list[str] = Field(default_factory=list)


class ApiKeyIn(_Body):
    name: str | None = Field(default=None, max_length=200)


class WebhookIn(_Body):
    url: str = Field(min_length=1, max_length=2048)


class PolicyIn(BaseModel):
    """Timeout and retry overrides; each field left out keeps the value from the level below."""

    model_config = ConfigDict(extra="forbid")

    timeoutSeconds: float | None = Field(
        default=None, gt=0, le=86_400, description="seconds one attempt may run"
    )
    maxAttempts: int | None = Field(
        default=None, ge=1, le=100, description="dispatches of a step in all, the first included"
    )
    initialDelaySeconds: float | None = Field(
        default=None, ge=0, le=3_600, description="backoff before the first retry"
    )
    backoffMultiplier: float | None = Field(default=None, ge=1, le=10)
    maxDelaySeconds: float | None = Field(default=None, ge=0, le=86_400)


class OrchestrationOptions(PolicyIn):
    offlineGraceSeconds: float | None = Field(
        default=None,
        ge=0,
        le=86_400,
        description="how long a step waits for an instance of its service before it fails",
    )


class CancelIn(_Body):
    reason: str | None = Field(default=None, max_length=2000)
    #: undo the completed steps of revertible services (as a failure would)
    compensate: bool = True


class ResolutionIn(_Body):
    reason: str = Field(min_length=1, max_length=2000, description="why, for the record")


class RegistrationIn(_Body):
    id: str | None = None
    name: str = Field(max_length=1000)
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    version: Any = None
    revertible: bool = False
    #: this service's own timeout and retry defaults
    policy: PolicyIn | None = None


class ActionIn(_Body):
    type: str = Field(min_length=1, max_length=200)
    content: str = Field(default="", max_length=100_000)


class DataItem(_Body):
    field: str = Field(min_length=1, max_length=200)
    value: Any = None


class OrchestrationIn(_Body):
    action: ActionIn
    data: list[DataItem] = Field(default_factory=list)
    timestamp: str | None = None
    dryRun: bool = False
    #: a caller-supplied (for example an edited preview's) plan: validated, then run as given
    plan: Plan | None = None
    #: timeout, retry and offline-grace overrides for this orchestration's steps
    options: OrchestrationOptions | None = None


Status = Literal[
    "PLANNING",
    "PENDING",
    "RUNNING",
    "PAUSED",
    "COMPLETED",
    "FAILED",
    "ABORTED",
    "CANCELLED",
    "NOT_ACTIONABLE",
]
