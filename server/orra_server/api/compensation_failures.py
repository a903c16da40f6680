"""Compensation failures (as the original orra): list, inspect, resolve or ignore them, and the
webhooks that hear about each one."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from fastapi import APIRouter, Query, Request

from ..core.errors import Conflict, NotFound
from ..core.ids import now
from ..engine.compensation import failure_body
from ..store import StoredCompensationFailure
from .auth import ProjectId
from .models import (
    ERROR_RESPONSES,
    ResolutionIn,
    WebhookIn,
    answers,
)
from .projects import remove_webhook, store_webhook, webhook_id, webhook_ref
from .routing import OrjsonRoute
from .runtime import runtime_of
from .schemas import (
    CompensationFailureList,
    CompensationFailureOut,
    WebhookAdded,
    WebhookList,
    WebhookRemoved,
)

router = APIRouter(tags=["compensation"], route_class=OrjsonRoute, responses=ERROR_RESPONSES)


@router.get("/compensation-failures", **answers(CompensationFailureList))
async def list_compensation_failures(
    request: Request,
    project_id: ProjectId,
    status: Literal["pending", "resolved", "ignored"] | None = Query(default=None),
    orchestrationId: str | None = Query(default=None, max_length=200),  # noqa: N803
) -> dict[str, Any]:
    rows = runtime_of(request).store.compensation_failures_of(
        project_id, status=status, orchestration_id=orchestrationId
    )
    return {"compensationFailures": [failure_body(r) for r in rows]}


def _failure(request: Request, project_id: str, failure_id: str) -> StoredCompensationFailure:
    row = runtime_of(request).store.compensation_failure(failure_id)
    if row is None or row.project_id != project_id:
        raise NotFound(
            f"no compensation failure '{failure_id}' in this project "
            "(list them with GET /compensation-failures)",
            code="compensation_failure_not_found",
        )
    return row


@router.get("/compensation-failures/{failure_id}", **answers(CompensationFailureOut))
async def get_compensation_failure(
    request: Request, failure_id: str, project_id: ProjectId
) -> dict[str, Any]:
    return failure_body(_failure(request, project_id, failure_id))


async def _settle(
    request: Request, project_id: str, failure_id: str, status: str, body: ResolutionIn
) -> dict[str, Any]:
    row = _failure(request, project_id, failure_id)
    if row.status != "pending":
        raise Conflict(
            f"compensation failure '{failure_id}' is already {row.status} "
            f"({row.resolution}); only a pending one can be resolved or ignored",
            code="compensation_failure_not_pending",
        )
    moment = now()
    await runtime_of(request).store.settle_compensation_failure(row, status, body.reason, at=moment)
    return failure_body(replace(row, status=status, resolution=body.reason, updated_at=moment))


#: what each settling verb makes a pending failure
SETTLED_AS = {"resolve": "resolved", "ignore": "ignored"}


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
    return await _settle(request, project_id, failure_id, SETTLED_AS[verb], body)


@router.post("/compensation-failure-webhooks", **answers(WebhookAdded, status_code=201))
async def add_compensation_failure_webhook(
    request: Request, body: WebhookIn, project_id: ProjectId
) -> dict[str, Any]:
    return await store_webhook(runtime_of(request), "compensation_failure", project_id, body.url)


@router.get("/compensation-failure-webhooks", **answers(WebhookList))
async def list_compensation_failure_webhooks(
    request: Request, project_id: ProjectId
) -> dict[str, Any]:
    urls = runtime_of(request).store.compensation_failure_webhooks_of(project_id)
    return {"webhooks": urls, "items": [{"id": webhook_id(u), "url": u} for u in urls]}


@router.delete("/compensation-failure-webhooks/{ref:path}", **answers(WebhookRemoved))
async def delete_compensation_failure_webhook(
    request: Request, ref: str, project_id: ProjectId
) -> dict[str, Any]:
    """Remove a compensation-failure webhook by id (``wh_…``) or by its exact URL."""
    return await remove_webhook(
        runtime_of(request), "compensation_failure", project_id, webhook_ref(request, ref)
    )
