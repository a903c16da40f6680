"""Submit: plan an action (or take the caller's plan, a previewed one say) and start it.

The order is the contract: the project's bound on unfinished runs is checked before planning
costs anything, room is held while the run is accepted, and the answer goes out once the
acceptance has committed (the engine's ``accept``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orra_sdk.vocabulary import OrchestrationStatus, SubmissionStatus

from ..core.errors import BadRequest
from ..engine import Run
from ..engine.run import build_steps, gate_steps
from .admission import admitted, room_for_one_more
from .plans import OrchestrationRequest, pending_run, plan_request, planning_events
from .runtime import Runtime

__all__ = ["Submitted", "submit"]


@dataclass(frozen=True, slots=True)
class Submitted:
    execution_id: str
    #: ACCEPTED, or NOT_ACTIONABLE when no plan could be made (recorded all the same)
    status: str
    #: the answer: execution id, plan, where the result goes, a message
    answer: dict[str, Any]


async def submit(runtime: Runtime, request: OrchestrationRequest) -> Submitted:
    project_id = request.project_id
    room_for_one_more(runtime.engine, project_id)  # before planning costs anything
    planned = await plan_request(runtime, request, run=True)
    result, plan_body = planned.result, planned.plan
    answer = planned.answer()
    asked = (request.action, request.data)
    run = pending_run(
        project_id, asked, plan_body, planned.webhooks, result.provenance, request.options
    )
    answer["executionId"] = run.id
    events = planning_events(run.id, result)
    if plan_body is None:
        reason = result.reason or "no plan"
        await runtime.engine.record_not_actionable(run, reason, events)
        answer.update(status=OrchestrationStatus.NOT_ACTIONABLE, message=reason)
        return Submitted(run.id, OrchestrationStatus.NOT_ACTIONABLE, answer)
    run.steps = build_steps(plan_body, planned.service_ids)
    _check_approve_option(run)
    gate_steps(run.steps, plan_body, run.options, {s.id: s for s in planned.services})
    with admitted(runtime.engine, run):
        await runtime.engine.accept(run, events)
    answer.update(
        status=SubmissionStatus.ACCEPTED, message="Request accepted. Orchestration plan created."
    )
    return Submitted(run.id, SubmissionStatus.ACCEPTED, answer)


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
