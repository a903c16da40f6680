"""``GET /health``, ``GET /ready`` and ``GET /replicas``: the control plane itself, for an
operator and a load balancer (docs/scale-out.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from .. import __version__
from ..control import replicas
from .auth import ProjectId
from .models import ERROR_RESPONSES, answers
from .responses import FastJSONResponse
from .routing import OrjsonRoute
from .runtime import runtime_of
from .schemas import HealthOut, ReadyOut, ReplicaList

router = APIRouter(route_class=OrjsonRoute)


@router.get("/health", tags=["health"], response_model=HealthOut)
async def health(request: Request) -> dict[str, Any]:
    """Answers while the process serves: its version, backend, replica id and role."""
    found = replicas.health(runtime_of(request))
    return {
        "status": "ok",
        "version": __version__,
        "backend": found.backend,
        "replica": found.replica,
        "role": found.role,
    }


@router.get(
    "/ready",
    tags=["health"],
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "not ready: do not send requests"}},
)
async def ready(request: Request) -> FastJSONResponse:
    """For a load balancer's health check: 200 when this replica takes requests, 503 while it
    starts or takes over the runs of a replica that stopped."""
    found = replicas.health(runtime_of(request))
    body = {"ready": found.ready, "role": found.role}
    return FastJSONResponse(status_code=200 if found.ready else 503, content=body)


_REPLICAS = answers(ReplicaList)
_REPLICAS["responses"] = {**ERROR_RESPONSES, **_REPLICAS["responses"]}


@router.get("/replicas", tags=["health"], **_REPLICAS)
async def list_replicas(request: Request, project_id: ProjectId) -> dict[str, Any]:
    """The replicas of the cluster (none on DuckDB), with heartbeat age and the unfinished runs
    each owns. Any project's key may ask: it shows no project's data."""
    found = await replicas.list_replicas(runtime_of(request))
    return {
        "replicas": [
            {
                "id": r.id,
                "status": r.status,
                "startedAt": r.started_at.isoformat(),
                "heartbeatAt": r.heartbeat_at.isoformat(),
                "silentSeconds": round(r.silent_for, 3),
                "runs": r.runs,
                "this": r.this,
            }
            for r in found
        ]
    }
