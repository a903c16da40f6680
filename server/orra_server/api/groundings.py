"""``/groundings``: domain grounding specs (JSON or YAML) that steer planning for a project."""

from __future__ import annotations

import json
from typing import Any

import orjson
import yaml
from fastapi import APIRouter, Request
from pydantic import ValidationError

from ..errors import BadRequest, Conflict, NotFound
from ..ids import now, to_iso
from ..limits import check_depth, too_deep
from ..planning import GroundingSpec
from .auth import ProjectId
from .models import CONFLICT_RESPONSES, ERROR_RESPONSES, answers, documented
from .responses import FastJSONResponse
from .routing import OrjsonRoute
from .runtime import runtime_of
from .schemas import GroundingDeleted, GroundingList, GroundingOut

router = APIRouter(tags=["groundings"], route_class=OrjsonRoute, responses=ERROR_RESPONSES)


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without anchors and aliases: a few lines of aliases can expand to gigabytes."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in grounding specs", event.start_mark
            )
        return super().compose_node(parent, index)


def _storable(value: Any) -> Any:
    """As JSON we can store and send back: dates as text, huge integers as floats, no NaN."""
    try:
        return orjson.loads(json.dumps(value, default=str))
    except (orjson.JSONDecodeError, ValueError):
        raise BadRequest(
            "the spec holds a number JSON cannot carry (NaN or infinity); remove it",
            code="invalid_grounding",
        ) from None


def _parse(raw: bytes, content_type: str) -> Any:
    text = raw.decode("utf-8", errors="replace").strip()
    if not text:
        raise BadRequest(
            "send a grounding spec as JSON or YAML in the body", code="invalid_grounding"
        )
    if "json" in content_type or (text.startswith("{") and "yaml" not in content_type):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadRequest(
                f"the body is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
                code="invalid_grounding",
            ) from None
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise BadRequest(
            f"the body is not valid YAML{where}: {problem}", code="invalid_grounding"
        ) from None


def _parse_bounded(raw: bytes, content_type: str) -> Any:
    """:func:`_parse`, with the one nesting limit of every input (both parsers recurse: a spec
    too deep for them is too deep for the limit as well)."""
    try:
        document = _parse(raw, content_type)
    except RecursionError:
        raise too_deep("the spec") from None
    return check_depth(document, "the spec")


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


def _body(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row["spec"],
        "createdAt": to_iso(row["created_at"]),
        "updatedAt": to_iso(row["updated_at"]),
    }


@router.post(
    "/groundings",
    status_code=201,
    responses={**CONFLICT_RESPONSES, 201: documented(GroundingOut), 200: documented(GroundingOut)},
    response_model=None,
)
async def apply_grounding(request: Request, project_id: ProjectId) -> FastJSONResponse:
    """Create or replace by name. Same name and version with other content is a 409."""
    runtime = runtime_of(request)
    spec = _validate(
        _storable(_parse_bounded(await request.body(), request.headers.get("content-type", "")))
    )
    existing = runtime.store.grounding(project_id, spec.name)
    live = existing is not None and existing["deleted_at"] is None
    if live and existing["version"] == spec.version:
        if GroundingSpec.model_validate(existing["spec"]) == spec:
            return FastJSONResponse(status_code=200, content=_body(existing))
        raise Conflict(
            f"grounding '{spec.name}' version {spec.version} already exists with other content; "
            "give the changed spec a new version",
            code="grounding_version_conflict",
            param="version",
        )
    moment = now()
    created = existing["created_at"] if live else moment
    await runtime.store.save_grounding(
        project_id,
        spec.name,
        domain=spec.domain,
        version=spec.version,
        spec=spec.body(),
        created_at=created,
        at=moment,
        replaces=existing is not None,
    )
    runtime.forget_groundings(project_id)
    shown = {"spec": spec.body(), "created_at": created, "updated_at": moment}
    return FastJSONResponse(status_code=200 if live else 201, content=_body(shown))


@router.get("/groundings", **answers(GroundingList))
async def list_groundings(request: Request, project_id: ProjectId) -> dict[str, Any]:
    rows = runtime_of(request).store.groundings_of(project_id)
    return {"groundings": [_body(r) for r in rows]}


def _live(request: Request, project_id: str, name: str) -> dict[str, Any]:
    row = runtime_of(request).store.grounding(project_id, name)
    if row is None or row["deleted_at"] is not None:
        raise NotFound(f"no grounding '{name}' in this project", code="grounding_not_found")
    return row


@router.get("/groundings/{name}", **answers(GroundingOut))
async def get_grounding(request: Request, name: str, project_id: ProjectId) -> dict[str, Any]:
    return _body(_live(request, project_id, name))


@router.delete("/groundings/{name}", **answers(GroundingDeleted))
async def delete_grounding(request: Request, name: str, project_id: ProjectId) -> dict[str, Any]:
    runtime = runtime_of(request)
    row = _live(request, project_id, name)
    await runtime.store.delete_grounding(row, at=now())
    runtime.forget_groundings(project_id)
    return {"deleted": name}
