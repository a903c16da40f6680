"""Re-planning: a plan of the remainder of a run whose step failed for good.

The engine decides *when* (a step failed for good, nothing else is running, re-planning is on
and under ``maxReplans``); this decides *what*: it asks the same planning pipeline (LLM or
schema-flow, the same validator) for a plan of the rest, with the completed outputs as facts
and without the failed or offline services, and turns the answer into steps the engine can
run. See docs/adaptation.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orra_sdk.vocabulary import StepStatus

from ..core.jsonschemas import properties_of
from ..planning import PlanMaker, PlanningRequest
from ..planning.plan import PlanStep
from ..planning.remainder import facts_of, merge_remainder
from ..services.connections import ServiceHub
from ..services.registry import ServiceRegistry
from ..store import StoredService
from .run import Run, StepState, gate_steps

__all__ = ["RemainderPlan", "Replanner", "failed_services"]


@dataclass(slots=True)
class RemainderPlan:
    """The run's new plan, its new steps, and what the revision event records about it."""

    plan: dict[str, Any]
    added: dict[str, StepState]
    revision: dict[str, Any]


@dataclass
class Replanner:
    registry: ServiceRegistry
    hub: ServiceHub
    planning: PlanMaker
    #: a service offline longer than this is not offered (seconds; a run's option wins)
    offline_grace: float = 30.0

    async def __call__(self, run: Run, excluded: set[str]) -> RemainderPlan | str:
        """A plan of what is left, or why there is none.

        Every service that has failed a step of this run is left out, in earlier plans too
        (``run.replaced``): leaving out only the latest one let two failing services take
        turns while a third that could do the work was never tried."""
        services = self.registry.services(run.project_id)
        grace = (run.options or {}).get("offlineGraceSeconds", self.offline_grace)
        offline = {s.id for s in services if self.hub.offline_for(s.id) > float(grace)}
        failed = excluded | failed_services(run)
        left_out = failed | offline
        offered = [s for s in services if s.id not in left_out]
        if not offered:
            return "every other service is offline"
        completed = [s for s in run.steps.values() if s.status == StepStatus.COMPLETED]
        data = run.request["data"]
        facts = facts_of([(s.id, s.output) for s in completed], data)
        request = PlanningRequest(
            action=run.action,
            data={**data, **facts.values},
            services=offered,
            goal=self._goal(run, services),
        )
        fingerprint = f"remainder:{self.registry.fingerprint(run.project_id)}:{sorted(left_out)}"
        made = await self.planning.make(request, project_id=run.project_id, fingerprint=fingerprint)
        if made.plan is None or made.errors:
            problems = "; ".join(e.message for e in made.errors[:3])
            return made.reason or problems or "the planner found no plan of the remainder"
        goal = set(request.goal)
        produced = {
            field
            for step in made.plan.steps
            for service in offered
            if service.name == step.component
            for field in properties_of(service.output_schema)
        }
        if goal and not goal <= produced:
            missing = ", ".join(sorted(goal - produced))
            names = {s.id: s.name for s in services}
            tried = ", ".join(sorted(names.get(i, i) for i in failed))
            return (
                f"no online service left produces {missing} (what the failed step was to "
                "deliver)" + (f"; tried and failed: {tried}" if tried else "")
            )
        by_id = {step["id"]: step for step in (run.plan or {}).get("steps", [])}
        kept = [PlanStep.model_validate(by_id[s.id]) for s in completed if s.id in by_id]
        used = [*run.steps, *run.replaced]
        merged = merge_remainder(kept, made.plan, facts, used)
        errors = PlanMaker.check(
            merged.plan,
            PlanningRequest(action=run.action, data=data, services=services),
        )
        if errors:
            return "the plan of the remainder is not valid: " + "; ".join(
                e.message for e in errors[:3]
            )
        plan_body = merged.plan.model_dump()
        service_ids = {s.name: s.id for s in services}
        added = {
            s.id: StepState(
                id=s.id,
                component=s.component,
                service_id=service_ids.get(s.component),
                template=s.input,
                dependencies=list(s.dependencies),
            )
            for s in merged.plan.steps
            if s.id in merged.added
        }  # their dependents and what they wait for are counted when the revision applies
        gate_steps(added, plan_body, run.options, {s.id: s for s in services})
        names = {s.id: s.name for s in services}
        revision = {
            "excluded": sorted(names.get(i, i) for i in left_out),
            "source": made.provenance.get("source"),
            "provenance": made.provenance,
        }
        return RemainderPlan(plan_body, added, revision)

    @staticmethod
    def _goal(run: Run, services: list[StoredService]) -> tuple[str, ...]:
        """The output fields of the old plan's unfinished ends: what the remainder must make."""
        by_id = {s.id: s for s in services}
        fields: list[str] = []
        for step in run.steps.values():
            if step.dependents or step.status == StepStatus.COMPLETED:
                continue
            service = by_id.get(step.service_id or "")
            if service is not None:
                fields += [f for f in properties_of(service.output_schema) if f not in fields]
        return tuple(fields)


def failed_services(run: Run) -> set[str]:
    """The services of every step of ``run`` that failed, in its current plan or an earlier one."""
    steps = [*run.steps.values(), *run.replaced.values()]
    return {s.service_id for s in steps if s.status == StepStatus.FAILED and s.service_id}
