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
import contextlib
import hashlib
import hmac
import logging
import random
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import orjson

from orra_sdk.vocabulary import DeliveryStatus, EventKind

from ..core.ids import new_id, now
from ..core.limits import MAX_DELIVERIES_IN_FLIGHT, MAX_DELIVERIES_PER_HOST
from ..settings import Settings
from ..store import Change, Delivery, StoreBackend
from .destinations import ForbiddenDestination, check_url_form, resolve_allowed

__all__ = ["Outbox", "new_webhook_secret", "sign", "verify", "webhook_id"]


def _describe(exc: BaseException) -> str:
    """A failed attempt in one short line: the kind of failure, never a response body."""
    if isinstance(exc, OSError) and not isinstance(exc, httpx.HTTPError):
        return f"the host name does not resolve ({exc.strerror or exc})"[:200]
    if isinstance(exc, TimeoutError):
        return "the host name did not resolve in time"
    return f"{type(exc).__name__}: {exc}"[:200]


log = logging.getLogger("orra.webhooks")


def webhook_id(url: str) -> str:
    """A webhook's id: derived from its URL, so it needs no column of its own, and logs can
    name a webhook without its URL."""
    return "wh_" + hashlib.sha256(url.encode()).hexdigest()[:12]


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
    if not re.fullmatch(r"[0-9]{1,12}", timestamp) or abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = sign(secret, message_id, int(timestamp), body).split(",", 1)[1]
    for candidate in lower.get("webhook-signature", "").split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


class _RequestLinesByHost(logging.Filter):
    """httpx logs each request as ``HTTP Request: POST <url> "HTTP/1.1 500 …"`` at INFO: the
    URL goes down to scheme and host (``/[path]``), since a webhook's path is often its
    secret and the delivery's own record already names the webhook."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > 1 and isinstance(args[1], httpx.URL):
            url = args[1]
            shown = f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}/[path]"
            record.args = (args[0], shown, *args[2:])
        return True


def _hide_request_paths() -> None:
    """Add the filter to httpx's logger once (every client in the process logs through it)."""
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RequestLinesByHost) for f in logger.filters):
        logger.addFilter(_RequestLinesByHost())


class _HostSlots:
    """At most ``limit`` deliveries at a time to one host: a receiver that never answers
    holds a few slots for the timeout, not every slot the outbox has."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}

    @contextlib.asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        host = httpx.URL(url).netloc.decode("ascii", "replace")
        semaphore, users = self._slots.setdefault(host, (asyncio.Semaphore(self.limit), [0]))
        users[0] += 1
        try:
            async with semaphore:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:  # no one waits or sends: forget the host
                del self._slots[host]


class Outbox:
    def __init__(
        self, store: StoreBackend, settings: Settings, secret_of: Callable[[str], str]
    ) -> None:
        self.store = store
        self.attempts = settings.webhook_attempts
        self.initial_delay = settings.webhook_initial_delay
        self.max_delay = settings.webhook_max_delay
        self.secret_of = secret_of
        self.allow_private = settings.allow_private_webhooks
        #: no redirects: a 3xx is a failed delivery, never a hop to an address not vetted
        self._client = httpx.AsyncClient(
            timeout=10.0,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=MAX_DELIVERIES_IN_FLIGHT),
        )
        #: deliveries wait here, not in httpcore's pool: its queue is matched against every
        #: connection on each change (quadratic), so 800 deliveries to a receiver that never
        #: answers held the event loop for seconds at a time
        self._in_flight = asyncio.Semaphore(MAX_DELIVERIES_IN_FLIGHT)
        self._per_host = _HostSlots(MAX_DELIVERIES_PER_HOST)
        self._tasks: set[asyncio.Task[None]] = set()
        #: ids of the deliveries under way
        self._scheduled: set[str] = set()
        _hide_request_paths()

    def new(
        self,
        project_id: str,
        orchestration_id: str | None,
        kind: str,
        urls: list[str],
        body: dict[str, Any],
    ) -> list[Delivery]:
        """New deliveries, one per URL: record them with the outcome, then :meth:`schedule`."""
        moment = now()
        shared = {"project_id": project_id, "orchestration_id": orchestration_id, "kind": kind}
        shared |= {"body": body, "created_at": moment, "next_attempt_at": moment}
        return [Delivery(id=new_id("msg_", 24), url=url, **shared) for url in urls]

    def schedule(self, deliveries: list[Delivery]) -> None:
        """Start delivering ``deliveries`` (already committed)."""
        for delivery in deliveries:
            task = asyncio.get_running_loop().create_task(self._deliver(delivery))
            self._tasks.add(task)
            self._scheduled.add(delivery.id)
            task.add_done_callback(self._tasks.discard)
            task.add_done_callback(lambda _t, done=delivery.id: self._scheduled.discard(done))

    def resume(self) -> int:
        """Deliveries a stop interrupted; call inside the loop at start-up."""
        deliveries = [
            Delivery.resumed(d)
            for d in self.store.pending_deliveries()
            if d.id not in self._scheduled  # (a replica resumes again after a takeover)
        ]
        self.schedule(deliveries)
        return len(deliveries)

    def delay(self, attempt: int) -> float:
        """Seconds before attempt ``attempt + 1``: exponential, equal jitter."""
        ceiling = min(self.max_delay, self.initial_delay * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    async def _deliver(self, delivery: Delivery) -> None:
        payload = orjson.dumps(delivery.body)
        # from here on the body is kept as its bytes only (retries may take minutes; a result
        # can be megabytes): each attempt's row embeds them as they are
        delivery.body = orjson.Fragment(payload)
        secret = self.secret_of(delivery.project_id)
        wait = (delivery.next_attempt_at - now()).total_seconds()
        if wait > 0:
            await asyncio.sleep(wait)
        while delivery.status == DeliveryStatus.PENDING:
            delivery.attempts += 1
            timestamp = int(time.time())
            headers = {
                "content-type": "application/json",
                "webhook-id": delivery.id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(secret, delivery.id, timestamp, payload),
            }
            outcome: dict[str, Any] = {
                "deliveryId": delivery.id,
                "kind": delivery.kind,
                "url": delivery.url,
                "attempt": delivery.attempts,
            }
            refused = False
            try:
                async with self._per_host.slot(delivery.url), self._in_flight:
                    response = await self._post(delivery.url, payload, headers)
                outcome["status"] = delivery.last_status = response.status_code
                # the status line only: a body could echo what the server should not show
                delivery.last_error = (
                    None
                    if response.is_success
                    else f"HTTP {response.status_code} {response.reason_phrase}"[:200]
                )
                ok = response.is_success
            except ForbiddenDestination as exc:
                outcome["error"] = delivery.last_error = exc.message
                delivery.last_status = None
                ok, refused = False, True
            except (httpx.HTTPError, OSError, TimeoutError) as exc:
                outcome["error"] = delivery.last_error = _describe(exc)
                delivery.last_status = None
                ok = False
            moment = now()
            if ok:
                delivery.status = DeliveryStatus.DELIVERED
                delivery.delivered_at = moment
            elif refused or delivery.attempts >= self.attempts:
                delivery.status = DeliveryStatus.FAILED
                # by id and host: a webhook's path is often its secret (Slack, Discord, Zapier)
                log.warning(
                    "webhook %s (to %s) not delivered after %d attempts, orchestration %s",
                    webhook_id(delivery.url),
                    httpx.URL(delivery.url).netloc.decode("ascii", "replace"),
                    delivery.attempts,
                    delivery.orchestration_id,
                )
            else:
                pause = self.delay(delivery.attempts)
                outcome["retryIn"] = round(pause, 3)
                delivery.next_attempt_at = moment + timedelta(seconds=pause)
            outcome["outcome"] = delivery.status
            # no commit of its own: it rides with the next one (at most 0.2 s later). A crash
            # before that re-sends the delivery under the same webhook-id, which receivers
            # drop as a repeat
            attempt = Change(
                delivery.orchestration_id,
                EventKind.WEBHOOK_ATTEMPT,
                moment,
                outcome,
                attempted=[delivery],
            )
            self.store.record_lazy([attempt])
            if delivery.status == DeliveryStatus.PENDING:
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
