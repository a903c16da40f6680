"""Result webhooks, signed per Standard Webhooks (``webhook-id``/``-timestamp``/``-signature``).

The signature is ``v1,`` + base64(HMAC-SHA256(secret, f"{id}.{timestamp}.{body}")), where the
secret is the project's ``whsec_…`` value with the prefix removed and base64-decoded. A failed
delivery never changes an orchestration's outcome; every attempt is recorded as an event.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from typing import Any

import httpx

from .ids import new_id, now
from .store import Store

__all__ = ["WebhookSender", "new_webhook_secret", "sign", "verify"]

log = logging.getLogger("orra.webhooks")


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> bool:
    """Check a delivery the way a receiver should (constant-time, with a timestamp window)."""
    lower = {k.lower(): v for k, v in headers.items()}
    message_id = lower.get("webhook-id", "")
    timestamp = lower.get("webhook-timestamp", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = sign(secret, message_id, int(timestamp), body).split(",", 1)[1]
    for candidate in lower.get("webhook-signature", "").split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


class WebhookSender:
    def __init__(self, store: Store, attempts: int = 3, base_delay: float = 0.5) -> None:
        self.store = store
        self.attempts = attempts
        self.base_delay = base_delay
        self._client = httpx.AsyncClient(timeout=10.0)
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, orchestration_id: str, urls: list[str], secret: str, body: dict[str, Any]):
        for url in urls:
            task = asyncio.get_running_loop().create_task(
                self._deliver(orchestration_id, url, secret, body)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, orchestration_id: str, url: str, secret: str, body: dict) -> None:
        payload = json.dumps(body, separators=(",", ":")).encode()
        message_id = new_id("msg_", 24)
        for attempt in range(1, self.attempts + 1):
            timestamp = int(time.time())
            headers = {
                "content-type": "application/json",
                "webhook-id": message_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(secret, message_id, timestamp, payload),
            }
            outcome: dict[str, Any] = {"url": url, "attempt": attempt, "webhookId": message_id}
            try:
                response = await self._client.post(url, content=payload, headers=headers)
                outcome["status"] = response.status_code
                ok = response.is_success
            except httpx.HTTPError as exc:
                outcome["error"] = f"{type(exc).__name__}: {exc}"
                ok = False
            await self.store.write(
                [self.store.event(orchestration_id, "webhook_attempt", now(), outcome)]
            )
            if ok:
                return
            if attempt < self.attempts:
                await asyncio.sleep(self.base_delay * 2 ** (attempt - 1))
        log.warning(
            "webhook %s for %s not delivered after %d attempts",
            url,
            orchestration_id,
            self.attempts,
        )

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self._client.aclose()
