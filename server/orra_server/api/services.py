"""``POST /register/service|agent`` and ``GET /services``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request

from ..core.ids import to_iso
from ..store import StoredService
from .auth import ProjectId
from .models import ERROR_RESPONSES, RegistrationIn, answers
from .routing import OrjsonRoute
from .runtime import Runtime, runtime_of
from .schemas import RegistrationOut, ServiceList
from .socket_limits import confirmed

router = APIRouter(tags=["services"], route_class=OrjsonRoute, responses=ERROR_RESPONSES)


async def _register(request: Request, body: RegistrationIn, project_id: str, kind: str):
    runtime = runtime_of(request)
    registered = await runtime.registry.register(
        project_id,
        kind=kind,
        service_id=body.id,
        name=body.name,
        description=body.description,
        schema=body.schema_,
        revertible=body.revertible,
        policy=body.policy.model_dump(exclude_none=True) if body.policy else None,
        requires_approval=body.requiresApproval,
    )
    service, warnings = registered.service, registered.warnings
    if registered.contract_changed:
        stale = runtime.hub.mark_stale(service.id)
        if stale:
            warnings.append(
                f"this registration changes the schema of '{service.name}' (now version "
                f"{service.version}): {stale} connected instance(s) registered with the old "
                "schema get no new tasks until they restart with the new one"
            )
    answer: dict[str, Any] = {
        "id": service.id,
        "name": service.name,
        "status": "registered",
        "revertible": service.revertible,
        "version": service.version,
    }
    if warnings:
        answer["warnings"] = warnings
    return answer


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


def service_body(runtime: Runtime, service: StoredService) -> dict[str, Any]:
    connected = runtime.hub.instances(service.id)
    current = runtime.hub.current(service.id)
    seen = runtime.hub.last_seen(service.id)
    return {
        "id": service.id,
        "name": service.name,
        "kind": service.kind,
        "description": service.description,
        "schema": {"input": service.input_schema, "output": service.output_schema},
        "revertible": service.revertible,
        "version": service.version,
        "policy": service.policy,
        "requiresApproval": bool(service.requires_approval),
        "online": bool(current),
        "instances": len(current),
        "staleInstances": len(connected) - len(current),
        "unconfirmedInstances": sum(1 for i in current if not confirmed(i)),
        "lastSeen": to_iso(datetime.fromtimestamp(seen, UTC)) if seen is not None else None,
        "connections": [
            {
                "instance": i.number,
                "connectedAt": to_iso(i.connected_at),
                "tasksInFlight": len(i.in_flight),
                "capacity": i.capacity,
                "stale": i.stale,
                "confirmed": confirmed(i),
            }
            for i in connected
        ],
        "registeredAt": to_iso(service.created_at),
        "updatedAt": to_iso(service.updated_at),
    }


@router.get("/services", **answers(ServiceList))
async def list_services(request: Request, project_id: ProjectId) -> dict[str, Any]:
    runtime = runtime_of(request)
    return {"services": [service_body(runtime, s) for s in runtime.registry.services(project_id)]}
