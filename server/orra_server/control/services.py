"""Register a service (or an agent) and list a project's services with who is connected.

Registering again under the same name updates it; a changed schema bumps its version and the
instances connected with the old one get no new tasks until they restart. There is no
unregistering today: the REST API offers none (a service that goes away shows offline).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..core.ids import to_iso
from ..services.registry import Register
from ..store import StoredService
from .runtime import Runtime
from .socket_health import confirmed

__all__ = ["Register", "list_services", "register", "service_body"]


async def register(runtime: Runtime, command: Register) -> dict[str, Any]:
    """Register (or re-register) a service; the answer, with warnings when its instances
    connected under an older schema."""
    registered = await runtime.registry.register(command)
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


def list_services(runtime: Runtime, project_id: str) -> list[dict[str, Any]]:
    return [service_body(runtime, s) for s in runtime.registry.services(project_id)]
