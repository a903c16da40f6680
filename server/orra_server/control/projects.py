"""Projects: make one (its first API key, webhook secret and webhooks) and show the current one.
Who may make one (the admin token) is the transport's check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.ids import hash_api_key, new_api_key, new_id, now, to_iso
from ..delivery.destinations import check_webhook_url
from ..delivery.webhooks import new_webhook_secret
from ..store import NewProject
from .runtime import Runtime

__all__ = ["CreateProject", "create_project", "current_project"]


@dataclass(frozen=True, slots=True)
class CreateProject:
    name: str | None = None
    webhooks: list[str] = field(default_factory=list)


async def create_project(runtime: Runtime, command: CreateProject) -> dict[str, Any]:
    """The new project with its key and secret (shown this once)."""
    allow_private = runtime.settings.allow_private_webhooks
    webhooks = [await check_webhook_url(u, allow_private=allow_private) for u in command.webhooks]
    webhooks = list(dict.fromkeys(webhooks))  # one webhook a URL, as POST /webhooks keeps it
    moment = now()
    project_id = new_id("p_", 16)
    key = new_api_key()
    secret = new_webhook_secret()
    name = command.name or project_id
    await runtime.store.add_project(
        NewProject(project_id, name, secret, hash_api_key(key), webhooks, created_at=moment)
    )
    runtime.key_hashes[hash_api_key(key)] = project_id
    return {
        "id": project_id,
        "name": name,
        "apiKey": key,
        "webhooks": webhooks,
        "webhookSecret": secret,
        "createdAt": to_iso(moment),
    }


def current_project(runtime: Runtime, project_id: str) -> dict[str, Any]:
    project = runtime.store.project(project_id)
    return {
        "id": project_id,
        "name": project.name if project else None,
        "webhooks": runtime.store.webhooks_of(project_id),
        "createdAt": to_iso(project.created_at if project else None),
    }
