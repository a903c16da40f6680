"""Result webhooks, signed per Standard Webhooks (``webhook-id``/``-timestamp``/``-signature``).

The signature is ``v1,`` + base64(HMAC-SHA256(secret, f"{id}.{timestamp}.{body}")), where the
secret is the project's ``whsec_…`` value with the prefix removed and base64-decoded.

Deliveries go through an outbox: the ``deliveries`` row is written in the same commit as the
outcome it reports (in that event's snapshot: ``deliveries`` is a projected table, so a
delivery costs the outcome's commit no statement of its own), then attempted with exponential
backoff until it succeeds or runs out of attempts; a restart picks up every delivery still
pending. The ``webhook-id`` stays the same across attempts, so a receiver can drop repeats. A
failed delivery never changes an orchestration's outcome; every attempt is recorded as a
``webhook_attempt`` event, without a commit of its own.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import random
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx

from .destinations import ForbiddenDestination, check_url_form, resolve_allowed
from .ids import new_id, now
from .settings import Settings
from .store import Store
from .store.store import dumps

__all__ = ["Outbox", "new_webhook_secret", "sign", "verify"]


def _describe(exc: BaseException) -> str:
    """A failed attempt in one short line: the kind of failure, never a response body."""
    if isinstance(exc, OSError) and not isinstance(exc, httpx.HTTPError):
        return f"the host name does not resolve ({exc.strerror or exc})"[:200]
    if isinstance(exc, TimeoutError):
        return "the host name did not resolve in time"
    return f"{type(exc).__name__}: {exc}"[:200]


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


class Outbox:
    def __init__(self, store: Store, settings: Settings, secret_of: Callable[[str], str]) -> None:
        self.store = store
        self.attempts = settings.webhook_attempts
        self.initial_delay = settings.webhook_initial_delay
        self.max_delay = settings.webhook_max_delay
        self.secret_of = secret_of
        self.allow_private = settings.allow_private_webhooks
        #: no redirects: a 3xx is a failed delivery, never a hop to an address not vetted
        self._client = httpx.AsyncClient(timeout=10.0, follow_redirects=False)
        self._tasks: set[asyncio.Task[None]] = set()

    def rows(
        self,
        project_id: str,
        orchestration_id: str | None,
        kind: str,
        urls: list[str],
        body: dict[str, Any],
    ) -> list[dict[str, Any]]:
        """New delivery rows, one per URL: write them (see :meth:`ops`), then :meth:`schedule`."""
        moment = now().replace(tzinfo=None)
        text = dumps(body)
        return [
            {
                "id": new_id("msg_", 24),
                "project_id": project_id,
                "orchestration_id": orchestration_id,
                "kind": kind,
                "url": url,
                "body": text,
                "status": "pending",
                "attempts": 0,
                "last_status": None,
                "last_error": None,
                "next_attempt_at": moment,
                "created_at": moment,
                "delivered_at": None,
            }
            for url in urls
        ]

    @staticmethod
    def inserts(rows: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
        """The rows as ``insert=`` of the ``store.change()`` that records the outcome: they
        ride in that event's snapshot and reach the table in the next projection batch."""
        return [("deliveries", row) for row in rows]

    def schedule(self, rows: list[dict[str, Any]]) -> None:
        """Start delivering ``rows`` (already committed)."""
        for row in rows:
            task = asyncio.get_running_loop().create_task(self._deliver(dict(row)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def resume(self) -> int:
        """Deliveries a stop interrupted; call inside the loop at start-up."""
        rows = self.store.pending_deliveries()
        for row in rows:
            if not isinstance(row["body"], str):
                row["body"] = dumps(row["body"])
        self.schedule(rows)
        return len(rows)

    def delay(self, attempt: int) -> float:
        """Seconds before attempt ``attempt + 1``: exponential, equal jitter."""
        ceiling = min(self.max_delay, self.initial_delay * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    async def _deliver(self, row: dict[str, Any]) -> None:
        payload = row["body"].encode()
        secret = self.secret_of(row["project_id"])
        wait = (row["next_attempt_at"] - now().replace(tzinfo=None)).total_seconds()
        if wait > 0:
            await asyncio.sleep(wait)
        while row["status"] == "pending":
            row["attempts"] += 1
            timestamp = int(time.time())
            headers = {
                "content-type": "application/json",
                "webhook-id": row["id"],
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(secret, row["id"], timestamp, payload),
            }
            outcome: dict[str, Any] = {
                "deliveryId": row["id"],
                "kind": row["kind"],
                "url": row["url"],
                "attempt": row["attempts"],
            }
            refused = False
            try:
                response = await self._post(row["url"], payload, headers)
                outcome["status"] = row["last_status"] = response.status_code
                # the status line only: a body could echo what the server should not show
                row["last_error"] = (
                    None
                    if response.is_success
                    else f"HTTP {response.status_code} {response.reason_phrase}"[:200]
                )
                ok = response.is_success
            except ForbiddenDestination as exc:
                outcome["error"] = row["last_error"] = exc.message
                row["last_status"] = None
                ok, refused = False, True
            except (httpx.HTTPError, OSError, TimeoutError) as exc:
                outcome["error"] = row["last_error"] = _describe(exc)
                row["last_status"] = None
                ok = False
            moment = now()
            if ok:
                row["status"] = "delivered"
                row["delivered_at"] = moment.replace(tzinfo=None)
            elif refused or row["attempts"] >= self.attempts:
                row["status"] = "failed"
                log.warning(
                    "webhook %s not delivered after %d attempts", row["url"], row["attempts"]
                )
            else:
                pause = self.delay(row["attempts"])
                outcome["retryIn"] = round(pause, 3)
                row["next_attempt_at"] = (moment + timedelta(seconds=pause)).replace(tzinfo=None)
            outcome["outcome"] = row["status"]
            # no commit of its own: it rides with the next one (at most 0.2 s later). A crash
            # before that re-sends the delivery under the same webhook-id, which receivers
            # drop as a repeat
            self.store.write_lazy(
                self.store.change(
                    row["orchestration_id"],
                    "webhook_attempt",
                    moment,
                    outcome,
                    update=[("deliveries", dict(row))],
                )
            )
            if row["status"] == "pending":
                await asyncio.sleep(pause)

    async def _post(self, url: str, payload: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST to ``url``, connecting only to an address checked just now.

        With private addresses allowed there is nothing to check. Otherwise the host is
        resolved here, every address checked, and the request sent to the checked IP with the
        name as ``Host`` and TLS SNI, so a name cannot resolve to one address for the check
        and another for the connection.
        """
        if self.allow_private:
            return await self._client.post(url, content=payload, headers=headers)
        destination = check_url_form(url)
        addresses = await resolve_allowed(destination, allow_private=False)
        target = httpx.URL(url)
        extensions = {}
        if destination.scheme == "https" and not destination.is_ip:
            extensions["sni_hostname"] = destination.host
        return await self._client.post(
            target.copy_with(host=addresses[0]),
            content=payload,
            headers={**headers, "host": target.netloc.decode("ascii")},
            extensions=extensions,
        )

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self._client.aclose()
