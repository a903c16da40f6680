"""Projects, API keys and webhooks: the bootstrap the original orra CLI uses."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request

from ..core.errors import BadRequest, Conflict, NotFound, Unauthorized
from ..core.ids import hash_api_key, new_api_key, new_id, now, to_iso
from ..core.limits import MAX_API_KEYS, MAX_WEBHOOKS
from ..delivery.destinations import check_webhook_url
from ..delivery.webhooks import new_webhook_secret, webhook_id
from ..store import StoredApiKey, WebhookKind
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
from .runtime import Runtime, runtime_of
from .schemas import (
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

router = APIRouter(tags=["projects"], route_class=OrjsonRoute, responses=ERROR_RESPONSES)


def _require_admin(request: Request) -> None:
    """With an admin token set, creating a project needs it (docs/security.md)."""
    expected = runtime_of(request).settings.admin_token
    if not expected:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), expected.encode()
    ):
        raise Unauthorized(
            "creating a project needs the server's admin token: send 'Authorization: Bearer "
            "<admin token>' (orra projects add --admin-token, or ORRA_ADMIN_TOKEN)",
            code="admin_token_required",
        )


@router.post("/register/project", **answers(ProjectCreated, status_code=201))
async def register_project(request: Request, body: ProjectIn | None = None) -> FastJSONResponse:
    _require_admin(request)
    runtime = runtime_of(request)
    body = body or ProjectIn()
    allow_private = runtime.settings.allow_private_webhooks
    webhooks = [await check_webhook_url(u, allow_private=allow_private) for u in body.webhooks]
    webhooks = list(dict.fromkeys(webhooks))  # one webhook a URL, as POST /webhooks keeps it
    moment = now()
    project_id = new_id("p_", 16)
    key = new_api_key()
    secret = new_webhook_secret()
    await runtime.store.add_project(
        project_id,
        body.name or project_id,
        webhook_secret=secret,
        key_hash=hash_api_key(key),
        webhooks=webhooks,
        at=moment,
    )
    runtime.key_hashes[hash_api_key(key)] = project_id
    return FastJSONResponse(
        status_code=201,
        content={
            "id": project_id,
            "name": body.name or project_id,
            "apiKey": key,
            "webhooks": webhooks,
            "webhookSecret": secret,
            "createdAt": to_iso(moment),
        },
    )


@router.get("/projects/current", **answers(ProjectOut))
async def current_project(request: Request, project_id: ProjectId) -> dict[str, Any]:
    runtime = runtime_of(request)
    project = runtime.store.project(project_id)
    return {
        "id": project_id,
        "name": project.name if project else None,
        "webhooks": runtime.store.webhooks_of(project_id),
        "createdAt": to_iso(project.created_at if project else None),
    }


@router.post("/apikeys", **answers(ApiKeyCreated, status_code=201))
async def add_api_key(
    request: Request,
    project_id: ProjectId,
    body: ApiKeyIn | None = None,
) -> dict[str, Any]:
    runtime = runtime_of(request)
    if len(runtime.store.api_keys_of(project_id)) >= MAX_API_KEYS:
        raise BadRequest(
            f"this project already has {MAX_API_KEYS} API keys, the most it may have; revoke "
            "one first (DELETE /apikeys/{id}) or rotate it (POST /apikeys/{id}/rotate)",
            code="too_many_api_keys",
            details={"limit": MAX_API_KEYS},
        )
    key = new_api_key()
    name = (body.name if body else None) or "unnamed"
    await runtime.store.add_api_key(project_id, hash_api_key(key), name, at=now())
    runtime.key_hashes[hash_api_key(key)] = project_id
    return {"apiKey": key, "name": name}


@router.get("/apikeys", **answers(ApiKeyList))
async def list_api_keys(request: Request, project_id: ProjectId) -> dict[str, Any]:
    """The project's keys by name (the keys themselves are only shown when created)."""
    rows = runtime_of(request).store.api_keys_of(project_id)
    return {
        "apiKeys": [
            {"id": key_id(r.key_hash), "name": r.name, "createdAt": to_iso(r.created_at)}
            for r in rows
        ]
    }


def key_id(key_hash: str) -> str:
    """A key's public name: a prefix of its hash, which says nothing about the key."""
    return "k_" + key_hash[:16]


def _find_key(runtime: Runtime, project_id: str, ref: str) -> StoredApiKey:
    rows = runtime.store.api_keys_of(project_id)
    matches = [r for r in rows if key_id(r.key_hash) == ref] or [r for r in rows if r.name == ref]
    if not matches:
        raise NotFound(
            f"no API key {ref!r} in this project; 'GET /apikeys' lists their ids and names",
            code="api_key_not_found",
        )
    if len(matches) > 1:
        raise Conflict(
            f"{len(matches)} keys are named {ref!r}; name one by its id: "
            + ", ".join(key_id(r.key_hash) for r in matches),
            code="ambiguous_api_key",
        )
    return matches[0]


async def _revoke(runtime: Runtime, row: StoredApiKey) -> int:
    """Delete the key, forget it at once, and disconnect the services that use it."""
    await runtime.store.revoke_api_key(row.key_hash)
    return runtime.forget_key(row.key_hash)


@router.delete("/apikeys/{ref}", **answers(ApiKeyRevoked, conflicts=True))
async def revoke_api_key(request: Request, ref: str, project_id: ProjectId) -> dict[str, Any]:
    """Revoke a key by id or name: refused at once, its service sockets closed (4001) and its
    event streams ended."""
    runtime = runtime_of(request)
    row = _find_key(runtime, project_id, ref)
    if len(runtime.store.api_keys_of(project_id)) == 1:
        raise Conflict(
            "this is the project's last API key; revoking it would lock the project out. "
            f"Rotate it instead (POST /apikeys/{ref}/rotate)",
            code="last_api_key",
        )
    disconnected = await _revoke(runtime, row)
    return {
        "id": key_id(row.key_hash),
        "name": row.name,
        "revoked": True,
        "disconnectedServices": disconnected,
    }


@router.post("/apikeys/{ref}/rotate", **answers(ApiKeyRotated, status_code=201, conflicts=True))
async def rotate_api_key(request: Request, ref: str, project_id: ProjectId) -> dict[str, Any]:
    """A new key with the same name; the old one is revoked in the same step."""
    runtime = runtime_of(request)
    row = _find_key(runtime, project_id, ref)
    key = new_api_key()
    new_hash = hash_api_key(key)
    await runtime.store.rotate_api_key(project_id, row.key_hash, new_hash, row.name, at=now())
    runtime.key_hashes[new_hash] = project_id
    disconnected = runtime.forget_key(row.key_hash)
    return {
        "apiKey": key,
        "id": key_id(new_hash),
        "name": row.name,
        "revoked": key_id(row.key_hash),
        "disconnectedServices": disconnected,
    }


@router.post("/webhooks", **answers(WebhookAdded, status_code=201))
async def add_webhook(request: Request, body: WebhookIn, project_id: ProjectId) -> dict[str, Any]:
    return await store_webhook(runtime_of(request), "result", project_id, body.url)


async def store_webhook(
    runtime: Runtime, kind: WebhookKind, project_id: str, url: str
) -> dict[str, Any]:
    """Check ``url`` and add it as a webhook of ``kind``."""
    url = await check_webhook_url(url, allow_private=runtime.settings.allow_private_webhooks)
    existing = runtime.store.webhooks(kind, project_id)
    if url in existing:  # added again: still one webhook (a second row was a second delivery)
        return {"id": webhook_id(url), "url": url, "secret": runtime.webhook_secret_of(project_id)}
    if len(existing) >= MAX_WEBHOOKS:
        raise BadRequest(
            f"this project already has {len(existing)} webhooks of this kind; at most "
            f"{MAX_WEBHOOKS} are allowed (every outcome is sent to each): remove one first",
            code="too_many_webhooks",
            details={"limit": MAX_WEBHOOKS},
        )
    await runtime.store.add_webhook(kind, project_id, url, at=now())
    runtime.forget_project(project_id)
    return {"id": webhook_id(url), "url": url, "secret": runtime.webhook_secret_of(project_id)}


@router.get("/webhooks", **answers(WebhookList))
async def list_webhooks(request: Request, project_id: ProjectId) -> dict[str, Any]:
    urls = runtime_of(request).webhooks_of(project_id)
    return {"webhooks": urls, "items": [{"id": webhook_id(u), "url": u} for u in urls]}


async def remove_webhook(
    runtime: Runtime, kind: WebhookKind, project_id: str, ref: str
) -> dict[str, Any]:
    """Delete the webhook of ``kind`` whose id (or URL) is ``ref``."""
    urls = runtime.store.webhooks(kind, project_id)
    url = next((u for u in urls if webhook_id(u) == ref or u == ref), None)
    if url is None:
        raise NotFound(
            f"no webhook {ref!r} in this project; the list shows each one's id",
            code="webhook_not_found",
        )
    await runtime.store.remove_webhook(kind, project_id, url)
    runtime.forget_project(project_id)
    return {"id": webhook_id(url), "url": url, "removed": True}


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
    return await remove_webhook(runtime, "result", project_id, webhook_ref(request, ref))
