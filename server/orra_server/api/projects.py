"""Projects, API keys and webhooks: the bootstrap the original orra CLI uses."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request

from ..control import api_keys, projects, webhooks
from ..core.errors import Unauthorized
from ..core.grammar import bearer_credential
from .account_schemas import (
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyRevoked,
    ApiKeyRotated,
    ProjectCreated,
    ProjectOut,
    WebhookAdded,
    WebhookList,
    WebhookRemoved,
)
from .auth import ProjectId
from .models import (
    ERROR_RESPONSES,
    ApiKeyIn,
    ProjectIn,
    WebhookIn,
    answers,
)
from .responses import FastJSONResponse
from .routing import OrjsonRoute
from .runtime import runtime_of

router = APIRouter(tags=["projects"], route_class=OrjsonRoute, responses=ERROR_RESPONSES)


def _require_admin(request: Request) -> None:
    """With an admin token set, creating a project needs it (docs/security.md)."""
    expected = runtime_of(request).settings.admin_token
    if not expected:
        return
    token = bearer_credential(request.headers.get("authorization"))
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized(
            "creating a project needs the server's admin token: send 'Authorization: Bearer "
            "<admin token>' (orra projects add --admin-token, or ORRA_ADMIN_TOKEN)",
            code="admin_token_required",
        )


@router.post("/register/project", **answers(ProjectCreated, status_code=201))
async def register_project(request: Request, body: ProjectIn | None = None) -> FastJSONResponse:
    _require_admin(request)
    body = body or ProjectIn()
    command = projects.CreateProject(body.name, body.webhooks)
    created = await projects.create_project(runtime_of(request), command)
    return FastJSONResponse(status_code=201, content=created)


@router.get("/projects/current", **answers(ProjectOut))
async def current_project(request: Request, project_id: ProjectId) -> dict[str, Any]:
    return projects.current_project(runtime_of(request), project_id)


@router.post("/apikeys", **answers(ApiKeyCreated, status_code=201))
async def add_api_key(
    request: Request,
    project_id: ProjectId,
    body: ApiKeyIn | None = None,
) -> dict[str, Any]:
    name = body.name if body else None
    return await api_keys.add_api_key(runtime_of(request), project_id, name)


@router.get("/apikeys", **answers(ApiKeyList))
async def list_api_keys(request: Request, project_id: ProjectId) -> dict[str, Any]:
    """The project's keys by name (the keys themselves are only shown when created)."""
    return {"apiKeys": api_keys.list_api_keys(runtime_of(request), project_id)}


@router.delete("/apikeys/{ref}", **answers(ApiKeyRevoked, conflicts=True))
async def revoke_api_key(request: Request, ref: str, project_id: ProjectId) -> dict[str, Any]:
    """Revoke a key by id or name: refused at once, its service sockets closed (4001) and its
    event streams ended."""
    return await api_keys.revoke_api_key(runtime_of(request), project_id, ref)


@router.post("/apikeys/{ref}/rotate", **answers(ApiKeyRotated, status_code=201, conflicts=True))
async def rotate_api_key(request: Request, ref: str, project_id: ProjectId) -> dict[str, Any]:
    """A new key with the same name; the old one is revoked in the same step."""
    return await api_keys.rotate_api_key(runtime_of(request), project_id, ref)


@router.post("/webhooks", **answers(WebhookAdded, status_code=201))
async def add_webhook(request: Request, body: WebhookIn, project_id: ProjectId) -> dict[str, Any]:
    return await webhooks.add_webhook(runtime_of(request), "result", project_id, body.url)


@router.get("/webhooks", **answers(WebhookList))
async def list_webhooks(request: Request, project_id: ProjectId) -> dict[str, Any]:
    return webhooks.list_webhooks(runtime_of(request), "result", project_id)


def webhook_ref(request: Request, ref: str) -> str:
    """The id or URL a ``DELETE …/{ref:path}`` names. A URL may come percent-encoded (as the
    studio client sends it) or as is: then its own query string arrives as the request's."""
    if "://" in ref and request.url.query:
        return f"{ref}?{request.url.query}"
    return ref


@router.delete("/webhooks/{ref:path}", **answers(WebhookRemoved))
async def delete_webhook(request: Request, ref: str, project_id: ProjectId) -> dict[str, Any]:
    """Remove a result webhook by id (``wh_…``, as listed) or by its exact URL (best
    percent-encoded: ``DELETE /webhooks/https%3A%2F%2Fexample.com%2Fhook``)."""
    runtime = runtime_of(request)
    return await webhooks.remove_webhook(runtime, "result", project_id, webhook_ref(request, ref))
