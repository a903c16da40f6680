"""Re-running a finished orchestration from one of its steps (a fork).

``POST /orchestrations/{id}/rerun {fromStep?, input?, plan?}`` makes a new orchestration linked
to the old one (``parentId``). The steps ``fromStep`` does not lead to — those "before" it in
the DAG — that completed in the old run are not sent to any service: their recorded outputs are
copied. ``fromStep`` and everything after it run anew, with edited inputs where given. Without
``fromStep`` every step runs again.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError

from ..core.errors import BadRequest, Conflict, NotFound
from ..core.ids import new_id, now
from ..core.statuses import OrchestrationStatus, StepStatus
from ..engine import TERMINAL, Run
from ..engine.run import build_steps, gate_steps
from ..planning import Plan, PlanningRequest, execution_levels
from ..store import Change, StoredService
from .admission import admitted, check_input, check_plan
from .auth import ProjectId
from .models import ERROR_RESPONSES, TOO_MANY_RESPONSES, RerunIn, answers
from .responses import FastJSONResponse
from .routing import OrjsonRoute
from .runtime import runtime_of
from .schemas import Accepted

router = APIRouter(tags=["orchestrations"], route_class=OrjsonRoute, responses=ERROR_RESPONSES)


def _downstream(plan: Plan, start: str) -> set[str]:
    """``start`` and every step that depends on it, directly or not."""
    dependents: dict[str, list[str]] = {s.id: [] for s in plan.steps}
    for step in plan.steps:
        for dependency in step.dependencies:
            dependents.setdefault(dependency, []).append(step.id)
    found, todo = set(), [start]
    while todo:
        step_id = todo.pop()
        if step_id not in found:
            found.add(step_id)
            todo += dependents.get(step_id, [])
    return found


_ANSWERS = answers(Accepted, status_code=202, conflicts=True)
_ANSWERS["responses"].update(TOO_MANY_RESPONSES)


@router.post("/orchestrations/{orchestration_id}/rerun", **_ANSWERS)
async def rerun_orchestration(
    request: Request, project_id: ProjectId, orchestration_id: str, body: RerunIn | None = None
) -> FastJSONResponse:
    runtime = runtime_of(request)
    body = body or RerunIn()
    source = runtime.orchestration(project_id, orchestration_id)
    if source.status not in TERMINAL:
        raise Conflict(
            f"orchestration '{orchestration_id}' is {source.status}; re-run it once it has ended",
            code="orchestration_not_finished",
        )
    plan = body.plan or _recorded_plan(source)
    if plan is None:
        raise Conflict(
            f"orchestration '{orchestration_id}' has no plan to re-run ({source.status}); post "
            "its action again instead",
            code="no_plan",
        )
    plan = plan.model_copy(update={"parallelExecutionGroups": execution_levels(plan.steps)})
    ids = [s.id for s in plan.steps]
    if body.fromStep is not None and body.fromStep not in ids:
        raise NotFound(
            f"the plan has no step '{body.fromStep}' (its steps: {', '.join(ids)})",
            code="step_not_found",
        )
    services = runtime.registry.services(project_id)
    data = {item["field"]: item.get("value") for item in source.data}
    edited = body.input or {}
    errors = await check_plan(
        plan,
        PlanningRequest(
            action=source.action, data=data, services=[s.as_mapping() for s in services]
        ),
        extra_inputs=edited,
    )
    if errors:
        raise BadRequest(
            "the plan to re-run is not valid with the services registered now: "
            + "; ".join(e.message for e in errors[:3]),
            code="invalid_plan",
            param="plan",
            details=[e.as_dict() for e in errors],
        )
    anew = _downstream(plan, body.fromStep) if body.fromStep else set(ids)
    recorded = {s.id: s for s in source.steps.values() if s.status == StepStatus.COMPLETED}
    reused = [i for i in ids if i not in anew and i in recorded]
    for step_id, new_input in edited.items():
        await _check_edit(plan, step_id, new_input, reused, services)
    if runtime.orchestration(project_id, orchestration_id).status not in TERMINAL:
        raise Conflict(  # cannot happen today (ended runs stay ended); kept for the checks above
            f"orchestration '{orchestration_id}' changed while the re-run was checked; try again",
            code="orchestration_not_finished",
        )

    service_ids = {s.name: s.id for s in services}
    plan_body = plan.model_dump()
    for spec in plan_body["steps"]:
        if spec["id"] in edited:
            spec["input"] = edited[spec["id"]]  # literals now: what the caller asked for
    run = Run(
        id=new_id("o_", 20),
        project_id=project_id,
        action=source.action,
        data=source.data,
        plan=plan_body,
        status=OrchestrationStatus.PENDING,
        created_at=now(),
        webhooks=runtime.webhooks_of(project_id),
        provenance={"source": "rerun", "parentId": source.id, "fromStep": body.fromStep},
        options=source.options,
        parent_id=source.id,
    )
    run.steps = build_steps(plan_body, service_ids)
    gate_steps(run.steps, plan_body, run.options, {s.id: s for s in services})
    at = now()
    events = [
        Change(
            run.id,
            "rerun_of",
            at,
            {"parentId": source.id, "fromStep": body.fromStep, "reused": reused},
        )
    ]
    for step_id in reused:
        step, old = run.steps[step_id], recorded[step_id]
        step.status = StepStatus.COMPLETED
        step.input, step.output = old.input, old.output
        step.start_time = step.end_time = at
        step.approval = None  # decided in the run it comes from
        events.append(
            Change(run.id, "step_reused", at, {"from": source.id, "output": old.output}, step_id)
        )
    with admitted(runtime.engine, run):
        await runtime.engine.accept(run, events)
    answer = {
        "status": "ACCEPTED",
        "executionId": run.id,
        "parentId": source.id,
        "reused": reused,
        "message": f"Re-running {source.id}"
        + (f" from {body.fromStep}" if body.fromStep else "")
        + (f"; {len(reused)} step(s) reuse their recorded output" if reused else ""),
        "resultTarget": {
            "webhook": run.webhooks[0] if run.webhooks else None,
            "webhooks": run.webhooks,
        },
        "plan": plan_body,
        "planSource": "rerun",
        "cache": None,
    }
    return FastJSONResponse(status_code=202, content=answer)


def _recorded_plan(source: Run) -> Plan | None:
    """The plan ``source`` ran, or a 409 when it does not parse under today's rules (a run
    recorded by an older version may hold step ids outside today's grammar)."""
    if not source.plan:
        return None
    try:
        return Plan.model_validate(source.plan)
    except ValidationError as exc:
        raise Conflict(
            f"the recorded plan of '{source.id}' cannot be re-run as it is "
            f"({exc.error_count()} problem(s), e.g. {exc.errors()[0]['msg']}); post an edited "
            "plan as 'plan'",
            code="invalid_recorded_plan",
        ) from None


async def _check_edit(
    plan: Plan,
    step_id: str,
    new_input: dict[str, Any],
    reused: list[str],
    services: list[StoredService],
) -> None:
    step = plan.by_id().get(step_id)
    if step is None:
        raise NotFound(f"the plan has no step '{step_id}' to edit", code="step_not_found")
    if step_id in reused:
        raise BadRequest(
            f"{step_id} reuses its recorded output in this re-run; re-run from {step_id} (or "
            "a step before it) to change its input",
            code="step_reused",
            param=f"input.{step_id}",
        )
    service = next((s for s in services if s.name == step.component), None)
    await check_input(
        new_input,
        (service.input_schema if service else None) or {},
        step_id=step_id,
        component=step.component,
        param=f"input.{step_id}",
    )
