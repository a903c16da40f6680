"""Connected service instances: who is online, where a task goes, who waits for whom.

A service is online while at least one of its websockets is open. Several sockets with one
service id are instances of that service; a task goes to the instance with the fewest tasks in
flight (the orra Python SDK runs one task at a time per process).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from starlette.websockets import WebSocket

from .ids import now

__all__ = ["Instance", "ServiceHub"]

_instance_numbers = itertools.count(1)


@dataclass(eq=False)
class Instance:
    service_id: str
    project_id: str
    socket: WebSocket
    number: int = field(default_factory=lambda: next(_instance_numbers))
    connected_at: datetime = field(default_factory=now)
    #: idempotency keys of tasks sent here and not yet answered
    in_flight: set[str] = field(default_factory=set)
    _send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, message: dict[str, Any]) -> None:
        text = orjson.dumps(message).decode()
        async with self._send_lock:
            await self.socket.send_text(text)


class ServiceHub:
    def __init__(self) -> None:
        self._instances: dict[str, list[Instance]] = {}
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._rotation = itertools.count()
        #: called with the instance that went away (the engine re-sends its tasks)
        self.on_instance_lost: Callable[[Instance], None] | None = None

    def add(self, instance: Instance) -> None:
        self._instances.setdefault(instance.service_id, []).append(instance)
        for waiter in self._waiters.pop(instance.service_id, []):
            if not waiter.done():
                waiter.set_result(None)

    def remove(self, instance: Instance) -> None:
        instances = self._instances.get(instance.service_id, [])
        if instance in instances:
            instances.remove(instance)
        if not instances:
            self._instances.pop(instance.service_id, None)
        if self.on_instance_lost is not None and instance.in_flight:
            self.on_instance_lost(instance)

    def is_online(self, service_id: str) -> bool:
        return bool(self._instances.get(service_id))

    def instances(self, service_id: str) -> list[Instance]:
        return list(self._instances.get(service_id, []))

    def all_instances(self) -> list[Instance]:
        return [i for group in self._instances.values() for i in group]

    def pick(self, service_id: str, avoid: Instance | None = None) -> Instance | None:
        """The least busy instance; ``avoid`` (where an attempt just failed) only if alone."""
        instances = self._instances.get(service_id)
        if not instances:
            return None
        if len(instances) == 1:
            return instances[0]
        if avoid is not None and avoid in instances:
            instances = [i for i in instances if i is not avoid]
            if len(instances) == 1:
                return instances[0]
        turn = next(self._rotation)
        ordered = instances[turn % len(instances) :] + instances[: turn % len(instances)]
        return min(ordered, key=lambda i: len(i.in_flight))

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
