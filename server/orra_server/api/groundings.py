"""``/groundings``: domain grounding specs (JSON or YAML) that steer planning for a project."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import ValidationError

from ..core.errors import BadRequest, Conflict, NotFound
from ..core.ids import now, to_iso
from ..planning import GroundingSpec
from ..store import StoredGrounding
from . import grounding_documents
from .auth import ProjectId
from .models import CONFLICT_RESPONSES, ERROR_RESPONSES, answers, documented
from .responses import FastJSONResponse
from .routing import OrjsonRoute
from .runtime import runtime_of
from .schemas import GroundingDeleted, GroundingList, GroundingOut

router = APIRouter(tags=["groundings"], route_class=OrjsonRoute, responses=ERROR_RESPONSES)
#: one document parsed at a time: a parse holds the GIL most of its time (the loop competes
#: with each parsing thread for it), and the worker threads are shared with the store's reads
_PARSING = asyncio.Semaphore(1)


def _storable(value: Any) -> Any:
    """As JSON we can store and send back: dates as text, huge integers as floats, no NaN."""
    try:
        return orjson.loads(json.dumps(value, default=str))
    except (orjson.JSONDecodeError, ValueError):
        raise BadRequest(
            "the spec holds a number JSON cannot carry (NaN or infinity); remove it",
            code="invalid_grounding",
        ) from None


def _spec_of(raw: bytes, content_type: str) -> tuple[GroundingSpec, dict[str, Any]]:
    """Parse, bound and validate a document, and its body as stored: CPU work (≈ 0.3 s a
    MiB), run in a worker thread."""
    spec = _validate(_storable(grounding_documents.parse(raw, content_type)))
    return spec, spec.body()


def _validate(document: Any) -> GroundingSpec:
    if not isinstance(document, dict):
        raise BadRequest(
            "a grounding spec is an object with name, domain, version, use-cases and "
            "(optionally) constraints",
            code="invalid_grounding",
        )
    try:
        return GroundingSpec.model_validate(document)
    except ValidationError as exc:
        details = [
            {
                "field": ".".join(str(p) for p in e["loc"]) or "(spec)",
                "message": e["msg"].removeprefix("Value error, "),
            }
            for e in exc.errors()
        ]
        first = details[0]
        raise BadRequest(
            f"the grounding spec is invalid: {first['field']}: {first['message']}"
            + (f" (and {len(details) - 1} more)" if len(details) > 1 else ""),
            code="invalid_grounding",
            details=details,
        ) from None


def _body(spec: dict[str, Any], created_at: datetime, updated_at: datetime) -> dict[str, Any]:
    return {**spec, "createdAt": to_iso(created_at), "updatedAt": to_iso(updated_at)}


def _stored_body(grounding: StoredGrounding) -> dict[str, Any]:
    return _body(grounding.spec, grounding.created_at, grounding.updated_at)


@router.post(
    "/groundings",
    status_code=201,
    responses={**CONFLICT_RESPONSES, 201: documented(GroundingOut), 200: documented(GroundingOut)},
    response_model=None,
)
async def apply_grounding(request: Request, project_id: ProjectId) -> FastJSONResponse:
    """Create or replace by name. Same name and version with other content is a 409."""
    runtime = runtime_of(request)
    raw = await request.body()  # at most the body limit: read whole, then measured
    grounding_documents.check_size(len(raw))
    async with _PARSING:
        spec, body = await asyncio.to_thread(_spec_of, raw, request.headers.get("content-type", ""))
    # a stored spec may be large too: read (JSON text → objects) off the loop as well
    existing = await asyncio.to_thread(runtime.store.grounding, project_id, spec.name)
    live = existing is not None and existing.deleted_at is None
    if live and existing.version == spec.version:
        if await asyncio.to_thread(GroundingSpec.model_validate, existing.spec) == spec:
            return FastJSONResponse(status_code=200, content=_stored_body(existing))
        raise Conflict(
            f"grounding '{spec.name}' version {spec.version} already exists with other content; "
            "give the changed spec a new version",
            code="grounding_version_conflict",
            param="version",
        )
    moment = now()
    created = existing.created_at if live else moment
    saved = StoredGrounding(project_id, spec.name, spec.domain, spec.version, body, created, moment)
    await runtime.store.save_grounding(saved, replaces=existing is not None)
    runtime.forget_groundings(project_id)
    shown = _body(body, created, moment)
    return FastJSONResponse(status_code=200 if live else 201, content=shown)


@router.get("/groundings", **answers(GroundingList))
async def list_groundings(request: Request, project_id: ProjectId) -> dict[str, Any]:
    rows = await asyncio.to_thread(runtime_of(request).store.groundings_of, project_id)
    return {"groundings": [_stored_body(r) for r in rows]}


async def _live(request: Request, project_id: str, name: str) -> StoredGrounding:
    row = await asyncio.to_thread(runtime_of(request).store.grounding, project_id, name)
    if row is None or row.deleted_at is not None:
        raise NotFound(f"no grounding '{name}' in this project", code="grounding_not_found")
    return row


@router.get("/groundings/{name}", **answers(GroundingOut))
async def get_grounding(request: Request, name: str, project_id: ProjectId) -> dict[str, Any]:
    return _stored_body(await _live(request, project_id, name))


@router.delete("/groundings/{name}", **answers(GroundingDeleted))
async def delete_grounding(request: Request, name: str, project_id: ProjectId) -> dict[str, Any]:
    runtime = runtime_of(request)
    row = await _live(request, project_id, name)
    await runtime.store.delete_grounding(row, at=now())
    runtime.forget_groundings(project_id)
    return {"deleted": name}
