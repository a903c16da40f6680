"""Approval gates: the steps that wait for a person, and the person's decision.

A step waits (``AWAITING_APPROVAL``) when its service asked for approval at registration, the
caller listed it in ``options.approve`` (or said ``"revertible"``), or an edited plan marked it.
Its resolved input is shown here; approving may replace it (checked against the service's input
schema); rejecting fails the step, which then re-plans or fails the run as any failure does.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request

from ..engine import Run, StepState
from ..errors import Conflict, NotFound
from ..ids import hash_api_key, to_iso
from ..statuses import StepStatus
from .admission import check_input
from .auth import ProjectId
from .models import ERROR_RESPONSES, ApprovalIn, RejectionIn, answers
from .routing import OrjsonRoute
from .runtime import Runtime, runtime_of
from .schemas import ApprovalList, OrchestrationOut

router = APIRouter(tags=["approvals"], route_class=OrjsonRoute, responses=ERROR_RESPONSES)


def _approver(request: Request, named: str | None) -> str:
    """Who decided: the name given, and always which key (its hash's start, never the key)."""
    key = (request.headers.get("authorization") or "").removeprefix("Bearer ").strip()
    which = f"key {hash_api_key(key)[:8]}" if key else "unknown key"
    return f"{named} ({which})" if named else which


def _waiting_step(runtime: Runtime, project_id: str, orchestration_id: str, step_id: str):
    run = runtime.orchestration(project_id, orchestration_id)
    live = runtime.engine.runs.get(orchestration_id)
    step = (live or run).steps.get(step_id)
    if step is None:
        raise NotFound(
            f"orchestration '{orchestration_id}' has no step '{step_id}' "
            f"(steps: {', '.join(run.steps)})",
            code="step_not_found",
        )
    if live is None or live.finishing or step.status != StepStatus.AWAITING_APPROVAL:
        raise Conflict(
            f"step '{step_id}' is {step.status}, not AWAITING_APPROVAL: only a step that waits "
            "for approval can be approved or rejected",
            code="step_not_awaiting_approval",
            details={"status": step.status},
        )
    return live, step


@router.get("/approvals", **answers(ApprovalList))
async def list_approvals(request: Request, project_id: ProjectId) -> dict[str, Any]:
    """Every step of the project that waits for a person's decision, oldest run first."""
    runtime = runtime_of(request)
    waiting = [
        _approval_body(run, step)
        for run in runtime.engine.runs.values()
        if run.project_id == project_id and not run.finishing
        for step in run.steps.values()
        if step.status == StepStatus.AWAITING_APPROVAL
    ]
    waiting.sort(key=lambda item: item["createdAt"] or "")
    return {"approvals": waiting}


def _approval_body(run: Run, step: StepState) -> dict[str, Any]:
    return {
        "executionId": run.id,
        "stepId": step.id,
        "component": step.component,
        "input": step.input,
        "action": run.action,
        "createdAt": to_iso(run.created_at),
        "requestedAt": to_iso(step.waiting_since),
        "expiresAt": to_iso(_deadline(run, step)),
    }


def _deadline(run: Run, step: StepState) -> datetime | None:
    seconds = (run.options or {}).get("approvalTimeoutSeconds")
    if seconds is None or step.waiting_since is None:
        return None
    return step.waiting_since + timedelta(seconds=float(seconds))


@router.post(
    "/orchestrations/{orchestration_id}/steps/{step_id}/approve",
    **answers(OrchestrationOut, conflicts=True),
)
async def approve_step(
    request: Request,
    project_id: ProjectId,
    orchestration_id: str,
    step_id: str,
    body: ApprovalIn | None = None,
) -> dict[str, Any]:
    """Run the step now, with its input as shown or as edited in ``input``."""
    runtime = runtime_of(request)
    run, step = _waiting_step(runtime, project_id, orchestration_id, step_id)
    body = body or ApprovalIn()
    if body.input is not None:
        service = runtime.registry.cached(step.service_id or "") or {}
        await check_input(
            body.input,
            service.get("input_schema") or {},
            step_id=step_id,
            component=step.component,
            param="input",
        )
        # the check may have yielded the loop: decide only if the step still waits
        run, step = _waiting_step(runtime, project_id, orchestration_id, step_id)
    await runtime.engine.approve(
        run, step, body.input, _approver(request, body.approver), body.comment
    )
    return run.body()


@router.post(
    "/orchestrations/{orchestration_id}/steps/{step_id}/reject",
    **answers(OrchestrationOut, conflicts=True),
)
async def reject_step(
    request: Request,
    project_id: ProjectId,
    orchestration_id: str,
    step_id: str,
    body: RejectionIn,
) -> dict[str, Any]:
    """Fail the step: the run re-plans without it or fails and compensates."""
    runtime = runtime_of(request)
    run, step = _waiting_step(runtime, project_id, orchestration_id, step_id)
    await runtime.engine.reject(run, step, body.reason, _approver(request, body.approver))
    return run.body()
