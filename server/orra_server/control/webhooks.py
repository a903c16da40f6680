"""Webhooks: the URLs a project's outcomes (``result``) and compensation failures
(``compensation_failure``) are delivered to — add (checked: form, public address), list,
remove. A change clears the project's cached webhooks."""

from __future__ import annotations

from typing import Any

from ..core.errors import BadRequest, NotFound
from ..core.ids import now
from ..core.limits import MAX_WEBHOOKS
from ..delivery.destinations import check_webhook_url
from ..delivery.webhooks import webhook_id
from ..store import WebhookKind
from .runtime import Runtime

__all__ = ["WebhookKind", "add_webhook", "list_webhooks", "remove_webhook"]


async def add_webhook(
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


def list_webhooks(runtime: Runtime, kind: WebhookKind, project_id: str) -> dict[str, Any]:
    if kind == "result":
        urls = runtime.webhooks_of(project_id)
    else:
        urls = runtime.store.compensation_failure_webhooks_of(project_id)
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
