"""Request bodies. Unknown extra fields are ignored, as the orra SDKs send a few."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from ..core.limits import MAX_DATA_FIELDS, MAX_PLAN_STEPS, MAX_WEBHOOKS
from ..planning.plan import Plan, StepId

__all__ = [
    "documented",
    "CONFLICT_RESPONSES",
    "ERROR_RESPONSES",
    "TOO_MANY_RESPONSES",
    "ErrorBody",
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


class ErrorDetail(BaseModel):
    code: str = Field(description="stable: what scripts match on")
    message: str = Field(description="what went wrong and what to do about it")
    param: str | None = None
    details: Any = None


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer has this shape."""

    error: ErrorDetail


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


#: the error answers every route may give, for ``/openapi.json``
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("bad input: the message says what to fix"),
    401: _error("missing, malformed, unknown or revoked API key (or admin token)"),
    404: _error("no such thing in this project"),
    413: _error("the body is larger than 10 MiB"),
}

#: for routes that start runs: the project is at its bound of unfinished runs
TOO_MANY_RESPONSES: dict[int | str, dict[str, Any]] = {
    429: _error("too many unfinished orchestrations (or bytes of their data); see Retry-After")
}


def documented(model: type[BaseModel], description: str = "OK") -> dict[str, Any]:
    """A success answer's model for ``/openapi.json``, for routes that build their body as a
    dict (no validation per request; tests check real bodies against the model)."""
    return {"model": model, "description": description}


#: for routes that can also conflict with the current state
CONFLICT_RESPONSES: dict[int | str, dict[str, Any]] = {409: _error("conflicts with the state")}


def answers(
    model: type[BaseModel],
    *,
    status_code: int = 200,
    conflicts: bool = False,
    starts_runs: bool = False,
    or_ok: bool = False,
) -> dict[str, Any]:
    """A route's keyword arguments when it builds its body as a dict: ``model`` documents the
    success answer in ``/openapi.json`` without validating each response. ``starts_runs``: it
    may answer 429; ``or_ok``: it may also answer 200 with ``model`` (a replace, a dry run)."""
    responses = {
        **(CONFLICT_RESPONSES if conflicts else {}),
        **(TOO_MANY_RESPONSES if starts_runs else {}),
        status_code: documented(model),
        **({200: documented(model)} if or_ok else {}),
    }
    return {"status_code": status_code, "responses": responses, "response_model": None}


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _plain_text(value: str | None) -> str | None:
    """Names are shown in tables and terminals: no control or invisible formatting characters
    (NUL, CR/LF, U+202E that reverses what follows, zero-width spaces…)."""
    if value is None:
        return value
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            raise ValueError(
                f"contains the control or formatting character U+{ord(char):04X}; use "
                "printable characters only"
            )
    return value


PlainText = Annotated[str, AfterValidator(_plain_text)]


def _iso_timestamp(value: str | None) -> str | None:
    if value is None:
        return value
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{value[:40]!r} is not an ISO-8601 date and time, e.g. '2024-09-06T14:30:00Z'"
        ) from None
    return value


class ProjectIn(_Body):
    name: PlainText | None = Field(default=None, min_length=1, max_length=200)
    webhooks: list[str] = Field(default_factory=list, max_length=MAX_WEBHOOKS)


class ApiKeyIn(_Body):
    name: PlainText | None = Field(default=None, min_length=1, max_length=200)


class WebhookIn(_Body):
    url: str = Field(min_length=1, max_length=2048)


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):  # JSON true/false would otherwise pass as 1/0
        raise ValueError("must be a number, not true/false")
    return value


Number = Annotated[float, BeforeValidator(_not_bool)]
Count = Annotated[int, BeforeValidator(_not_bool)]


class PolicyIn(BaseModel):
    """Timeout and retry overrides; each field left out keeps the value from the level below."""

    model_config = ConfigDict(extra="forbid")

    timeoutSeconds: Number | None = Field(
        default=None, gt=0, le=86_400, description="seconds one attempt may run"
    )
    maxAttempts: Count | None = Field(
        default=None, ge=1, le=100, description="dispatches of a step in all, the first included"
    )
    initialDelaySeconds: Number | None = Field(
        default=None, ge=0, le=3_600, description="backoff before the first retry"
    )
    backoffMultiplier: Number | None = Field(default=None, ge=1, le=10)
    maxDelaySeconds: Number | None = Field(default=None, ge=0, le=86_400)


class OrchestrationOptions(PolicyIn):
    offlineGraceSeconds: Number | None = Field(
        default=None,
        ge=0,
        le=86_400,
        description="how long a step waits for an instance of its service before it fails",
    )
    replan: Literal["auto", "off"] | None = Field(
        default=None,
        description="auto (the default): a step that fails for good makes the engine plan the "
        "rest without its service; off: the run fails and compensates at once",
    )
    maxReplans: Count | None = Field(
        default=None, ge=0, le=10, description="plan revisions a run may have (default 2)"
    )
    approve: list[Annotated[StepId, Field(max_length=64)]] | Literal["revertible"] | None = Field(
        default=None,
        max_length=MAX_PLAN_STEPS,
        description="steps that wait for a person's approval: their ids, or 'revertible' for "
        "every step of a revertible service",
    )
    approvalTimeoutSeconds: Number | None = Field(
        default=None, gt=0, le=30 * 86_400, description="reject a step not approved in time"
    )


class CancelIn(_Body):
    reason: str | None = Field(default=None, max_length=2000)
    #: undo the completed steps of revertible services (as a failure would)
    compensate: bool = True


class ApprovalIn(_Body):
    #: the input to run the step with instead of the one shown (checked against its schema)
    input: dict[str, Any] | None = None
    comment: str | None = Field(default=None, max_length=2000)
    #: who approves, for the record (the key used is always recorded)
    approver: str | None = Field(default=None, max_length=200)


class RejectionIn(_Body):
    reason: str = Field(min_length=1, max_length=2000, description="why, for the record")
    approver: str | None = Field(default=None, max_length=200)


class RerunIn(_Body):
    #: run this step and every step after it anew; the others reuse their recorded outputs
    fromStep: StepId | None = Field(default=None, max_length=64)
    #: edited inputs by step id (each checked against its service's input schema)
    input: dict[StepId, dict[str, Any]] | None = Field(default=None, max_length=MAX_PLAN_STEPS)
    #: run this plan instead of the recorded one (validated like any plan)
    plan: Plan | None = None


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
    #: every task of it waits for a person's approval before it is sent (e.g. payments)
    requiresApproval: bool = False


class ActionIn(_Body):
    type: str = Field(min_length=1, max_length=200)
    content: str = Field(default="", max_length=100_000)


class DataItem(_Body):
    field: str = Field(min_length=1, max_length=200)
    value: Any = None


class OrchestrationIn(_Body):
    action: ActionIn
    data: list[DataItem] = Field(default_factory=list, max_length=MAX_DATA_FIELDS)
    timestamp: Annotated[str | None, AfterValidator(_iso_timestamp)] = Field(
        default=None, max_length=64
    )
    dryRun: bool = False
    #: plan afresh instead of reusing a cached plan (the fresh plan then replaces it)
    noCache: bool = False
    #: a caller-supplied (for example an edited preview's) plan: validated, then run as given
    plan: Plan | None = None
    #: timeout, retry and offline-grace overrides for this orchestration's steps
    options: OrchestrationOptions | None = None
    #: plan with this grounding spec's best use case, or "none" to plan without one; left
    #: out, the best-matching use case of every spec in the project (if any matches well)
    grounding: str | None = Field(default=None, min_length=1, max_length=253)
