"""A service instance's socket, as the control plane sees it once the transport has it: who
may connect (its key's project owns the service), how many sockets may be open, the frames
it sends checked and handed to the engine (ACKed once what they carry has committed), and
its leaving.

Frames are rate-limited per connection by not reading past the limit, so a flood slows its
sender instead of the server; a bad frame is refused with a logged reason
(:class:`Complaints` folds repeats into one line a minute) and the connection stays up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orra_sdk.vocabulary import PONG_MESSAGE_ID, ServiceFrame

from ..core.ids import hash_api_key, is_well_formed_api_key
from ..core.limits import FRAME_BURST, FRAMES_PER_SECOND, MAX_FRAME_BYTES
from ..services import frames
from ..services.connections import CLOSE_KEY_REVOKED, Instance, InstanceClosed
from ..services.frames import BadFrame, Frame, read_frame
from .runtime import Runtime
from .socket_health import watch_silence

__all__ = [
    "Connection",
    "Refusal",
    "authorise",
    "connect",
    "disconnect",
    "frame_too_large",
    "opened",
    "receive",
    "reserve",
]

log = logging.getLogger("orra.ws")

#: frames larger than this are parsed in a worker thread
_OFF_LOOP_CHARS = 256 * 1024


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a socket may not open: past a bound on open sockets."""

    code: str
    message: str


@dataclass(slots=True)
class Connection:
    """An open socket's instance and what serves it (its writer, its silence watch)."""

    instance: Instance
    writer: asyncio.Task[None]
    silence: asyncio.Task[None]
    complaints: Complaints
    bucket: TokenBucket = field(default_factory=lambda: TokenBucket(FRAMES_PER_SECOND, FRAME_BURST))


def authorise(runtime: Runtime, key: str, service_id: str) -> str | None:
    """The project of ``key`` when it owns the service ``service_id``; None: refuse."""
    project_id = runtime.project_for_key(key) if is_well_formed_api_key(key) else None
    service = runtime.registry.by_id(service_id) if service_id else None
    if project_id is None or service is None or service.project_id != project_id:
        return None
    return project_id


def _refusal(limit: int, whose: str, setting: str) -> str:
    return (
        f"too many sockets: {whose} already has {limit} open (the most allowed); close "
        f"unused instances or raise {setting} on the control plane"
    )


def reserve(runtime: Runtime, service_id: str, project_id: str) -> Refusal | None:
    """Count the socket as opening (call :func:`opened` once it is added or gone), or say why
    it may not: past ``ORRA_MAX_INSTANCES_PER_SERVICE`` sockets of its service or
    ``ORRA_MAX_SOCKETS_PER_PROJECT`` of its project."""
    settings, hub = runtime.settings, runtime.hub
    of_service, of_project = hub.sockets(service_id, project_id)
    if of_service >= settings.max_instances_per_service:
        refusal = Refusal(
            "too_many_instances",
            _refusal(
                settings.max_instances_per_service,
                f"service {service_id}",
                "ORRA_MAX_INSTANCES_PER_SERVICE",
            ),
        )
    elif of_project >= settings.max_sockets_per_project:
        refusal = Refusal(
            "too_many_sockets",
            _refusal(
                settings.max_sockets_per_project, "this project", "ORRA_MAX_SOCKETS_PER_PROJECT"
            ),
        )
    else:
        hub.opening(service_id, project_id, +1)
        return None
    log.warning("refused a socket of service %s: %s", service_id, refusal.message)
    return refusal


def opened(runtime: Runtime, service_id: str, project_id: str) -> None:
    """The socket reserved is added (or gone: the upgrade failed): no longer opening."""
    runtime.hub.opening(service_id, project_id, -1)


def connect(
    runtime: Runtime,
    socket: Any,
    *,
    service_id: str,
    project_id: str,
    key: str,
    capacity: int | None,
    abort: Callable[[], None],
) -> Connection:
    """Add the instance to the hub, start its writer and its silence watch; closed at once
    (4001) when its key was revoked while it opened."""
    key_hash = hash_api_key(key)
    instance = Instance(service_id, project_id, socket, key_hash=key_hash, capacity=capacity)
    loop = asyncio.get_running_loop()
    writer = loop.create_task(instance.write_forever(abort), name=f"ws-writer-{instance.number}")
    complaints = Complaints(service_id, instance.number)
    runtime.hub.add(instance)
    silence = loop.create_task(
        watch_silence(instance, runtime.settings.ws_silent_grace),
        name=f"ws-silence-{instance.number}",
    )
    if key_hash not in runtime.key_hashes:  # revoked while this socket opened
        instance.close(CLOSE_KEY_REVOKED, "the API key of this connection was revoked")
    else:  # the pong marks it as one that speaks (Instance.heard) within a round trip
        with contextlib.suppress(InstanceClosed):
            instance.send_nowait(frames.ping(service_id))
    return Connection(instance, writer, silence, complaints)


async def receive(runtime: Runtime, connection: Connection, message: dict[str, Any]) -> None:
    """A message the socket received: counted against the rate, checked, handed on."""
    instance = connection.instance
    instance.last_seen = time.time()
    instance.heard = True
    await connection.bucket.take()
    await _handle(runtime, instance, message, connection.complaints)


def frame_too_large(runtime: Runtime, connection: Connection) -> None:
    """The transport closed the socket for a frame over :data:`MAX_FRAME_BYTES`."""
    log.warning(
        "closed a socket of service %s: a frame passed %d bytes",
        connection.instance.service_id,
        MAX_FRAME_BYTES,
    )
    runtime.engine.answer_too_large(connection.instance, MAX_FRAME_BYTES)


async def disconnect(runtime: Runtime, connection: Connection) -> None:
    """The socket is gone: the instance leaves the hub, its writer and watch stop."""
    instance, writer = connection.instance, connection.writer
    runtime.hub.remove(instance)
    connection.silence.cancel()
    instance.close(1011, "connection ended")  # stops the writer if it still runs
    if not writer.done():
        writer.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await writer
    connection.complaints.flush()


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
    if frame.kind == ServiceFrame.PONG or frame.message_id == PONG_MESSAGE_ID:
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
    if runtime.cluster is not None:  # an answer for a run another replica owns goes there
        routed = runtime.cluster.route(instance, frame)
        if routed is not None:
            return routed
    engine = runtime.engine
    if frame.kind == ServiceFrame.TASK_RESULT:
        return engine.on_task_result(instance, frame.payload)
    if frame.kind == ServiceFrame.TASK_INTERIM_RESULT:
        return engine.on_interim_result(instance, frame.payload)
    if frame.kind == ServiceFrame.TASK_ABORT_RESULT:
        return engine.on_abort_result(instance, frame.payload)
    if frame.kind == ServiceFrame.TASK_STATUS:
        return engine.on_task_status(instance, frame.payload)
    return None


def _ack_now(instance: Instance, message_id: str) -> None:
    with contextlib.suppress(InstanceClosed):
        instance.send_nowait(frames.ack(message_id))


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
