"""This process as one replica of several on one PostgreSQL database.

What a replica does besides serving requests (docs/scale-out.md):

- it **joins** under a new id, **heartbeats** every ``replica_heartbeat_seconds``, and exits
  the moment it learns it was declared dead (a heartbeat refused, or a commit refused by the
  writer's fence) — its runs belong to others by then;
- it **watches the others**: one silent past ``replica_dead_after_seconds`` is declared dead,
  and its runs (unfinished, or with a webhook or a compensation still owed) are claimed and
  resumed here as a restart resumes them;
- it **publishes its service sockets** and keeps a :class:`RemoteInstance` for every socket
  the others hold, so the engine can send any task to any service;
- it **relays**: frames other replicas left for its sockets go out on them, and what a service
  answers for a run owned elsewhere goes into the owner's inbox, ACKed only once committed;
  what arrives in its own inbox it applies as if the service had answered here;
- it **forwards events** committed elsewhere to its event streams (gap-free: a run's events
  are written by its owner alone, in order, and announced when they commit).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from typing import Any

import orjson

from ..core.background import Background
from ..engine import Engine
from ..services.connections import Instance, ServiceHub
from ..settings import Settings
from ..store.postgres.cluster import (
    RELAY_CHANNEL,
    ClusterTables,
    StoredReplica,
    relay_ops,
    session_name,
)
from ..store.postgres.writer import CHANGES_CHANNEL, Notify
from .inbox import INBOX_CHANNEL, Inbox
from .listener import Listener
from .remote import RemoteInstance

__all__ = ["Cluster"]

log = logging.getLogger("orra.cluster")

SOCKETS_CHANNEL = "orra_sockets"
EVENTS_CHANNEL = "orra_events"

#: the exit status of a replica that was declared dead
EXIT_DECLARED_DEAD = 75


class Cluster:
    def __init__(
        self,
        store: Any,  # a PostgresStore
        hub: ServiceHub,
        engine: Engine,
        settings: Settings,
        *,
        resume: Any,  # () -> None: resume what was claimed (the runtime's recovery)
        events_committed: Any = None,  # (run ids) -> None: the event bus
        changed: Any = None,  # (changes) -> None: the runtime's caches
    ) -> None:
        self.store = store
        self.tables: ClusterTables = store.cluster
        self.hub = hub
        self.engine = engine
        self.settings = settings
        #: the id its database sessions already carry (``PostgresStore.identity``)
        self.id: str = store.identity
        self._resume = resume
        self._events_committed = events_committed
        self._changed = changed
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: Listener | None = None
        #: its loops and what notifications start (held until they end; cancelled at stop)
        self._background = Background()
        #: (replica, number) → the remote instance standing for that socket
        self._remote: dict[tuple[str, int], RemoteInstance] = {}
        self.inbox = Inbox(self.id, store, engine, self._remote, self._spawn)
        self.route = self.inbox.route
        self.forward = self.inbox.forward
        self.role = "starting"
        #: since when every heartbeat of this replica has been written (None after a failure)
        self._beating_since: float | None = None
        #: set after each heartbeat written: the watcher judges then
        self._heartbeat_written = asyncio.Event()

    # -- life ---------------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self.tables.join, self.id, None)
        self._beating_since = time.monotonic()
        self.store.join_cluster()
        self.store.writer.on_fenced = lambda: self._loop.call_soon_threadsafe(  # type: ignore[union-attr]
            self._declared_dead, "a commit was refused by the fence"
        )
        self.hub.on_local_change = self._local_changed
        self._listener = Listener(
            self.store.url,
            {
                SOCKETS_CHANNEL: lambda _p: self._spawn(self._sync_sockets()),
                RELAY_CHANNEL: self._relay_heard,
                INBOX_CHANNEL: lambda _p: self._spawn(self.inbox.apply_all()),
                EVENTS_CHANNEL: self._events_heard,
                CHANGES_CHANNEL: self._changes_heard,
            },
            self._loop,
            session_name("orra-listener", self.id),
            on_reconnect=self._reconnected,
        )
        await asyncio.to_thread(self._listener.start)
        await self._catch_up()
        self.role = "serving"
        self._spawn(self._heartbeat_forever())
        self._spawn(self._watch_forever())
        log.info("replica %s joined the cluster", self.id)

    async def stop(self) -> None:
        """Leave on our own: the others take over the runs at once (no dead time to wait)."""
        tasks = list(self._background)
        self._background.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._listener is not None:
            await asyncio.to_thread(self._listener.stop)
        if not self.store.writer.fenced:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.tables.leave, self.id)

    def _declared_dead(self, why: str) -> None:
        """Stop serving at once: the runs are someone else's now (docs/scale-out.md)."""
        log.critical("replica %s was declared dead (%s); exiting", self.id, why)
        logging.shutdown()
        os._exit(EXIT_DECLARED_DEAD)

    def _spawn(self, coroutine: Any) -> None:
        self._background.spawn(coroutine).add_done_callback(_log_failure)

    def _reconnected(self) -> None:
        """Notifications may have been missed while the listener was away, and the database
        may have restarted (the idle read connections are dead then)."""
        if self._changed is not None:
            self._changed([["all"]])
        self._spawn(asyncio.to_thread(self.store.drop_broken_connections))
        self._spawn(self._catch_up())

    def _changes_heard(self, payload: str) -> None:
        note = orjson.loads(payload)
        if note.get("from") != self.id and self._changed is not None:
            self._changed(note["changes"])

    async def _catch_up(self) -> None:
        """Everything a missed notification could have said, read afresh."""
        await self._sync_sockets()
        self._relay_heard(self.id)
        await self.inbox.apply_all()

    async def replicas(self) -> list[StoredReplica]:
        return await asyncio.to_thread(self.tables.replicas)

    # -- heartbeat and takeover ---------------------------------------------------------------
    async def _heartbeat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.replica_heartbeat_seconds)
            try:
                alive = await asyncio.to_thread(self.tables.heartbeat, self.id)
            except Exception as exc:  # the database is away: the writer's fence decides
                log.warning("heartbeat failed: %s", exc)
                self._beating_since = None
                continue
            if not alive:
                self._declared_dead("its heartbeat was refused")
            if self._beating_since is None:
                self._beating_since = time.monotonic()
            self._heartbeat_written.set()

    async def _watch_forever(self) -> None:
        """Look for dead replicas right after each heartbeat of this one is written, so its
        own heartbeat is fresh when it judges (the database refuses a late judge), and in a
        task of its own, so a long takeover never delays the next heartbeat."""
        while True:
            try:
                await self.take_over()
            except Exception as exc:
                log.warning("looking for dead replicas failed: %s", exc)
            await self._heartbeat_written.wait()
            self._heartbeat_written.clear()

    def _may_judge_silence(self) -> bool:
        """Whether this replica has heartbeated without a failure for a whole dead time. When
        it could not write its own heartbeat (the database was away, or its network), the
        others most likely could not either: declaring them dead the moment it is back would
        take the whole cluster down after any outage longer than the dead time."""
        since = self._beating_since
        dead_after = self.settings.replica_dead_after_seconds
        return since is not None and time.monotonic() - since >= dead_after

    async def take_over(self) -> list[str]:
        """Declare the silent replicas dead and claim their work; the runs claimed."""
        if self._may_judge_silence():
            silent = self.settings.replica_dead_after_seconds
            dead = await asyncio.to_thread(self.tables.declare_dead, silent, self.id)
            if dead:
                log.warning("declared replica(s) %s dead (silent > %g s)", ", ".join(dead), silent)
                await self._sync_sockets()
        claimed = await asyncio.to_thread(self.tables.claim_runs, self.id)
        if claimed:
            log.warning("took over %d run(s) of replicas that stopped", len(claimed))
            self.role = "recovering"
            try:
                self._resume()
            finally:
                self.role = "serving"
            await self.inbox.apply_all()
        return claimed

    # -- service sockets ----------------------------------------------------------------------
    def _local_changed(self, instance: Instance) -> None:
        self._spawn(self._publish_socket(instance))

    async def _publish_socket(self, instance: Instance) -> None:
        if instance in self.hub.instances(instance.service_id):
            row = {
                "instance": instance.number,
                "service_id": instance.service_id,
                "project_id": instance.project_id,
                "key_hash": instance.key_hash,
                "capacity": instance.capacity,
                "stale": instance.stale,
            }
            await asyncio.to_thread(self.tables.socket_opened, self.id, row)
        else:
            await asyncio.to_thread(self.tables.socket_closed, self.id, instance.number)
        await self.store.writer.submit([Notify(SOCKETS_CHANNEL, self.id)])

    async def _sync_sockets(self) -> None:
        """The others' sockets as remote instances: new ones added, gone ones removed (the
        engine then re-sends the tasks they held)."""
        rows = await asyncio.to_thread(self.tables.sockets)
        seen = {(r.replica_id, r.instance): r for r in rows if r.replica_id != self.id}
        for address, instance in list(self._remote.items()):
            if address not in seen:
                del self._remote[address]
                instance.close(1001, "its replica let the socket go")
                self.hub.remove(instance)
            else:
                instance.stale = seen[address].stale
        for address, row in seen.items():
            if address in self._remote:
                continue
            instance = RemoteInstance(
                service_id=row.service_id,
                project_id=row.project_id,
                socket=None,  # type: ignore[arg-type]
                key_hash=row.key_hash,
                capacity=row.capacity,
                stale=row.stale,
                heard=True,
                replica_id=row.replica_id,
                remote_number=row.instance,
                relay=self._relay_out,
            )
            self._remote[address] = instance
            self.hub.add(instance)

    def _relay_out(self, instance: RemoteInstance, message: dict[str, Any]) -> asyncio.Future[None]:
        """A frame for a socket another replica holds: a relay row and its NOTIFY, one commit.
        It carries the run a task belongs to, so the answer finds its way back."""
        key = (instance.service_id, str(message.get("idempotencyKey") or ""))
        entry = self.engine.dispatcher.pending.get(key)
        run = entry[0].id if entry else None
        ops = relay_ops(instance.replica_id, instance.remote_number, run, message)
        return self.store.writer.submit(ops)

    def _relay_heard(self, replica_id: str) -> None:
        if replica_id == self.id:
            self._spawn(self._relay_in())

    async def _relay_in(self) -> None:
        """Frames the others left for sockets held here, sent on them in order."""
        frames = await asyncio.to_thread(self.tables.take_relayed, self.id)
        by_number = {i.number: i for i in self.hub.all_instances() if not i.remote}
        for relayed in frames:
            instance = by_number.get(relayed.instance)
            if instance is None:
                continue  # the socket went: its owner re-sends when it hears so
            message = relayed.message
            if relayed.run:
                key = str(message.get("idempotencyKey") or "")
                self.inbox.relayed_task(instance.service_id, key, relayed.run)
            with contextlib.suppress(Exception):
                instance.send_nowait(message)

    # -- events committed elsewhere -----------------------------------------------------------
    def _events_heard(self, payload: str) -> None:
        if self._events_committed is not None:
            ids = [i for i in payload.split(",") if i and i not in self.engine.runs]
            if ids:
                self._events_committed(ids)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("cluster work failed: %r", task.exception())
