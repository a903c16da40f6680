"""Request bodies. Unknown extra fields are ignored, as the orra SDKs send a few."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..planning import Plan

__all__ = [
    "ActionIn",
    "ApiKeyIn",
    "DataItem",
    "OrchestrationIn",
    "ProjectIn",
    "RegistrationIn",
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


class RegistrationIn(_Body):
    id: str | None = None
    name: str = Field(max_length=1000)
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    version: Any = None
    revertible: bool = False


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
