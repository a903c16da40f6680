"""The control plane's parts, wired once per app (in the lifespan) and shared by every use case:
the store, the service hub, the engine, the registry, the webhook outbox, the live events, and
the caches read on every request (key hashes, webhooks, grounding specs)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from ..cluster import Cluster
from ..core import redaction
from ..core.background import Background
from ..core.ids import hash_api_key
from ..delivery.events import EventBus
from ..delivery.webhooks import Outbox
from ..engine import Engine
from ..engine.adaptation import Replanner
from ..planning import GroundingSpec, PlanMaker
from ..services import frames
from ..services.connections import ServiceHub
from ..services.registry import ServiceRegistry
from ..settings import Settings
from ..store import Store, StoreBackend
from ..store.postgres import is_postgres_url, password_of
from .revocation import KeyStreams

log = logging.getLogger("orra.api")

__all__ = ["Runtime"]

#: exports built at the same time (the others wait their turn)
EXPORTS_AT_ONCE = 1


@dataclass
class Runtime:
    settings: Settings
    store: StoreBackend
    hub: ServiceHub
    engine: Engine
    registry: ServiceRegistry
    outbox: Outbox
    events: EventBus
    #: key hash -> project id (keys never change once made, so caching is safe)
    key_hashes: dict[str, str] = field(default_factory=dict)
    #: the event streams each key holds open, ended when it is revoked
    streams: KeyStreams = field(default_factory=KeyStreams)
    #: project id -> (webhook URLs, signing secret); read on every POST, so kept in memory
    _project_cache: dict[str, tuple[list[str], str]] = field(default_factory=dict)
    planning: PlanMaker = field(default_factory=PlanMaker)
    #: project id -> its grounding specs (read on every POST, changed rarely)
    _groundings: dict[str, list[GroundingSpec]] = field(default_factory=dict)
    #: runs whose rows did not rebuild and were shown salvaged (each logged once)
    salvage_noted: set[str] = field(default_factory=set)
    #: an export holds its rows and its encoded body (several times the table's size) in
    #: memory, so exports take turns rather than add up
    export_turns: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(EXPORTS_AT_ONCE)
    )
    _pinger: asyncio.Task[None] | None = None
    #: this process as one replica of several (PostgreSQL only; None with a DuckDB file)
    cluster: Cluster | None = None
    _background: Background = field(default_factory=Background)

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        store = open_store(settings)
        hub = ServiceHub()
        registry = ServiceRegistry(store)
        events = EventBus()
        store.publish_events(events.watching, events.publish)
        outbox = Outbox(store, settings, secret_of=lambda _project_id: "")  # set below
        engine = Engine(
            store,
            hub,
            settings,
            services=registry.cached,
            outbox=outbox,
            compensation_webhooks_of=store.compensation_failure_webhooks_of,
        )
        planning = PlanMaker(settings.llm, cache_size=settings.plan_cache_size, cache_backing=store)
        runtime = cls(settings, store, hub, engine, registry, outbox, events, planning=planning)
        engine.replanner = Replanner(
            registry, hub, runtime.planning, offline_grace=settings.offline_grace_seconds
        )
        runtime.key_hashes = store.all_key_hashes()
        outbox.secret_of = runtime.webhook_secret_of
        if is_postgres_url(settings.db_path):
            runtime.cluster = Cluster(
                store,
                hub,
                engine,
                settings,
                resume=runtime.resume,
                events_committed=runtime.events_committed_elsewhere,
                changed=runtime.changed_elsewhere,
            )
        return runtime

    def project_for_key(self, key: str) -> str | None:
        return self.key_hashes.get(hash_api_key(key))

    def forget_key(self, key_hash: str) -> int:
        """Refuse the key from now on; end the event streams and close the service sockets it
        opened (4001). Returns how many service sockets it closed."""
        self.key_hashes.pop(key_hash, None)
        self.streams.end(key_hash)
        return self.hub.close_key(key_hash)

    def _project_info(self, project_id: str) -> tuple[list[str], str]:
        if project_id not in self._project_cache:
            project = self.store.project(project_id)
            self._project_cache[project_id] = (
                self.store.webhooks_of(project_id),
                (project.webhook_secret if project else None) or "",
            )
        return self._project_cache[project_id]

    def webhook_secret_of(self, project_id: str) -> str:
        return self._project_info(project_id)[1]

    def webhooks_of(self, project_id: str) -> list[str]:
        return list(self._project_info(project_id)[0])

    def forget_project(self, project_id: str) -> None:
        """Call after changing a project's webhooks."""
        self._project_cache.pop(project_id, None)

    def groundings_of(self, project_id: str) -> list[GroundingSpec]:
        if project_id not in self._groundings:
            self._groundings[project_id] = [
                GroundingSpec.model_validate(stored.spec)
                for stored in self.store.groundings_of(project_id)
            ]
        return self._groundings[project_id]

    async def load_groundings(self, project_id: str) -> list[GroundingSpec]:
        """:meth:`groundings_of`, read and validated in a worker thread when not cached (a
        project's specs may be megabytes)."""
        if project_id in self._groundings:
            return self._groundings[project_id]
        return await asyncio.to_thread(self.groundings_of, project_id)

    def forget_groundings(self, project_id: str) -> None:
        self._groundings.pop(project_id, None)

    async def start(self) -> None:
        self.events.bind(asyncio.get_running_loop())
        if self.cluster is not None:
            await self.cluster.start()  # from here on this replica resumes only its own runs
        self.resume()
        self._pinger = asyncio.get_running_loop().create_task(self._ping_forever())

    def resume(self) -> None:
        """Resume the runs, compensations and deliveries this process owns and does not run
        yet: at start-up, and on a replica after it took over a dead one's."""
        self.engine.resume_unfinished()
        self.outbox.resume()

    def changed_elsewhere(self, changes: list[list[str]]) -> None:
        """Another replica changed what this one keeps in memory (``changes_of`` in the
        PostgreSQL writer says what each change is): drop or update the copy. A revoked key is
        refused from here on, and its sockets and streams on this replica close."""
        for change in changes:
            kind, args = change[0], change[1:]
            if kind == "key" and args[1]:
                self.key_hashes[args[0]] = args[1]
            elif kind == "key":
                self.forget_key(args[0])
            elif kind == "project":
                self.forget_project(args[0])
            elif kind == "service":
                self.registry.changed_elsewhere(args[0], args[1])
            elif kind == "grounding":
                self.forget_groundings(args[0])
            elif kind == "plans":
                self.planning.cache.forget_project(args[0])
            elif kind == "all":
                self.forget_everything()

    def forget_everything(self) -> None:
        """What a missed notification could have changed: every cache read afresh; keys gone
        from the store are refused (and their sockets and streams closed)."""
        known = self.store.all_key_hashes()
        for key_hash in set(self.key_hashes) - set(known):
            self.forget_key(key_hash)
        self.key_hashes.update(known)
        self._project_cache.clear()
        self._groundings.clear()
        self.registry.forget_all()

    def events_committed_elsewhere(self, orchestration_ids: list[str]) -> None:
        """Another replica committed events of these runs (its streams here must see them)."""
        self._background.spawn(
            self.events.committed_elsewhere(orchestration_ids, self.store.events_of)
        )

    async def stop(self) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pinger
        await self.engine.shutdown()
        await self.outbox.close()
        await self.planning.close()
        if self.cluster is not None:
            await self.cluster.stop()
        self.store.close()

    async def _ping_forever(self) -> None:
        """Application pings, as the orra SDKs expect, to idle instances only.

        A missed pong never closes a socket. A busy orra Python SDK reads nothing until its
        handler returns: pings queued behind it would fill its client's receive queue (32
        frames), after which it stops reading frames at all — websocket pongs included — and
        drops its own connection. So an instance with a task in flight gets no pings.
        """
        while True:
            await asyncio.sleep(self.settings.ping_interval)
            for instance in self.hub.all_instances():
                if instance.in_flight or instance.remote:  # (its own replica pings it)
                    continue
                with contextlib.suppress(Exception):
                    await instance.send(frames.ping(instance.service_id))


def open_store(settings: Settings) -> StoreBackend:
    """The backend ``settings.db_path`` names: a ``postgresql://`` URL (replicas) or a DuckDB
    file (the embedded default)."""
    if is_postgres_url(settings.db_path):
        from ..store.postgres.store import PostgresStore  # psycopg: an optional dependency

        redaction.add_secret(password_of(settings.db_path))  # never in a log line

        return PostgresStore(settings.db_path)
    return Store(
        settings.db_path, memory_limit=settings.db_memory_limit, threads=settings.db_threads
    )
