"""``POST /orchestrations`` (plan, validate, accept, run) and reading orchestrations back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from ..engine import TERMINAL, Run, run_from_rows
from ..engine.run import build_steps
from ..errors import BadRequest, NotFound
from ..ids import new_id, now, to_iso
from ..planning import PlanningRequest, SchemaFlowPlanner, validate_plan
from .auth import project_id_from_key
from .models import OrchestrationIn, Status
from .responses import FastJSONResponse
from .runtime import Runtime, runtime_of

router = APIRouter(tags=["orchestrations"])

_planner = SchemaFlowPlanner()
_PLANS_KEPT = 4096
_STATUSES = set(Status.__args__)  # type: ignore[attr-defined]


async def _plan(
    runtime: Runtime,
    project_id: str,
    services: list[dict[str, Any]],
    action: dict[str, Any],
    data: dict[str, Any],
) -> tuple[dict[str, Any] | None, str | None]:
    """A validated plan (as JSON) or the reason there is none."""
    key = (
        project_id,
        runtime.registry.version(project_id),
        action["type"],
        action["content"],
        tuple(data),
    )
    plans = runtime.plan_memo
    if key in plans:
        return plans[key]
    outcome = await _planner.plan(PlanningRequest(action=action, data=data, services=services))
    plan, reason = outcome.plan, outcome.reason
    if plan is not None:
        by_name = {s["name"]: s for s in services}
        errors = validate_plan(plan, by_name, action=action, data=data)
        if errors:
            reason = "the plan is invalid: " + "; ".join(e.message for e in errors)
            plan = None
    answer = (plan.model_dump() if plan is not None else None, reason)
    if len(plans) >= _PLANS_KEPT:
        plans.pop(next(iter(plans)))
    plans[key] = answer
    return answer


def _estimate(runtime: Runtime, plan: dict[str, Any]) -> str:
    """Now + the longest path through the plan, using each service's measured duration."""
    durations = runtime.engine.step_seconds
    default = runtime.settings.default_step_seconds
    finish: dict[str, float] = {}
    by_id = {s["id"]: s for s in plan["steps"]}
    for level in plan["parallelExecutionGroups"]:
        for sid in level:
            step = by_id[sid]
            start = max((finish[d] for d in step["dependencies"] if d in finish), default=0.0)
            finish[sid] = start + durations.get(step["component"], default)
    seconds = max(finish.values(), default=0.0)
    return to_iso(now() + timedelta(seconds=seconds)) or ""


@router.post("/orchestrations", status_code=202)
async def create_orchestration(
    request: Request, body: OrchestrationIn, project_id: str = Depends(project_id_from_key)
) -> FastJSONResponse:
    runtime = runtime_of(request)
    services = runtime.registry.services(project_id)
    action = body.action.model_dump()
    data = [item.model_dump() for item in body.data]
    data_map = {item["field"]: item["value"] for item in data}
    if len(data_map) != len(data):
        raise BadRequest(
            "each data field may appear only once", code="duplicate_data_field", param="data"
        )
    plan_body, reason = await _plan(runtime, project_id, services, action, data_map)
    if plan_body is not None:
        plan_body = {**plan_body, "estimatedCompletionTime": _estimate(runtime, plan_body)}
    webhooks = runtime.webhooks_of(project_id)
    answer: dict[str, Any] = {
        "resultTarget": {"webhook": webhooks[0] if webhooks else None, "webhooks": webhooks},
        "plan": plan_body,
    }
    if body.dryRun:
        answer.update(
            status="PREVIEW", executionId=None, message=reason or "Plan preview: nothing was run."
        )
        return FastJSONResponse(status_code=200, content=answer)

    run = Run(
        id=new_id("o_", 20),
        project_id=project_id,
        action=action,
        data=data,
        plan=plan_body,
        status="PENDING",
        created_at=now(),
        webhooks=webhooks,
    )
    answer["executionId"] = run.id
    if plan_body is None:
        await runtime.engine.record_not_actionable(run, reason or "no plan")
        answer.update(status="NOT_ACTIONABLE", message=reason)
        return FastJSONResponse(status_code=202, content=answer)
    service_ids = {s["name"]: s["id"] for s in services}
    run.steps = build_steps(plan_body, service_ids)
    await runtime.engine.accept(run)
    answer.update(status="ACCEPTED", message="Request accepted. Orchestration plan created.")
    return FastJSONResponse(status_code=202, content=answer)


def _load(runtime: Runtime, project_id: str, orchestration_id: str) -> Run:
    run = runtime.engine.lookup(orchestration_id)
    if run is None:
        row = runtime.store.orchestration(orchestration_id)
        if row is not None:
            run = run_from_rows(row, runtime.store.steps_of(orchestration_id))
    if run is None or run.project_id != project_id:
        raise NotFound(
            f"no orchestration '{orchestration_id}' in this project", code="orchestration_not_found"
        )
    return run


@router.get("/orchestrations/{orchestration_id}")
async def get_orchestration(
    request: Request,
    orchestration_id: str,
    wait: float = Query(default=0, ge=0, le=60, description="seconds to wait for it to end"),
    project_id: str = Depends(project_id_from_key),
) -> dict[str, Any]:
    runtime = runtime_of(request)
    run = _load(runtime, project_id, orchestration_id)
    if wait and run.status not in TERMINAL:
        await runtime.engine.wait(orchestration_id, wait)
        run = _load(runtime, project_id, orchestration_id)
    return run.body()


@router.get("/orchestrations")
async def list_orchestrations(
    request: Request,
    status: str | None = None,
    limit: int = Query(default=50, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
    project_id: str = Depends(project_id_from_key),
) -> dict[str, Any]:
    runtime = runtime_of(request)
    if status is not None:
        status = status.upper()
        if status not in _STATUSES:
            raise BadRequest(
                f"unknown status {status!r}; use one of {', '.join(sorted(_STATUSES))}",
                code="invalid_status",
                param="status",
            )
    await runtime.store.sync()  # the current-state tables lag the events by a few ms
    rows = runtime.store.orchestrations_of(project_id, status=status, limit=limit, offset=offset)
    items = []
    for row in rows:
        live = runtime.engine.runs.get(row["id"])
        items.append(
            {
                "executionId": row["id"],
                "status": live.status if live else row["status"],
                "action": row["action"],
                "createdAt": to_iso(row["created_at"]),
                "startTime": to_iso(row["start_time"]),
                "endTime": to_iso(row["end_time"]),
                "error": row["error"],
            }
        )
    return {"orchestrations": items}
