"""Compensation failures (as the original orra): list, inspect, resolve or ignore them, and the
webhooks that hear about each one."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request

from ..control import compensation_failures as failures
from ..control import webhooks
from .account_schemas import WebhookAdded, WebhookList, WebhookRemoved
from .auth import ProjectId
from .models import (
    ERROR_RESPONSES,
    ResolutionIn,
    WebhookIn,
    answers,
)
from .projects import webhook_ref
from .routing import OrjsonRoute
from .runtime import runtime_of
from .schemas import CompensationFailureList, CompensationFailureOut

router = APIRouter(tags=["compensation"], route_class=OrjsonRoute, responses=ERROR_RESPONSES)


@router.get("/compensation-failures", **answers(CompensationFailureList))
async def list_compensation_failures(
    request: Request,
    project_id: ProjectId,
    status: Literal["pending", "resolved", "ignored"] | None = Query(default=None),
    orchestrationId: str | None = Query(default=None, max_length=200),  # noqa: N803
) -> dict[str, Any]:
    found = failures.list_compensation_failures(
        runtime_of(request), project_id, status, orchestrationId
    )
    return {"compensationFailures": found}


@router.get("/compensation-failures/{failure_id}", **answers(CompensationFailureOut))
async def get_compensation_failure(
    request: Request, failure_id: str, project_id: ProjectId
) -> dict[str, Any]:
    return failures.compensation_failure(runtime_of(request), project_id, failure_id)


@router.post("/compensation-failures/{failure_id}/{verb}", **answers(CompensationFailureOut))
async def settle_compensation_failure(
    request: Request,
    failure_id: str,
    verb: Literal["resolve", "ignore"],
    body: ResolutionIn,
    project_id: ProjectId,
) -> dict[str, Any]:
    """``resolve``: someone undid it by hand (say how); ``ignore``: nothing needs undoing after
    all (say why)."""
    command = failures.Settle(project_id, failure_id, verb, body.reason)
    return await failures.settle_compensation_failure(runtime_of(request), command)


@router.post("/compensation-failure-webhooks", **answers(WebhookAdded, status_code=201))
async def add_compensation_failure_webhook(
    request: Request, body: WebhookIn, project_id: ProjectId
) -> dict[str, Any]:
    runtime = runtime_of(request)
    return await webhooks.add_webhook(runtime, "compensation_failure", project_id, body.url)


@router.get("/compensation-failure-webhooks", **answers(WebhookList))
async def list_compensation_failure_webhooks(
    request: Request, project_id: ProjectId
) -> dict[str, Any]:
    return webhooks.list_webhooks(runtime_of(request), "compensation_failure", project_id)


@router.delete("/compensation-failure-webhooks/{ref:path}", **answers(WebhookRemoved))
async def delete_compensation_failure_webhook(
    request: Request, ref: str, project_id: ProjectId
) -> dict[str, Any]:
    """Remove a compensation-failure webhook by id (``wh_…``) or by its exact URL."""
    return await webhooks.remove_webhook(
        runtime_of(request), "compensation_failure", project_id, webhook_ref(request, ref)
    )
