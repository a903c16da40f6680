"""Re-run from a step: a finished orchestration forked into a new one linked to it
(``parentId``).

The steps ``from_step`` does not lead to — those "before" it in the DAG — that completed in
the old run are not sent to any service: their recorded outputs are copied. ``from_step`` and
everything after it run anew, with edited inputs where given. Without ``from_step`` every step
runs again. The source must have ended; the plan (recorded or given) must be valid with the
services registered now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from orra_sdk.vocabulary import EventKind, StepStatus, SubmissionStatus

from ..core.errors import BadRequest, Conflict, NotFound
from ..core.ids import now
from ..engine import TERMINAL, Run
from ..engine.fork import forked
from ..engine.run import build_steps, gate_steps
from ..planning import Plan, PlanningRequest, execution_levels
from ..store import StoredService
from .admission import admitted, check_input, check_plan
from .lookup import orchestration
from .plans import pending_run
from .runtime import Runtime

__all__ = ["Rerun", "Rerunning", "rerun"]


@dataclass(frozen=True, slots=True)
class Rerun:
    project_id: str
    orchestration_id: str
    #: run this step and every step after it anew; the others reuse their recorded outputs
    from_step: str | None = None
    #: edited inputs by step id (each checked against its service's input schema)
    input: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: run this plan instead of the recorded one (validated like any plan)
    plan: Plan | None = None


@dataclass(frozen=True, slots=True)
class Rerunning:
    execution_id: str
    #: the answer: the new run's id, its parent, the steps that reuse their output, the plan
    answer: dict[str, Any]


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


async def rerun(runtime: Runtime, command: Rerun) -> Rerunning:
    project_id, orchestration_id = command.project_id, command.orchestration_id
    source = orchestration(runtime, project_id, orchestration_id)
    if source.status not in TERMINAL:
        raise Conflict(
            f"orchestration '{orchestration_id}' is {source.status}; re-run it once it has ended",
            code="orchestration_not_finished",
        )
    plan = command.plan or _recorded_plan(source)
    if plan is None:
        raise Conflict(
            f"orchestration '{orchestration_id}' has no plan to re-run ({source.status}); post "
            "its action again instead",
            code="no_plan",
        )
    plan = plan.model_copy(update={"parallelExecutionGroups": execution_levels(plan.steps)})
    ids = [s.id for s in plan.steps]
    if command.from_step is not None and command.from_step not in ids:
        raise NotFound(
            f"the plan has no step '{command.from_step}' (its steps: {', '.join(ids)})",
            code="step_not_found",
        )
    services = runtime.registry.services(project_id)
    data = {item["field"]: item.get("value") for item in source.data}
    edited = command.input
    errors = await check_plan(
        plan,
        PlanningRequest(action=source.action, data=data, services=services),
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
    anew = _downstream(plan, command.from_step) if command.from_step else set(ids)
    recorded = {s.id: s for s in source.steps.values() if s.status == StepStatus.COMPLETED}
    reused = [i for i in ids if i not in anew and i in recorded]
    for step_id, new_input in edited.items():
        await _check_edit(plan, step_id, new_input, reused, services)
    if orchestration(runtime, project_id, orchestration_id).status not in TERMINAL:
        raise Conflict(  # cannot happen today (ended runs stay ended); kept for the checks above
            f"orchestration '{orchestration_id}' changed while the re-run was checked; try again",
            code="orchestration_not_finished",
        )

    service_ids = {s.name: s.id for s in services}
    plan_body = plan.model_dump()
    for spec in plan_body["steps"]:
        if spec["id"] in edited:
            spec["input"] = edited[spec["id"]]  # literals now: what the caller asked for
    provenance = {"source": "rerun", "parentId": source.id, "fromStep": command.from_step}
    webhooks = runtime.webhooks_of(project_id)
    asked = (source.action, source.data)
    run = pending_run(
        project_id, asked, plan_body, webhooks, provenance, source.options, parent_id=source.id
    )
    run.steps = build_steps(plan_body, service_ids)
    gate_steps(run.steps, plan_body, run.options, {s.id: s for s in services})
    events = forked(run, source, command.from_step, reused, recorded, now())
    with admitted(runtime.engine, run):
        await runtime.engine.accept(run, events)
    answer = {
        "status": SubmissionStatus.ACCEPTED,
        "executionId": run.id,
        "parentId": source.id,
        "reused": reused,
        "message": f"Re-running {source.id}"
        + (f" from {command.from_step}" if command.from_step else "")
        + (f"; {len(reused)} step(s) reuse their recorded output" if reused else ""),
        "resultTarget": {
            "webhook": run.webhooks[0] if run.webhooks else None,
            "webhooks": run.webhooks,
        },
        "plan": plan_body,
        "planSource": "rerun",
        "cache": None,
    }
    return Rerunning(run.id, answer)


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
            code=EventKind.STEP_REUSED,
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
