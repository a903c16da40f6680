"""Connected service instances: who is online, where a task goes, who waits for whom.

A service is online while at least one of its websockets is open. Several sockets with one
service id are instances of that service; a task goes to the instance with the fewest tasks in
flight (the orra Python SDK runs one task at a time per process).
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from starlette.websockets import WebSocket

from ..core.ids import now
from ..core.limits import SEND_QUEUE_BYTES, SEND_QUEUE_FRAMES

__all__ = ["Instance", "InstanceClosed", "ServiceHub"]

_instance_numbers = itertools.count(1)
log = logging.getLogger("orra.ws")


class InstanceClosed(ConnectionError):
    """The instance's socket is closed or closing: nothing more can be sent to it."""


#: close codes of the service socket (docs/security.md); the orra SDKs reconnect after each
CLOSE_NOT_READING = 1013  # "try again later": frames piled up unread (the peer does not read)
CLOSE_KEY_REVOKED = 4001  # the API key the socket connected with was revoked
CLOSE_SERVER_ERROR = 1011
CLOSE_SILENT = 4002  # no frame and no websocket pong within ORRA_WS_SILENT_GRACE


@dataclass(eq=False)
class Instance:
    """One service socket. Frames to it go through a bounded queue and one writer task.

    A peer that stops reading makes writes block; rather than let frames (and the tasks
    waiting to write them) pile up without bound, the queue has a limit in frames and bytes,
    and a peer that fills it is disconnected (:data:`CLOSE_NOT_READING`).
    """

    service_id: str
    project_id: str
    socket: WebSocket
    #: hash of the API key the socket connected with (revoking the key closes the socket)
    key_hash: str = ""
    number: int = field(default_factory=lambda: next(_instance_numbers))
    connected_at: datetime = field(default_factory=now)
    #: when a frame last came from it (``time.time()``; a float, as it changes on every frame)
    last_seen: float = field(default_factory=time.time)
    #: whether a frame ever came from it (the server pings on connect and the SDKs answer):
    #: one that never spoke gets tasks only when no other instance can take them, since a
    #: socket that completed the upgrade and went silent would hold each task to its timeout
    heard: bool = False
    #: idempotency keys of tasks sent here and not yet answered
    in_flight: set[str] = field(default_factory=set)
    #: tasks it may hold at once (None: no limit). The orra SDKs handle one message at a time
    #: and their client library reads at most 32 frames ahead: more tasks than that queued
    #: behind a busy handler stall its socket (docs/protocol.md, "Capacity")
    capacity: int | None = None
    #: called when it lets go of a task (the hub wakes dispatches waiting for room)
    on_release: Callable[[], None] | None = field(default=None, repr=False)
    max_frames: int = SEND_QUEUE_FRAMES
    max_bytes: int = SEND_QUEUE_BYTES
    #: why the socket is being closed (None while open)
    close_reason: tuple[int, str] | None = None
    #: connected before a registration changed the service's schema: it serves the old
    #: contract, so it gets no new tasks (it may finish what it holds)
    stale: bool = False
    _queue: collections.deque[str] = field(default_factory=collections.deque)
    _queued_bytes: int = 0
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    #: its socket is held by another replica (``orra_server.cluster.remote``)
    remote = False

    @property
    def has_room(self) -> bool:
        return self.capacity is None or len(self.in_flight) < self.capacity

    def release(self, key: str) -> None:
        """It no longer holds task ``key`` (answered, timed out, lost or not sent)."""
        if key in self.in_flight:
            self.in_flight.discard(key)
            if self.on_release is not None:
                self.on_release()

    async def send(self, message: dict[str, Any]) -> None:
        """Queue ``message`` for the socket; raises :class:`InstanceClosed` if it is closing."""
        self.send_nowait(message)

    def send_nowait(self, message: dict[str, Any]) -> None:
        if self.close_reason is not None:
            raise InstanceClosed(f"instance {self.number} of {self.service_id} is closing")
        text = orjson.dumps(message).decode()
        if len(self._queue) >= self.max_frames or self._queued_bytes + len(text) > self.max_bytes:
            self.close(CLOSE_NOT_READING, "frames to this socket piled up unread")
            raise InstanceClosed(f"instance {self.number} of {self.service_id} is not reading")
        self._queue.append(text)
        self._queued_bytes += len(text)
        self._ready.set()

    def close(self, code: int, reason: str) -> None:
        """Ask the writer to close the socket with ``code`` (once; later calls are ignored)."""
        if self.close_reason is None:
            self.close_reason = (code, reason)
            self._queue.clear()
            self._queued_bytes = 0
            self._ready.set()

    async def write_forever(self, abort: Callable[[], None]) -> None:
        """The one writer of this socket: runs until the socket is closed.

        ``abort`` drops the connection without a closing handshake, for a peer so far behind
        that even the close frame cannot be written.
        """
        while True:
            await self._ready.wait()
            if self.close_reason is not None:
                code, reason = self.close_reason
                if code != CLOSE_SERVER_ERROR:
                    log.warning(
                        "closing the socket of service %s (instance %d) with %d: %s",
                        self.service_id,
                        self.number,
                        code,
                        reason,
                    )
                try:
                    await asyncio.wait_for(self.socket.close(code=code, reason=reason), 5.0)
                except Exception:
                    abort()
                return
            if not self._queue:
                self._ready.clear()
                continue
            text = self._queue.popleft()
            self._queued_bytes -= len(text)
            await self.socket.send_text(text)


class ServiceHub:
    def __init__(self) -> None:
        self._instances: dict[str, list[Instance]] = {}
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        #: service id → dispatches waiting for an instance with room (all were full)
        self._room_waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._rotation = itertools.count()
        #: service id → when its last instance went away (a service offline shows it)
        self._gone_at: dict[str, float] = {}
        self._started = time.time()
        #: called with the instance that went away (the engine re-sends its tasks)
        self.on_instance_lost: Callable[[Instance], None] | None = None
        #: called with a socket of this process that came, went or became stale (the
        #: cluster tells the other replicas)
        self.on_local_change: Callable[[Instance], None] | None = None
        #: sockets per project, and those admitted whose upgrade is under way (by service
        #: and by project): the caps count them too, so concurrent upgrades cannot pass them
        self._per_project: collections.Counter[str] = collections.Counter()
        self._opening: collections.Counter[str] = collections.Counter()

    def sockets(self, service_id: str, project_id: str) -> tuple[int, int]:
        """(sockets of the service, sockets of the project), upgrades under way included."""
        return (
            len(self._instances.get(service_id, ())) + self._opening["s:" + service_id],
            self._per_project[project_id] + self._opening["p:" + project_id],
        )

    def opening(self, service_id: str, project_id: str, delta: int) -> None:
        """Count (+1) or stop counting (-1) a socket admitted but not yet added."""
        for key in ("s:" + service_id, "p:" + project_id):
            self._opening[key] += delta
            if self._opening[key] <= 0:
                del self._opening[key]

    def add(self, instance: Instance) -> None:
        self._instances.setdefault(instance.service_id, []).append(instance)
        self._per_project[instance.project_id] += 1
        instance.on_release = lambda: self._wake(self._room_waiters, instance.service_id)
        self._wake(self._waiters, instance.service_id)
        self._wake(self._room_waiters, instance.service_id)
        self._changed(instance)

    def _changed(self, instance: Instance) -> None:
        if not instance.remote and self.on_local_change is not None:
            self.on_local_change(instance)

    @staticmethod
    def _wake(waiters: dict[str, list[asyncio.Future[None]]], service_id: str) -> None:
        for waiter in waiters.pop(service_id, []):
            if not waiter.done():
                waiter.set_result(None)

    def remove(self, instance: Instance) -> None:
        instances = self._instances.get(instance.service_id, [])
        if instance in instances:
            instances.remove(instance)
            self._per_project[instance.project_id] -= 1
            if self._per_project[instance.project_id] <= 0:
                del self._per_project[instance.project_id]
        if not instances:
            self._instances.pop(instance.service_id, None)
            self._gone_at[instance.service_id] = time.time()
        if self.on_instance_lost is not None and instance.in_flight:
            self.on_instance_lost(instance)
        self._wake(self._room_waiters, instance.service_id)  # to wait for another, or go
        self._changed(instance)

    def close_key(self, key_hash: str) -> int:
        """Disconnect every socket that connected with this (revoked) key; returns how many."""
        closing = [i for i in self.all_instances() if i.key_hash == key_hash]
        for instance in closing:
            instance.close(CLOSE_KEY_REVOKED, "the API key of this connection was revoked")
        return len(closing)

    def current(self, service_id: str) -> list[Instance]:
        """The instances that may get new tasks: open, and not stale."""
        return [
            i for i in self._instances.get(service_id, ()) if i.close_reason is None and not i.stale
        ]

    def mark_stale(self, service_id: str) -> int:
        """A registration changed the service's schema: those connected now serve the old one."""
        instances = self.current(service_id)
        for instance in instances:
            instance.stale = True
            self._changed(instance)
        return len(instances)

    def is_online(self, service_id: str) -> bool:
        """Whether an instance can take a new task now (stale ones cannot)."""
        return bool(self.current(service_id))

    def last_seen(self, service_id: str) -> float | None:
        """When an instance of it last sent a frame or went away (None: never since start)."""
        seen = [i.last_seen for i in self._instances.get(service_id, ())]
        return max(seen) if seen else self._gone_at.get(service_id)

    def offline_for(self, service_id: str) -> float:
        """Seconds without an instance that takes tasks (0 while online); a service not seen
        since the control plane started counts from the start."""
        if self.is_online(service_id):
            return 0.0
        return time.time() - self._gone_at.get(service_id, self._started)

    def instances(self, service_id: str) -> list[Instance]:
        return list(self._instances.get(service_id, []))

    def all_instances(self) -> list[Instance]:
        return [i for group in self._instances.values() for i in group]

    def pick(self, service_id: str, avoid: Instance | None = None) -> Instance | None:
        """The least busy instance with room, among those that have spoken if any has;
        ``avoid`` (where an attempt just failed) only if alone. None when offline, or when
        every instance is full (see :meth:`wait_room`)."""
        instances = [i for i in self.current(service_id) if i.has_room]
        if not instances:
            return None
        instances = [i for i in instances if i.heard] or instances
        # a socket this process holds first: a remote one costs two commits per task
        instances = [i for i in instances if not i.remote] or instances
        if len(instances) == 1:
            return instances[0]
        if avoid is not None and avoid in instances:
            instances = [i for i in instances if i is not avoid]
            if len(instances) == 1:
                return instances[0]
        turn = next(self._rotation)
        ordered = instances[turn % len(instances) :] + instances[: turn % len(instances)]
        return min(ordered, key=lambda i: len(i.in_flight))

    async def wait_room(self, service_id: str) -> None:
        """Until an instance of the service lets go of a task, or one comes or goes."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._room_waiters.setdefault(service_id, []).append(future)
        await future

    async def wait_online(self, service_id: str, timeout: float) -> bool:
        if self.is_online(service_id):
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(service_id, []).append(future)
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except TimeoutError:
            return False
