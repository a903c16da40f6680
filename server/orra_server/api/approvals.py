"""``/approvals`` and a step's ``approve``/``reject``: the steps that wait for a person, and the
person's decision (:mod:`..control.approvals`, :mod:`..control.approve`,
:mod:`..control.reject`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from ..control import approvals
from ..control.approve import Approve, approve
from ..control.reject import Reject, reject
from ..core.grammar import bearer_credential
from ..core.ids import hash_api_key
from .auth import ProjectId
from .models import ERROR_RESPONSES, ApprovalIn, RejectionIn, answers
from .routing import OrjsonRoute
from .runtime import runtime_of
from .schemas import ApprovalList, OrchestrationOut

router = APIRouter(tags=["approvals"], route_class=OrjsonRoute, responses=ERROR_RESPONSES)


def _decision(request: Request, *step: str, approver: str | None) -> dict[str, Any]:
    """Who decides which step (project, orchestration, step): the name given, and the hash of
    the key that asked, for the record (never the key)."""
    key = bearer_credential(request.headers.get("authorization"))
    project_id, orchestration_id, step_id = step
    return {
        "project_id": project_id,
        "orchestration_id": orchestration_id,
        "step_id": step_id,
        "approver": approver,
        "key_hash": hash_api_key(key) if key else None,
    }


@router.get("/approvals", **answers(ApprovalList))
async def list_approvals(
    request: Request,
    project_id: ProjectId,
    limit: int = Query(default=50, ge=1, le=500, description="approvals on one page"),
    cursor: str | None = Query(
        default=None, max_length=1000, description="a previous page's nextCursor: the page after it"
    ),
) -> dict[str, Any]:
    """The steps of the project that wait for a person's decision, oldest run first, a page at
    a time (``nextCursor``: null on the last page). An input over 64 KiB is shown as
    ``inputPreview`` (``inputTruncated``); ``GET /orchestrations/{id}`` has it whole."""
    command = approvals.ListApprovals(project_id, limit, cursor)
    page = await approvals.list_approvals(runtime_of(request), command)
    return {"approvals": page.items, "nextCursor": page.next_cursor}


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
    body = body or ApprovalIn()
    who = _decision(request, project_id, orchestration_id, step_id, approver=body.approver)
    command = Approve(**who, input=body.input, comment=body.comment)
    run = await approve(runtime_of(request), command)
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
    who = _decision(request, project_id, orchestration_id, step_id, approver=body.approver)
    command = Reject(**who, reason=body.reason)
    run = await reject(runtime_of(request), command)
    return run.body()
