"""``POST /register/service|agent`` and ``GET /services``."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request

from ..control import services
from .auth import ProjectId
from .models import ERROR_RESPONSES, RegistrationIn, answers
from .routing import OrjsonRoute
from .runtime import runtime_of
from .schemas import RegistrationOut, ServiceList

router = APIRouter(tags=["services"], route_class=OrjsonRoute, responses=ERROR_RESPONSES)


async def _register(
    request: Request,
    body: RegistrationIn,
    project_id: str,
    kind: Literal["service", "agent"],
) -> dict[str, Any]:
    command = services.Register(
        project_id,
        kind,
        body.name,
        service_id=body.id,
        description=body.description,
        schema=body.schema_,
        revertible=body.revertible,
        policy=body.policy.model_dump(exclude_none=True) if body.policy else None,
        requires_approval=body.requiresApproval,
    )
    return await services.register(runtime_of(request), command)


@router.post("/register/service", **answers(RegistrationOut))
async def register_service(
    request: Request, body: RegistrationIn, project_id: ProjectId
) -> dict[str, Any]:
    return await _register(request, body, project_id, "service")


@router.post("/register/agent", **answers(RegistrationOut))
async def register_agent(
    request: Request, body: RegistrationIn, project_id: ProjectId
) -> dict[str, Any]:
    return await _register(request, body, project_id, "agent")


@router.get("/services", **answers(ServiceList))
async def list_services(request: Request, project_id: ProjectId) -> dict[str, Any]:
    return {"services": services.list_services(runtime_of(request), project_id)}
