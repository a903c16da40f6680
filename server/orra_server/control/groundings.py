"""Groundings: a project's domain grounding specs (JSON or YAML) that steer planning —
apply (create or replace by name), list, get, delete. A change clears the project's cached
specs (:meth:`Runtime.forget_groundings`)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError

from ..core.errors import BadRequest, Conflict, NotFound
from ..core.ids import now, to_iso
from ..planning import GroundingSpec
from ..store import StoredGrounding
from . import grounding_documents
from .runtime import Runtime

__all__ = [
    "ApplyGrounding",
    "Applied",
    "apply_grounding",
    "delete_grounding",
    "get_grounding",
    "list_groundings",
]


@dataclass(frozen=True, slots=True)
class ApplyGrounding:
    project_id: str
    #: the document as sent (at most the body limit), JSON or YAML by ``content_type``
    document: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class Applied:
    #: whether a new spec was made (False: replaced, or the same spec sent again)
    created: bool
    #: the spec as stored, with its times
    spec: dict[str, Any]


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


async def apply_grounding(runtime: Runtime, command: ApplyGrounding) -> Applied:
    """Create or replace by name. Same name and version with other content is a 409."""
    project_id, raw = command.project_id, command.document
    grounding_documents.check_size(len(raw))
    async with _PARSING:
        spec, body = await asyncio.to_thread(_spec_of, raw, command.content_type)
    # a stored spec may be large too: read (JSON text → objects) off the loop as well
    existing = await asyncio.to_thread(runtime.store.grounding, project_id, spec.name)
    live = existing is not None and existing.deleted_at is None
    if live and existing.version == spec.version:
        if await asyncio.to_thread(GroundingSpec.model_validate, existing.spec) == spec:
            return Applied(False, _stored_body(existing))
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
    return Applied(not live, _body(body, created, moment))


async def list_groundings(runtime: Runtime, project_id: str) -> list[dict[str, Any]]:
    rows = await asyncio.to_thread(runtime.store.groundings_of, project_id)
    return [_stored_body(r) for r in rows]


async def _live(runtime: Runtime, project_id: str, name: str) -> StoredGrounding:
    row = await asyncio.to_thread(runtime.store.grounding, project_id, name)
    if row is None or row.deleted_at is not None:
        raise NotFound(f"no grounding '{name}' in this project", code="grounding_not_found")
    return row


async def get_grounding(runtime: Runtime, project_id: str, name: str) -> dict[str, Any]:
    return _stored_body(await _live(runtime, project_id, name))


async def delete_grounding(runtime: Runtime, project_id: str, name: str) -> None:
    row = await _live(runtime, project_id, name)
    await runtime.store.delete_grounding(row, at=now())
    runtime.forget_groundings(project_id)
