"""Everything a request handler needs, built once per app in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field, replace

from starlette.requests import HTTPConnection

from ..core.errors import NotFound
from ..core.ids import hash_api_key
from ..delivery.events import EventBus
from ..delivery.webhooks import Outbox
from ..engine import Engine, Run, run_from_rows
from ..engine.adaptation import Replanner
from ..planning import GroundingSpec, PlanMaker
from ..services import frames
from ..services.connections import ServiceHub
from ..services.registry import ServiceRegistry
from ..settings import Settings
from ..store import Store, StoreBackend
from .revocation import KeyStreams

log = logging.getLogger("orra.api")

__all__ = ["Runtime", "runtime_of"]


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
    _salvage_noted: set[str] = field(default_factory=set)
    _pinger: asyncio.Task[None] | None = None

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        store = Store(
            settings.db_path, memory_limit=settings.db_memory_limit, threads=settings.db_threads
        )
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
        runtime = cls(
            settings=settings,
            store=store,
            hub=hub,
            engine=engine,
            registry=registry,
            outbox=outbox,
            events=events,
            planning=PlanMaker(
                settings.llm, cache_size=settings.plan_cache_size, cache_backing=store
            ),
        )
        engine.replanner = Replanner(
            registry, hub, runtime.planning, offline_grace=settings.offline_grace_seconds
        )
        runtime.key_hashes = store.all_key_hashes()
        outbox.secret_of = runtime.webhook_secret_of
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

    def orchestration(
        self, project_id: str, orchestration_id: str, *, encoded: bool = False
    ) -> Run:
        """The project's orchestration, live or from the store; 404 when it has none by that
        id (another project's orchestration included: ids are not secrets, keys are).
        ``encoded``: for a response only — a stored run's large result, inputs and outputs
        stay JSON (``orjson.Fragment``)."""
        run = self.engine.lookup(orchestration_id)
        if run is None:
            try:
                run = self._stored(orchestration_id, encoded=encoded)
            except Exception as exc:  # rows an older version wrote that today's rules refuse
                if orchestration_id not in self._salvage_noted and len(self._salvage_noted) < 1000:
                    self._salvage_noted.add(orchestration_id)  # once per run, not per read
                    log.warning(
                        "orchestration %s is shown as far as its rows can be read (%s: %s)",
                        orchestration_id,
                        type(exc).__name__,
                        str(exc)[:200],
                    )
                run = self._salvaged(orchestration_id)
        if run is None or run.project_id != project_id:
            raise NotFound(
                f"no orchestration '{orchestration_id}' in this project",
                code="orchestration_not_found",
            )
        return run

    def _stored(self, orchestration_id: str, *, encoded: bool) -> Run | None:
        row = self.store.orchestration(orchestration_id, encoded=encoded)
        if row is None:
            return None
        run = run_from_rows(
            row,
            self.store.steps_of(orchestration_id, encoded=encoded),
            self.store.compensations_of(orchestration_id),
        )
        if run.replaced:
            run.revisions = self.store.revisions_of(orchestration_id)
        return run

    def _salvaged(self, orchestration_id: str) -> Run | None:
        """What can be read of a run whose rows do not rebuild: JSON that does not decode is
        None, a dependency on a missing step is left out; failing that, the run without
        steps. A read never answers 500 for what is on disk."""
        row, steps = self.store.salvage(orchestration_id)
        if row is None:
            return None
        try:
            compensations = self.store.compensations_of(orchestration_id)
            return run_from_rows(row, steps, compensations, strict=False)
        except Exception:
            return run_from_rows(replace(row, plan=None), [], strict=False)

    def check_orchestration(self, project_id: str, orchestration_id: str) -> None:
        """404 as :meth:`orchestration` does, without loading a finished run's data when the
        engine still has its summary."""
        known = self.engine.summary(orchestration_id)
        if known is None or known.project_id != project_id:
            self.orchestration(project_id, orchestration_id)

    async def start(self) -> None:
        self.events.bind(asyncio.get_running_loop())
        self.engine.resume_unfinished()
        self.outbox.resume()
        self._pinger = asyncio.get_running_loop().create_task(self._ping_forever())

    async def stop(self) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pinger
        await self.engine.shutdown()
        await self.outbox.close()
        await self.planning.close()
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
                if instance.in_flight:
                    continue
                with contextlib.suppress(Exception):
                    await instance.send(frames.ping(instance.service_id))


def runtime_of(connection: HTTPConnection) -> Runtime:
    return connection.app.state.runtime
