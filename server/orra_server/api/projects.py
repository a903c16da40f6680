"""Projects, API keys and webhooks: the bootstrap the original orra CLI uses."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request

from ..errors import BadRequest
from ..ids import hash_api_key, new_api_key, new_id, now, to_iso
from ..webhooks import new_webhook_secret
from .auth import project_id_from_key
from .models import ApiKeyIn, ProjectIn, WebhookIn
from .responses import FastJSONResponse
from .routing import OrjsonRoute
from .runtime import Runtime, runtime_of

router = APIRouter(tags=["projects"], route_class=OrjsonRoute)


def check_webhook_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadRequest(
            f"webhook URL {url!r} is not an absolute http(s) URL, e.g. "
            "'http://localhost:3000/webhooks/orra'",
            code="invalid_webhook_url",
            param="url",
        )
    return url


@router.post("/register/project", status_code=201)
async def register_project(request: Request, body: ProjectIn | None = None) -> FastJSONResponse:
    runtime = runtime_of(request)
    body = body or ProjectIn()
    webhooks = [check_webhook_url(u) for u in body.webhooks]
    moment = now()
    project_id = new_id("p_", 16)
    key = new_api_key()
    secret = new_webhook_secret()
    store = runtime.store
    ops = [
        store.insert(
            "projects",
            {
                "id": project_id,
                "name": body.name or project_id,
                "webhook_secret": secret,
                "created_at": moment.replace(tzinfo=None),
            },
        ),
        store.insert(
            "api_keys",
            {
                "key_hash": hash_api_key(key),
                "project_id": project_id,
                "name": "default",
                "created_at": moment.replace(tzinfo=None),
            },
        ),
    ]
    ops += [
        store.insert(
            "webhooks",
            {"project_id": project_id, "url": url, "created_at": moment.replace(tzinfo=None)},
        )
        for url in webhooks
    ]
    await store.write(ops)
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


@router.get("/projects/current")
async def current_project(
    request: Request, project_id: str = Depends(project_id_from_key)
) -> dict[str, Any]:
    runtime = runtime_of(request)
    project = runtime.store.project(project_id) or {}
    return {
        "id": project_id,
        "name": project.get("name"),
        "webhooks": runtime.store.webhooks_of(project_id),
        "createdAt": to_iso(project.get("created_at")),
    }


@router.post("/apikeys", status_code=201)
async def add_api_key(
    request: Request,
    body: ApiKeyIn | None = None,
    project_id: str = Depends(project_id_from_key),
) -> dict[str, Any]:
    runtime = runtime_of(request)
    key = new_api_key()
    await runtime.store.write(
        [
            runtime.store.insert(
                "api_keys",
                {
                    "key_hash": hash_api_key(key),
                    "project_id": project_id,
                    "name": (body.name if body else None) or "unnamed",
                    "created_at": now().replace(tzinfo=None),
                },
            )
        ]
    )
    runtime.key_hashes[hash_api_key(key)] = project_id
    return {"apiKey": key, "name": (body.name if body else None) or "unnamed"}


@router.get("/apikeys")
async def list_api_keys(
    request: Request, project_id: str = Depends(project_id_from_key)
) -> dict[str, Any]:
    """The project's keys by name (the keys themselves are only shown when created)."""
    rows = runtime_of(request).store.api_keys_of(project_id)
    return {"apiKeys": [{"name": r["name"], "createdAt": to_iso(r["created_at"])} for r in rows]}


@router.post("/webhooks", status_code=201)
async def add_webhook(
    request: Request, body: WebhookIn, project_id: str = Depends(project_id_from_key)
) -> dict[str, Any]:
    return await store_webhook(runtime_of(request), "webhooks", project_id, body.url)


async def store_webhook(runtime: Runtime, table: str, project_id: str, url: str) -> dict[str, Any]:
    """Check ``url`` and add it to ``table`` (result or compensation-failure webhooks)."""
    url = check_webhook_url(url)
    row = {"project_id": project_id, "url": url, "created_at": now().replace(tzinfo=None)}
    await runtime.store.write([runtime.store.insert(table, row)])
    runtime.forget_project(project_id)
    return {"url": url, "secret": runtime.webhook_secret_of(project_id)}


@router.get("/webhooks")
async def list_webhooks(
    request: Request, project_id: str = Depends(project_id_from_key)
) -> dict[str, Any]:
    return {"webhooks": runtime_of(request).webhooks_of(project_id)}
