"""``/groundings``: domain grounding specs (JSON or YAML) that steer planning for a project."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ..control import groundings
from .auth import ProjectId
from .models import ERROR_RESPONSES, answers
from .responses import FastJSONResponse
from .routing import OrjsonRoute
from .runtime import runtime_of
from .schemas import GroundingDeleted, GroundingList, GroundingOut

router = APIRouter(tags=["groundings"], route_class=OrjsonRoute, responses=ERROR_RESPONSES)


@router.post("/groundings", **answers(GroundingOut, status_code=201, conflicts=True, or_ok=True))
async def apply_grounding(request: Request, project_id: ProjectId) -> FastJSONResponse:
    """Create or replace by name. Same name and version with other content is a 409."""
    raw = await request.body()  # at most the body limit: read whole, then measured
    content_type = request.headers.get("content-type", "")
    command = groundings.ApplyGrounding(project_id, raw, content_type)
    applied = await groundings.apply_grounding(runtime_of(request), command)
    return FastJSONResponse(status_code=201 if applied.created else 200, content=applied.spec)


@router.get("/groundings", **answers(GroundingList))
async def list_groundings(request: Request, project_id: ProjectId) -> dict[str, Any]:
    return {"groundings": await groundings.list_groundings(runtime_of(request), project_id)}


@router.get("/groundings/{name}", **answers(GroundingOut))
async def get_grounding(request: Request, name: str, project_id: ProjectId) -> dict[str, Any]:
    return await groundings.get_grounding(runtime_of(request), project_id, name)


@router.delete("/groundings/{name}", **answers(GroundingDeleted))
async def delete_grounding(request: Request, name: str, project_id: ProjectId) -> dict[str, Any]:
    await groundings.delete_grounding(runtime_of(request), project_id, name)
    return {"deleted": name}
