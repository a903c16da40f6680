"""``GET /ws``: a service instance's websocket, framed as protocol.md describes.

Services wrap messages as ``{"id", "payload"}`` and get ``{"type": "ACK", "id"}`` back — for a
result, only after it has committed. Bare payloads (the JS SDK's re-sends) get no ACK. The pong
(``id == "pong"``) gets no ACK. Duplicates are normal and deduplicated by the engine.

Every frame is checked (:mod:`..frames`) before the engine sees it; a bad one is refused with a
logged reason (:class:`Complaints` folds repeats into one line a minute) and the connection
stays up. Frames are rate-limited per connection by not reading past the limit, so a flood
slows its sender instead of the server; ACKs and tasks go out through the instance's bounded
send queue (:class:`~..connections.Instance`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from ..core.grammar import decimal
from ..core.ids import hash_api_key, is_well_formed_api_key
from ..core.limits import FRAME_BURST, FRAMES_PER_SECOND, MAX_FRAME_BYTES
from ..services import frames
from ..services.connections import CLOSE_KEY_REVOKED, Instance, InstanceClosed
from ..services.frames import BadFrame, Frame, read_frame
from .routing import OrjsonRoute
from .runtime import Runtime, runtime_of
from .socket_limits import admit, watch_silence

router = APIRouter(route_class=OrjsonRoute)
log = logging.getLogger("orra.ws")

#: before the upgrade: a bad key or a service of another project (an HTTP 403, no upgrade)
POLICY_VIOLATION = 1008
#: frames larger than this are parsed in a worker thread
_OFF_LOOP_CHARS = 256 * 1024


#: the most tasks a socket may ask to hold at once with ``X-Orra-Capacity``
MAX_CAPACITY = 10_000


def _capacity_of(websocket: WebSocket, legacy: int) -> tuple[int | None, bool]:
    """(tasks the instance may hold at once or None for no limit, whether the ask is valid).

    ``X-Orra-Capacity: N`` says it; without it, a socket that sent its key in the URL (the
    original orra SDKs do) gets ``legacy`` (0: no limit), any other no limit.
    """
    asked = websocket.headers.get("x-orra-capacity")
    if asked is not None:
        capacity = decimal(asked, 1, MAX_CAPACITY)  # ASCII digits only: '²'.isdigit() is true
        return capacity, capacity is not None
    if websocket.headers.get("authorization", "").strip():
        return None, True
    return (legacy or None), True


def _key_of(websocket: WebSocket) -> str:
    """The API key: ``Authorization: Bearer …`` on the upgrade, else ``?apiKey=`` (orra SDKs)."""
    header = websocket.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() == "bearer" and key.strip():
        return key.strip()
    return websocket.query_params.get("apiKey", "")


@router.websocket("/ws")
async def service_socket(websocket: WebSocket) -> None:
    runtime = runtime_of(websocket)
    service_id = websocket.query_params.get("serviceId", "")
    key = _key_of(websocket)
    project_id = runtime.project_for_key(key) if is_well_formed_api_key(key) else None
    service = runtime.registry.by_id(service_id) if service_id else None
    if project_id is None or service is None or service.project_id != project_id:
        await websocket.close(code=POLICY_VIOLATION)
        return
    capacity, valid = _capacity_of(websocket, runtime.settings.legacy_instance_capacity)
    if not valid:  # refused before the upgrade, as a bad key is (HTTP 403)
        log.warning(
            "refused a socket of service %s: X-Orra-Capacity must be a whole number from 1 to %d",
            service_id,
            MAX_CAPACITY,
        )
        await websocket.close(code=POLICY_VIOLATION)
        return
    settings = runtime.settings
    if not await admit(
        websocket,
        runtime.hub,
        service_id,
        project_id,
        per_service=settings.max_instances_per_service,
        per_project=settings.max_sockets_per_project,
    ):
        return
    try:
        await websocket.accept()
    finally:  # counted as opening until added below (or gone: the upgrade failed)
        runtime.hub.opening(service_id, project_id, -1)
    key_hash = hash_api_key(key)
    instance = Instance(
        service_id=service_id,
        project_id=project_id,
        socket=websocket,
        key_hash=key_hash,
        capacity=capacity,
    )
    writer = asyncio.get_running_loop().create_task(
        instance.write_forever(_aborter(websocket)), name=f"ws-writer-{instance.number}"
    )
    complaints = Complaints(service_id, instance.number)
    bucket = TokenBucket(FRAMES_PER_SECOND, FRAME_BURST)
    runtime.hub.add(instance)
    silence = asyncio.get_running_loop().create_task(
        watch_silence(instance, settings.ws_silent_grace), name=f"ws-silence-{instance.number}"
    )
    if key_hash not in runtime.key_hashes:  # revoked while this socket opened
        instance.close(CLOSE_KEY_REVOKED, "the API key of this connection was revoked")
    else:  # the pong marks it as one that speaks (Instance.heard) within a round trip
        with contextlib.suppress(InstanceClosed):
            instance.send_nowait(frames.ping(service_id))
    try:
        while True:
            # when the writer closes or aborts the socket, this receives the disconnect
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                if message.get("code") == 1009:  # a frame over MAX_FRAME_BYTES
                    log.warning(
                        "closed a socket of service %s: a frame passed %d bytes",
                        service_id,
                        MAX_FRAME_BYTES,
                    )
                    runtime.engine.answer_too_large(instance, MAX_FRAME_BYTES)
                break
            instance.last_seen = time.time()
            instance.heard = True
            await bucket.take()
            await _handle(runtime, instance, message, complaints)
    except (WebSocketDisconnect, RuntimeError):  # receive after close
        pass
    finally:
        runtime.hub.remove(instance)
        silence.cancel()
        instance.close(1011, "connection ended")  # stops the writer if it still runs
        if not writer.done():
            writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer
        complaints.flush()


async def _handle(
    runtime: Runtime, instance: Instance, message: dict[str, Any], complaints: Complaints
) -> None:
    text = message.get("text")
    if text is None:
        complaints.add("a binary frame (the protocol sends JSON text frames)")
        return
    try:
        if len(text) > _OFF_LOOP_CHARS:
            frame = await asyncio.to_thread(read_frame, text)
        else:
            frame = read_frame(text)
    except BadFrame as bad:
        complaints.add(bad.reason)
        if bad.message_id is not None:
            _ack_now(instance, bad.message_id)  # so the SDK does not re-send it forever
        return
    if frame.kind == "pong" or frame.message_id == "pong":
        return
    commit = _to_engine(runtime, instance, frame)
    if frame.message_id is None:
        return
    if commit is None:
        _ack_now(instance, frame.message_id)
        return
    message_id = frame.message_id

    def acknowledge(done: asyncio.Future[Any]) -> None:
        if done.cancelled() or done.exception() is not None:
            log.warning(
                "could not record a %s from %s; not ACKing it (%s)",
                frame.kind,
                instance.service_id,
                None if done.cancelled() else done.exception(),
            )
            return  # the SDK re-sends unACKed messages after reconnecting
        _ack_now(instance, message_id)

    asyncio.ensure_future(commit).add_done_callback(acknowledge)


def _to_engine(runtime: Runtime, instance: Instance, frame: Frame):
    engine = runtime.engine
    if frame.kind == "task_result":
        return engine.on_task_result(instance, frame.payload)
    if frame.kind == "task_interim_result":
        return engine.on_interim_result(instance, frame.payload)
    if frame.kind == "task_abort_result":
        return engine.on_abort_result(instance, frame.payload)
    if frame.kind == "task_status":
        return engine.on_task_status(instance, frame.payload)
    return None


def _ack_now(instance: Instance, message_id: str) -> None:
    with contextlib.suppress(InstanceClosed):
        instance.send_nowait(frames.ack(message_id))


def _aborter(websocket: WebSocket) -> Callable[[], None]:
    """Drop the TCP connection at once: for a peer that does not read even a close frame.

    ASGI has no abort; uvicorn's websocket protocols keep their transport as ``.transport``
    on the object whose bound ``send`` the app received (``server_send`` in the scope, set by
    :class:`KeepServerSend`). Without it, returning from the handler closes the socket
    normally once its buffer drains.
    """

    def abort() -> None:
        send = websocket.scope.get("orra.server_send")
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        if transport is not None:
            transport.abort()

    return abort


class KeepServerSend:
    """ASGI middleware (outermost): keeps the server's own ``send`` for :func:`_aborter`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            scope["orra.server_send"] = send
        await self.app(scope, receive, send)


class TokenBucket:
    """At most ``rate`` frames a second on average, ``burst`` at once; waits when empty."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    async def take(self) -> None:
        moment = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (moment - self.stamp) * self.rate)
        self.stamp = moment
        if self.tokens < 1:
            await asyncio.sleep((1 - self.tokens) / self.rate)
            self.tokens = 1.0
            self.stamp = time.monotonic()
        self.tokens -= 1


class Complaints:
    """Refused frames of one connection: the first logged at once, the rest once a minute."""

    window = 60.0

    def __init__(self, service_id: str, number: int) -> None:
        self.who = f"service {service_id} (instance {number})"
        self.count = 0
        self.last = ""
        self.since = 0.0

    def add(self, reason: str) -> None:
        moment = time.monotonic()
        if self.count and moment - self.since >= self.window:
            self.flush()
        if not self.count and moment - self.since >= self.window:
            log.warning("refused a frame from %s: %s", self.who, reason[:300])
            self.since = moment
            return
        self.count += 1
        self.last = reason

    def flush(self) -> None:
        if self.count:
            log.warning(
                "refused %d more malformed frame%s from %s in the last minute (last: %s)",
                self.count,
                "" if self.count == 1 else "s",
                self.who,
                self.last[:300],
            )
        self.count = 0
        self.since = time.monotonic()
