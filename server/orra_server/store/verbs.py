"""The store's verbs: each turns into the writer's operations and resolves once committed.

Callers hand over aware times and decoded values (or the engine's own state, read by
attribute through the protocols of ``records.py``); the encoding happens here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from orra_sdk.vocabulary import SETTLED_EVENT, EventKind

from .projection import Delete, Insert, Operation, Update
from .reads import WEBHOOK_TABLES, WebhookKind
from .records import (
    Change,
    NewProject,
    OrchestrationRecord,
    StepRecord,
    dumps,
    encoded,
    naive,
    operations,
)
from .rows import StoredCompensationFailure, StoredEvent, StoredGrounding, StoredService
from .writer import GroupCommitWriter

__all__ = ["Verbs"]

log = logging.getLogger("orra.store")


class Verbs:
    """Every write of :class:`~orra_server.store.Store` (which starts ``writer``)."""

    writer: GroupCommitWriter
    #: whether the current-state tables lag the events (DuckDB: events keep snapshots of the
    #: rows they changed, replayed after a crash); PostgreSQL writes both in one transaction
    projection_lags: bool
    _rows: Callable[..., list[dict[str, Any]]]  # (reads.Reads has it)

    def _write(self, ops: list[Operation]):  # -> asyncio.Future[None]
        return self.writer.submit(ops)

    async def sync(self) -> None:
        """Make the current-state tables reflect every write so far (before listing them)."""
        await self.writer.sync()

    def projected(self):  # -> asyncio.Future[None]
        """Resolves once every write committed so far is in the current-state tables, at the
        next regular projection batch (no extra one: :meth:`sync` forces one)."""
        return self.writer.when_projected()

    def publish_events(
        self,
        watched: Callable[[str | None], bool],
        deliver: Callable[[list[StoredEvent]], None],
    ) -> None:
        """After each commit, on the writer thread: ``deliver`` the committed events of the
        orchestrations ``watched`` says yes to (the others cost one call each)."""

        def publish(rows: list[dict[str, Any]]) -> None:
            chosen = [_live(row) for row in rows if watched(row["orchestration_id"])]
            if chosen:
                deliver(chosen)

        self.writer.on_events = publish

    # -- orchestrations ----------------------------------------------------------------------
    def record(self, changes: list[Change]):  # -> asyncio.Future[None]
        """Commit ``changes`` together: all of them or, after a crash, none."""
        return self.writer.submit(operations(changes, snapshots=self.projection_lags))

    def record_lazy(self, changes: list[Change]) -> None:
        """Record ``changes`` with the next commit; for facts a crash may lose (a status)."""
        self.writer.submit_lazy(operations(changes, snapshots=self.projection_lags))

    def accept(
        self,
        run: OrchestrationRecord,
        steps: list[StepRecord],
        planning: list[Change] = (),  # type: ignore[assignment]
        then: list[Change] = (),  # type: ignore[assignment]
    ):  # -> asyncio.Future[None]
        """A new orchestration with its steps, the events of how its plan was made before it
        and ``then`` (its first dispatches) after it, in one commit. Its time is that of the
        last of them (not the request's), so the events' times follow their numbers."""
        accepted = Change(
            run.id,
            EventKind.ORCHESTRATION_ACCEPTED,
            max([run.created_at, *(change.at for change in planning)]),
            run.plan,
            orchestration=run,
            steps=steps,
            new=True,
        )
        return self.record([*planning, accepted, *then])

    # -- projects, keys, webhooks ------------------------------------------------------------
    def add_project(self, project: NewProject):  # -> asyncio.Future[None]
        """A project with its first key (named ``default``) and its webhooks, in one commit."""
        moment = naive(project.created_at)
        row = {"id": project.id, "name": project.name, "webhook_secret": project.webhook_secret}
        key = {"key_hash": project.key_hash, "project_id": project.id, "name": "default"}
        ops: list[Operation] = [
            Insert("projects", {**row, "created_at": moment}),
            Insert("api_keys", {**key, "created_at": moment}),
        ]
        ops += [
            Insert("webhooks", {"project_id": project.id, "url": url, "created_at": moment})
            for url in project.webhooks
        ]
        return self._write(ops)

    def add_api_key(self, project_id: str, key_hash: str, name: str, *, at: datetime):
        row = {"key_hash": key_hash, "project_id": project_id, "name": name}
        return self._write([Insert("api_keys", {**row, "created_at": naive(at)})])

    def revoke_api_key(self, key_hash: str):
        return self._write([Delete("api_keys", {"key_hash": key_hash})])

    def rotate_api_key(
        self, project_id: str, old_hash: str, new_hash: str, name: str, *, at: datetime
    ):
        """The new key and the old one's revocation in one commit: never both, never none."""
        row = {"key_hash": new_hash, "project_id": project_id, "name": name}
        return self._write(
            [
                Insert("api_keys", {**row, "created_at": naive(at)}),
                Delete("api_keys", {"key_hash": old_hash}),
            ]
        )

    def add_webhook(self, kind: WebhookKind, project_id: str, url: str, *, at: datetime):
        row = {"project_id": project_id, "url": url, "created_at": naive(at)}
        return self._write([Insert(WEBHOOK_TABLES[kind], row)])

    def remove_webhook(self, kind: WebhookKind, project_id: str, url: str):
        return self._write([Delete(WEBHOOK_TABLES[kind], {"project_id": project_id, "url": url})])

    # -- services and groundings -------------------------------------------------------------
    def save_service(self, service: StoredService, *, replaces: bool):
        """Store a registration (``replaces``: the service id exists)."""
        row = encoded(service, "services")
        return self._write([Update("services", row) if replaces else Insert("services", row)])

    def save_grounding(self, grounding: StoredGrounding, *, replaces: bool):
        """Store a grounding spec (``replaces``: a row of that name exists, deleted or not)."""
        row = encoded(grounding, "groundings")
        return self._write([Update("groundings", row) if replaces else Insert("groundings", row)])

    def delete_grounding(self, grounding: StoredGrounding, *, at: datetime):
        """Mark the spec deleted (as :meth:`grounding` read it); its history stays."""
        return self._write([Update("groundings", encoded(grounding, "groundings", deleted_at=at))])

    # -- the plan cache (planning/cache.py reads and writes through these) --------------------
    def save_plan(
        self, key: str, project_id: str, plan: dict[str, Any], provenance: dict[str, Any]
    ) -> None:
        """Kept when it can be: a lost write only costs a re-plan."""
        row = {
            "key": key,
            "project_id": project_id,
            "plan": dumps(plan),
            "provenance": dumps(provenance),
            "created_at": naive(datetime.now(UTC)),
        }
        # (the writer runs a batch's deletes after its inserts: replace by update, not by both)
        exists = self._rows("SELECT 1 FROM plan_cache WHERE key = ?", (key,))
        op = Update("plan_cache", row) if exists else Insert("plan_cache", row)
        self._write([op]).add_done_callback(_log_write_failure)

    def drop_plan(self, key: str) -> None:
        self._write([Delete("plan_cache", {"key": key})]).add_done_callback(_log_write_failure)

    async def clear_plan_cache(self, project_id: str) -> int:
        """Delete the project's cached plans; how many there were."""
        counted = self._rows(
            "SELECT count(*) AS n FROM plan_cache WHERE project_id = ?", (project_id,)
        )
        await self._write([Delete("plan_cache", {"project_id": project_id})])
        return int(counted[0]["n"]) if counted else 0

    # -- compensation failures -----------------------------------------------------------------
    def settle_compensation_failure(
        self, failure: StoredCompensationFailure, status: str, reason: str, *, at: datetime
    ):
        """Mark a failure ``resolved`` or ``ignored`` (as :meth:`compensation_failure` read
        it), with a ``compensation_failure_<status>`` event, in one commit."""
        row = encoded(
            failure, "compensation_failures", status=status, resolution=reason, updated_at=at
        )
        payload = {"failureId": failure.id, "reason": reason}
        event = Change(
            failure.orchestration_id,
            SETTLED_EVENT[status],
            at,
            payload,
            failure.step_id,
        )
        ops = operations([event], snapshots=self.projection_lags)
        return self._write([Update("compensation_failures", row), *ops])


def _log_write_failure(future: Any) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("a plan cache write failed: %s", future.exception())


def _live(row: dict[str, Any]) -> StoredEvent:
    """An event row as the writer committed it: no number yet, its payload still JSON text."""
    return StoredEvent(
        None,
        row["seq"],
        row["orchestration_id"],
        row["step_id"],
        row["type"],
        row["occurred_at"].replace(tzinfo=UTC),
        row["payload"],
    )
