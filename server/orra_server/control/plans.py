"""The plan a request asks for, made once for a preview and a submission alike: the data
checked, the grounding chosen, the planners' plan or the caller's (judged by the same
validator), its estimated end, and the planning events to record with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from orra_sdk.vocabulary import EventKind, OrchestrationStatus

from ..core.errors import BadRequest
from ..core.ids import new_id, now, to_iso
from ..engine import Run
from ..planning import (
    GroundingMatch,
    GroundingSpec,
    Plan,
    PlanningRequest,
    PlanResult,
    execution_levels,
    match_use_case,
)
from ..store import Change, StoredService
from .admission import check_plan
from .runtime import Runtime

__all__ = [
    "NO_GROUNDING",
    "OrchestrationRequest",
    "Planned",
    "pending_run",
    "plan_request",
    "planning_events",
]

#: the planning pipeline's cache outcome → its event
_CACHE_EVENTS = {"hit": EventKind.PLAN_CACHE_HIT, "miss": EventKind.PLAN_CACHE_MISS}
#: ``grounding`` in a request that asks to plan without any grounding spec
NO_GROUNDING = "none"


@dataclass(frozen=True, slots=True)
class OrchestrationRequest:
    """What a caller asks for: an action over data, planned (or with its own plan)."""

    project_id: str
    action: dict[str, Any]
    #: ``[{"field": …, "value": …}]`` in the caller's order
    data: list[dict[str, Any]]
    #: the caller's plan (an edited preview's, say): validated, then run as given
    plan: Plan | None = None
    #: timeout, retry, approval and re-planning overrides (a submission only)
    options: dict[str, Any] | None = None
    #: a grounding spec's name, :data:`NO_GROUNDING`, or None for the best match of all
    grounding: str | None = None
    #: plan afresh instead of reusing a cached plan
    no_cache: bool = False


@dataclass(slots=True)
class Planned:
    """A request's plan and what was learnt making it."""

    result: PlanResult
    #: the plan as JSON with its estimated completion time; None when there is no plan
    plan: dict[str, Any] | None
    services: list[StoredService]
    service_ids: dict[str, str]
    grounding: GroundingMatch | None
    webhooks: list[str]

    def answer(self) -> dict[str, Any]:
        """What a preview and a submission both answer."""
        answer: dict[str, Any] = {
            "resultTarget": {
                "webhook": self.webhooks[0] if self.webhooks else None,
                "webhooks": self.webhooks,
            },
            "plan": self.plan,
            "planSource": self.result.provenance.get("source"),
            "cache": self.result.cache,
        }
        if self.grounding is not None:
            answer["grounding"] = {
                "spec": self.grounding.spec,
                "useCase": self.grounding.use_case.action,
            }
        return answer


async def plan_request(runtime: Runtime, request: OrchestrationRequest, *, run: bool) -> Planned:
    """Plan ``request``; ``run``: it is to run, so a caller's invalid plan is a 400 here."""
    project_id = request.project_id
    services = runtime.registry.services(project_id)
    data_map = _data_map(request.data)
    service_ids = {s.name: s.id for s in services}
    specs = await runtime.load_groundings(project_id)
    grounding = _grounding_for(specs, request.grounding, request.action)
    planning = PlanningRequest(
        action=request.action, data=data_map, services=services, grounding=grounding
    )
    result = await _make_plan(runtime, request, planning)
    if result.errors and request.plan is not None and run:
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
    return Planned(result, plan_body, services, service_ids, grounding, webhooks)


def pending_run(
    project_id: str,
    request: tuple[dict[str, Any], list[dict[str, Any]]],
    plan: dict[str, Any] | None,
    webhooks: list[str],
    provenance: dict[str, Any],
    options: dict[str, Any] | None,
    parent_id: str | None = None,
) -> Run:
    """A run about to be accepted (a submission or a re-run): a fresh id, PENDING, created
    now; ``request`` is its (action, data)."""
    action, data = request
    return Run(
        id=new_id("o_", 20),
        project_id=project_id,
        action=action,
        data=data,
        plan=plan,
        status=OrchestrationStatus.PENDING,
        created_at=now(),
        webhooks=webhooks,
        provenance=provenance,
        options=options,
        parent_id=parent_id,
    )


def _data_map(data: list[dict[str, Any]]) -> dict[str, Any]:
    """field → value; a 400 when a field appears twice."""
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
    return data_map


async def _make_plan(
    runtime: Runtime, request: OrchestrationRequest, planning: PlanningRequest
) -> PlanResult:
    """The planners' plan, or the caller's (checked by the same validator)."""
    if request.plan is None:
        return await runtime.planning.make(
            planning,
            project_id=request.project_id,
            fingerprint=runtime.registry.fingerprint(request.project_id),
            use_cache=not request.no_cache,
        )
    plan = request.plan.model_copy(
        update={"parallelExecutionGroups": execution_levels(request.plan.steps)}
    )
    errors = await check_plan(plan, planning)
    provenance: dict[str, Any] = {"source": "caller", "planner": "caller", "cache": "skip"}
    if planning.grounding is not None:
        provenance["grounding"] = planning.grounding.as_dict()
    reason = "the plan is invalid: " + "; ".join(e.message for e in errors) if errors else None
    return PlanResult(plan, reason, provenance, errors=errors)


def planning_events(orchestration_id: str | None, result: PlanResult) -> list[Change]:
    """``llm_call`` per chat-completions attempt, the cache outcome, and ``plan_made``."""
    at = now()
    events = [Change(orchestration_id, EventKind.LLM_CALL, at, call) for call in result.llm_calls]
    if result.cache in _CACHE_EVENTS:
        events.append(Change(orchestration_id, _CACHE_EVENTS[result.cache], at))
    events.append(
        Change(
            orchestration_id,
            EventKind.PLAN_MADE
            if result.plan is not None and not result.errors
            else EventKind.PLAN_FAILED,
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
