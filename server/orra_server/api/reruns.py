"""``POST /orchestrations/{id}/rerun {fromStep?, input?, plan?}``: a new orchestration linked to
the old one (``parentId``) that reuses the recorded outputs of the steps before ``fromStep``
(:mod:`..control.rerun` says how)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..control.rerun import Rerun, rerun
from .auth import ProjectId
from .models import ERROR_RESPONSES, RerunIn, answers
from .responses import FastJSONResponse
from .routing import OrjsonRoute
from .runtime import runtime_of
from .schemas import Accepted

router = APIRouter(tags=["orchestrations"], route_class=OrjsonRoute, responses=ERROR_RESPONSES)


@router.post(
    "/orchestrations/{orchestration_id}/rerun",
    **answers(Accepted, status_code=202, conflicts=True, starts_runs=True),
)
async def rerun_orchestration(
    request: Request, project_id: ProjectId, orchestration_id: str, body: RerunIn | None = None
) -> FastJSONResponse:
    body = body or RerunIn()
    command = Rerun(
        project_id,
        orchestration_id,
        from_step=body.fromStep,
        input=body.input or {},
        plan=body.plan,
    )
    rerunning = await rerun(runtime_of(request), command)
    return FastJSONResponse(status_code=202, content=rerunning.answer)
