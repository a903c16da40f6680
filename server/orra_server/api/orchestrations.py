"""``POST /orchestrations`` (a preview with ``dryRun``, else a submission), reading
orchestrations back, and the plan cache."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request

from ..control import listing, lookup, plan_cache
from ..control.listing import DEFAULT_SORT, ListOrchestrations
from ..control.lookup import GetOrchestration
from ..control.plans import OrchestrationRequest
from ..control.preview import preview
from ..control.submit import submit
from .auth import ProjectId
from .models import ERROR_RESPONSES, OrchestrationIn, answers
from .responses import FastJSONResponse
from .routing import OrjsonRoute
from .runtime import runtime_of
from .schemas import (
    Accepted,
    ActivityOut,
    OrchestrationListOut,
    OrchestrationOut,
    PlanCacheCleared,
    PlanInfo,
)

router = APIRouter(tags=["orchestrations"], route_class=OrjsonRoute, responses=ERROR_RESPONSES)


@router.post("/orchestrations", **answers(Accepted, status_code=202, starts_runs=True, or_ok=True))
async def create_orchestration(
    request: Request, body: OrchestrationIn, project_id: ProjectId
) -> FastJSONResponse:
    runtime = runtime_of(request)
    asked = OrchestrationRequest(
        project_id=project_id,
        action=body.action.model_dump(),
        data=[item.model_dump() for item in body.data],
        plan=body.plan,
        options=body.options.model_dump(exclude_none=True) if body.options else None,
        grounding=body.grounding,
        no_cache=body.noCache,
    )
    if body.dryRun:
        previewed = await preview(runtime, asked)
        return FastJSONResponse(status_code=200, content=previewed.answer)
    submitted = await submit(runtime, asked)
    return FastJSONResponse(status_code=202, content=submitted.answer)


@router.get("/orchestrations/{orchestration_id}", response_model=OrchestrationOut)
async def get_orchestration(
    request: Request,
    project_id: ProjectId,
    orchestration_id: str,
    wait: float = Query(default=0, ge=0, le=60, description="seconds to wait for it to end"),
) -> FastJSONResponse:
    command = GetOrchestration(project_id, orchestration_id, wait)
    run = await lookup.get_orchestration(runtime_of(request), command)
    # documented by OrchestrationOut, not re-validated; the data, to re-run or edit it
    return FastJSONResponse({**run.body(), "data": run.data})


@router.get("/orchestrations/{orchestration_id}/plan", **answers(PlanInfo))
async def get_plan(
    request: Request, orchestration_id: str, project_id: ProjectId
) -> dict[str, Any]:
    """The plan, who made it, each repair round's errors and reasoning, and the LLM calls."""
    return await lookup.plan_of(runtime_of(request), project_id, orchestration_id)


@router.delete("/plan-cache", **answers(PlanCacheCleared))
async def clear_plan_cache(request: Request, project_id: ProjectId) -> dict[str, Any]:
    """Forget every cached plan of the project (in memory and on disk): the next action of
    each shape is planned afresh."""
    return {"cleared": await plan_cache.clear_plan_cache(runtime_of(request), project_id)}


@router.get("/orchestrations", response_model=OrchestrationListOut)
async def list_orchestrations(
    request: Request,
    project_id: ProjectId,
    status: str | None = None,
    limit: int = Query(default=50, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=1_000_000_000),
    cursor: str | None = Query(
        default=None, max_length=1000, description="a previous page's nextCursor: the page after it"
    ),
    sort: str = Query(
        default=DEFAULT_SORT,
        max_length=20,
        description="createdAt, status or type; a leading '-' sorts descending",
    ),
    type: str | None = Query(default=None, max_length=200, description="action type, exactly"),
    q: str | None = Query(
        default=None,
        max_length=200,
        description="text in the action's content, its type or the id (any case)",
    ),
    since: datetime | None = Query(default=None, description="created at or after"),
    until: datetime | None = Query(default=None, description="created before"),
) -> FastJSONResponse:
    """One page at a time, newest first unless ``sort`` says otherwise, filtered by status,
    action type, text in the content and creation time. Page with ``cursor`` (each answer's
    ``nextCursor``, null on the last page; keep the filters and sort) or with ``offset``."""
    command = ListOrchestrations(
        project_id,
        status=status,
        limit=limit,
        offset=offset,
        cursor=cursor,
        sort=sort,
        action_type=type,
        text=q,
        since=since,
        until=until,
    )
    page = await listing.list_orchestrations(runtime_of(request), command)
    return FastJSONResponse({"orchestrations": page.items, "nextCursor": page.next_cursor})


@router.get("/activity", response_model=ActivityOut)
async def orchestration_activity(
    request: Request,
    project_id: ProjectId,
    minutes: int = Query(default=60, ge=1, le=1440, description="how far back, in minutes"),
) -> FastJSONResponse:
    """How many runs were created each minute over the last ``minutes``, by their status now
    (minutes without runs are left out)."""
    answer = await listing.activity(runtime_of(request), project_id, minutes)
    return FastJSONResponse(answer)
