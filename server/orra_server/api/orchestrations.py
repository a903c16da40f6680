"""``POST /orchestrations`` (plan, validate, accept, run) and reading orchestrations back."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query, Request

from ..core.errors import BadRequest
from ..core.ids import new_id, now, to_iso
from ..core.statuses import OrchestrationStatus
from ..engine import TERMINAL, Run
from ..engine.run import build_steps, gate_steps
from ..planning import (
    GroundingMatch,
    GroundingSpec,
    PlanningRequest,
    PlanResult,
    execution_levels,
    match_use_case,
)
from ..store import DEFAULT_SORT, Change, Cursor, InvalidCursor, StoredService, parse_sort
from .admission import admitted, check_plan, room_for_one_more
from .auth import ProjectId
from .export import time_or_400
from .models import (
    ERROR_RESPONSES,
    TOO_MANY_RESPONSES,
    OrchestrationIn,
    answers,
    documented,
)
from .responses import FastJSONResponse
from .routing import OrjsonRoute
from .runtime import Runtime, runtime_of
from .schemas import Accepted, OrchestrationListOut, OrchestrationOut, PlanCacheCleared, PlanInfo

router = APIRouter(tags=["orchestrations"], route_class=OrjsonRoute, responses=ERROR_RESPONSES)

_STATUSES = {s.value for s in OrchestrationStatus}
#: ``grounding`` in a request that asks to plan without any grounding spec
NO_GROUNDING = "none"


async def _make_plan(
    runtime: Runtime, project_id: str, body: OrchestrationIn, request: PlanningRequest
) -> PlanResult:
    """The planners' plan, or the caller's (checked by the same validator)."""
    if body.plan is None:
        return await runtime.planning.make(
            request,
            project_id=project_id,
            fingerprint=runtime.registry.fingerprint(project_id),
            use_cache=not body.noCache,
        )
    plan = body.plan.model_copy(
        update={"parallelExecutionGroups": execution_levels(body.plan.steps)}
    )
    errors = await check_plan(plan, request)
    provenance: dict[str, Any] = {"source": "caller", "planner": "caller", "cache": "skip"}
    if request.grounding is not None:
        provenance["grounding"] = request.grounding.as_dict()
    reason = "the plan is invalid: " + "; ".join(e.message for e in errors) if errors else None
    return PlanResult(plan, reason, provenance, errors=errors)


def _warnings(runtime: Runtime, plan: dict[str, Any] | None, services: list[StoredService]):
    """Things that will not stop the plan but that the caller should know before running it."""
    if plan is None:
        return []
    ids = {s.name: s.id for s in services}
    offline = sorted(
        {
            s["component"]
            for s in plan["steps"]
            if s["component"] in ids and not runtime.hub.is_online(ids[s["component"]])
        }
    )
    grace = runtime.settings.offline_grace_seconds
    return [
        f"'{name}' has no connected instance: its steps will wait up to {grace:g} s for one"
        for name in offline
    ]


def _planning_events(orchestration_id: str | None, result: PlanResult) -> list[Change]:
    """``llm_call`` per chat-completions attempt, the cache outcome, and ``plan_made``."""
    at = now()
    events = [Change(orchestration_id, "llm_call", at, call) for call in result.llm_calls]
    if result.cache in ("hit", "miss"):
        events.append(Change(orchestration_id, f"plan_cache_{result.cache}", at))
    events.append(
        Change(
            orchestration_id,
            "plan_made" if result.plan is not None and not result.errors else "plan_failed",
            at,
            {
                "provenance": result.provenance,
                "errors": [e.as_dict() for e in result.errors],
                "reason": result.reason,
            },
        )
    )
    return events


def _estimate(runtime: Runtime, plan: dict[str, Any], service_ids: dict[str, str]) -> str:
    """Now + the critical path through the plan, from each service's measured step duration.

    A service never measured counts ``default_step_seconds``.
    """
    durations = runtime.engine.step_seconds
    default = runtime.settings.default_step_seconds
    finish: dict[str, float] = {}
    by_id = {s["id"]: s for s in plan["steps"]}
    for level in plan["parallelExecutionGroups"]:
        for sid in level:
            step = by_id[sid]
            start = max((finish[d] for d in step["dependencies"] if d in finish), default=0.0)
            took = durations.get(service_ids.get(step["component"]), default)
            finish[sid] = start + took
    seconds = max(finish.values(), default=0.0)
    return to_iso(now() + timedelta(seconds=seconds)) or ""


@router.post(
    "/orchestrations",
    status_code=202,
    responses={**TOO_MANY_RESPONSES, 202: documented(Accepted), 200: documented(Accepted)},
    response_model=None,
)
async def create_orchestration(
    request: Request, body: OrchestrationIn, project_id: ProjectId
) -> FastJSONResponse:
    runtime = runtime_of(request)
    if not body.dryRun:
        room_for_one_more(runtime.engine, project_id)  # before planning costs anything
    services = runtime.registry.services(project_id)
    action = body.action.model_dump()
    data = [item.model_dump() for item in body.data]
    data_map = {item["field"]: item["value"] for item in data}
    if len(data_map) != len(data):
        seen: set[str] = set()
        twice = sorted({i["field"] for i in data if i["field"] in seen or seen.add(i["field"])})
        raise BadRequest(
            f"each data field may appear only once; {', '.join(repr(f) for f in twice)} "
            "appear more than once",
            code="duplicate_data_field",
            param="data",
            details={"fields": twice},
        )
    service_ids = {s.name: s.id for s in services}
    specs = await runtime.load_groundings(project_id)
    grounding = _grounding_for(specs, body.grounding, action)
    described = [s.as_mapping() for s in services]
    planning = PlanningRequest(
        action=action, data=data_map, services=described, grounding=grounding
    )
    result = await _make_plan(runtime, project_id, body, planning)
    if result.errors and body.plan is not None and not body.dryRun:
        raise BadRequest(
            f"{result.reason}. Fix the plan (preview it with dryRun to see every error) or leave "
            "out 'plan' to let the planner make one",
            code="invalid_plan",
            param="plan",
            details=[e.as_dict() for e in result.errors],
        )
    plan_body = result.plan.model_dump() if result.plan is not None else None
    if plan_body is not None:
        plan_body["estimatedCompletionTime"] = _estimate(runtime, plan_body, service_ids)
    webhooks = runtime.webhooks_of(project_id)
    answer: dict[str, Any] = {
        "resultTarget": {"webhook": webhooks[0] if webhooks else None, "webhooks": webhooks},
        "plan": plan_body,
        "planSource": result.provenance.get("source"),
        "cache": result.cache,
    }
    if grounding is not None:
        answer["grounding"] = {"spec": grounding.spec, "useCase": grounding.use_case.action}
    if body.dryRun:
        # no plan at all: the same NOT_ACTIONABLE (and reason) a real POST would answer
        unplanned = plan_body is None and body.plan is None
        answer.update(
            status=OrchestrationStatus.NOT_ACTIONABLE if unplanned else "PREVIEW",
            executionId=None,
            message=result.reason or "Plan preview: nothing was run.",
            validation={
                "valid": result.plan is not None and not result.errors,
                "errors": [e.as_dict() for e in result.errors],
                "warnings": _warnings(runtime, plan_body, services),
            },
            provenance=result.provenance,
        )
        if result.llm_calls:
            runtime.store.record_lazy(_planning_events(None, result))
        return FastJSONResponse(status_code=200, content=answer)

    run = Run(
        id=new_id("o_", 20),
        project_id=project_id,
        action=action,
        data=data,
        plan=plan_body,
        status=OrchestrationStatus.PENDING,
        created_at=now(),
        webhooks=webhooks,
        provenance=result.provenance,
        options=body.options.model_dump(exclude_none=True) if body.options else None,
    )
    answer["executionId"] = run.id
    events = _planning_events(run.id, result)
    if plan_body is None:
        reason = result.reason or "no plan"
        await runtime.engine.record_not_actionable(run, reason, events)
        answer.update(status=OrchestrationStatus.NOT_ACTIONABLE, message=reason)
        return FastJSONResponse(status_code=202, content=answer)
    run.steps = build_steps(plan_body, service_ids)
    _check_approve_option(run)
    gate_steps(run.steps, plan_body, run.options, {s.id: s for s in services})
    with admitted(runtime.engine, run):
        await runtime.engine.accept(run, events)
    answer.update(status="ACCEPTED", message="Request accepted. Orchestration plan created.")
    return FastJSONResponse(status_code=202, content=answer)


@router.get("/orchestrations/{orchestration_id}", response_model=OrchestrationOut)
async def get_orchestration(
    request: Request,
    project_id: ProjectId,
    orchestration_id: str,
    wait: float = Query(default=0, ge=0, le=60, description="seconds to wait for it to end"),
) -> FastJSONResponse:
    runtime = runtime_of(request)
    run = runtime.orchestration(project_id, orchestration_id, encoded=True)
    if wait and run.status not in TERMINAL:
        await runtime.engine.wait(orchestration_id, wait)
        run = runtime.orchestration(project_id, orchestration_id, encoded=True)
    # documented by OrchestrationOut, not re-validated; the data, to re-run or edit it
    return FastJSONResponse({**run.body(), "data": run.data})


@router.get("/orchestrations/{orchestration_id}/plan", **answers(PlanInfo))
async def get_plan(
    request: Request, orchestration_id: str, project_id: ProjectId
) -> dict[str, Any]:
    """The plan, who made it, each repair round's errors and reasoning, and the LLM calls."""
    runtime = runtime_of(request)
    run = runtime.orchestration(project_id, orchestration_id)
    provenance = run.provenance
    calls: list[dict[str, Any]] = []
    cache: str | None = None
    for event in await asyncio.to_thread(runtime.store.events_of, orchestration_id):
        kind = event.type
        if kind == "llm_call":
            calls.append(event.payload)
        elif kind.startswith("plan_cache_"):
            cache = kind.removeprefix("plan_cache_")
        elif kind in ("plan_made", "plan_failed") and provenance is None:
            provenance = event.payload["provenance"]
    provenance = provenance or {}
    return {
        "executionId": run.id,
        "status": run.status,
        "plan": run.plan,
        "source": provenance.get("source"),
        "model": provenance.get("model"),
        "repairRounds": provenance.get("repairRounds", 0),
        "cache": cache or provenance.get("cache"),
        "provenance": provenance,
        "llmCalls": calls,
        "error": run.error if run.status == OrchestrationStatus.NOT_ACTIONABLE else None,
    }


def _check_approve_option(run: Run) -> None:
    approve = (run.options or {}).get("approve")
    if isinstance(approve, list):
        unknown = [step for step in approve if step not in run.steps]
        if unknown:
            raise BadRequest(
                f"options.approve names {', '.join(map(repr, unknown))}, which the plan does not "
                f"have (its steps: {', '.join(run.steps)}); preview the plan (dryRun) to see them",
                code="unknown_step",
                param="options.approve",
            )


def _grounding_for(
    specs: list[GroundingSpec], chosen: str | None, action: dict[str, Any]
) -> GroundingMatch | None:
    """The use case to plan with: the best match of all specs, of the one chosen, or none."""
    if chosen == NO_GROUNDING:
        return None
    if chosen is not None:
        picked = [spec for spec in specs if spec.name == chosen]
        if not picked:
            known = ", ".join(sorted(spec.name for spec in specs)) or "none yet"
            raise BadRequest(
                f"no grounding spec named {chosen!r} in this project (specs: {known}); "
                f"leave 'grounding' out to match every spec, or use {NO_GROUNDING!r}",
                code="unknown_grounding",
                param="grounding",
            )
        return match_use_case(picked, action["type"], action["content"], threshold=0.0)
    return match_use_case(specs, action["type"], action["content"]) if specs else None


@router.delete("/plan-cache", **answers(PlanCacheCleared))
async def clear_plan_cache(request: Request, project_id: ProjectId) -> dict[str, Any]:
    """Forget every cached plan of the project (in memory and on disk): the next action of
    each shape is planned afresh."""
    runtime = runtime_of(request)
    in_memory = runtime.planning.cache.forget_project(project_id)
    stored = await runtime.store.clear_plan_cache(project_id)
    return {"cleared": max(in_memory, stored)}


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
        default=None, max_length=200, description="text in the action's content (any case)"
    ),
    since: datetime | None = Query(default=None, description="created at or after"),
    until: datetime | None = Query(default=None, description="created before"),
) -> FastJSONResponse:
    """One page at a time, newest first unless ``sort`` says otherwise, filtered by status,
    action type, text in the content and creation time. Page with ``cursor`` (each answer's
    ``nextCursor``, null on the last page; keep the filters and sort) or with ``offset``."""
    runtime = runtime_of(request)
    if status is not None:
        status = status.upper()
        if status not in _STATUSES:
            raise BadRequest(
                f"unknown status {status!r}; use one of {', '.join(sorted(_STATUSES))}",
                code="invalid_status",
                param="status",
            )
    after = _cursor_or_400(cursor, sort, offset)
    await runtime.store.sync()  # the current-state tables lag the events by a few ms
    rows = runtime.store.orchestrations_of(
        project_id,
        status=status,
        action_type=type or None,
        text=q or None,
        since=time_or_400(since, "since"),
        until=time_or_400(until, "until"),
        sort=sort,
        after=after,
        limit=limit + 1,
        offset=offset,
    )
    more, rows = len(rows) > limit, rows[:limit]
    items = []
    for row in rows:
        live = runtime.engine.runs.get(row.id)
        items.append(
            {
                "executionId": row.id,
                "status": live.status if live else row.status,
                "action": row.action,
                "createdAt": to_iso(row.created_at),
                "startTime": to_iso(row.start_time),
                "endTime": to_iso(row.end_time),
                "error": row.error,
            }
        )
    next_cursor = Cursor.after(sort, rows[-1]).encode() if more else None
    return FastJSONResponse({"orchestrations": items, "nextCursor": next_cursor})


def _cursor_or_400(cursor: str | None, sort: str, offset: int) -> Cursor | None:
    try:
        parse_sort(sort)
    except ValueError as exc:
        raise BadRequest(str(exc), code="invalid_sort", param="sort") from None
    if cursor is None:
        return None
    if offset:
        raise BadRequest(
            "give either 'cursor' or 'offset', not both", code="invalid_cursor", param="cursor"
        )
    try:
        return Cursor.decode(cursor, sort)
    except InvalidCursor as exc:
        raise BadRequest(
            f"{exc}; pass the nextCursor of the previous page unchanged, with the same sort",
            code="invalid_cursor",
            param="cursor",
        ) from None
