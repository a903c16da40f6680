"""What a store backend must offer: the control plane uses nothing else of it.

:class:`~orra_server.store.Store` (DuckDB, the embedded default) implements it; a second
backend (PostgreSQL, for several replicas) implements the same methods and joins the
``store`` fixture of ``tests/test_store_contract.py``. Verbs return an awaitable that resolves
once the change has committed; reads return the frozen objects of ``rows.py`` (decoded once,
inside the backend, every time aware UTC).

The orchestration path speaks in :class:`~orra_server.store.Change` objects (an event and the
state it changed, read by attribute through the record protocols of ``records.py``): the store
owns every encoding, so no caller knows a table, a column, JSON text or a naive time.
``tests/test_store_contract.py`` exercises every method here (a test fails when one has no
contract test).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

from .paging import DEFAULT_SORT, Cursor
from .records import Change, OrchestrationRecord, StepRecord
from .rows import (
    StoredApiKey,
    StoredCompensation,
    StoredCompensationFailure,
    StoredDelivery,
    StoredEvent,
    StoredGrounding,
    StoredOrchestration,
    StoredProject,
    StoredService,
    StoredStep,
)

__all__ = ["StoreBackend"]


@runtime_checkable
class StoreBackend(Protocol):
    # -- writing -------------------------------------------------------------------------------
    def record(self, changes: list[Change]) -> Awaitable[None]: ...
    def record_lazy(self, changes: list[Change]) -> None: ...
    def accept(
        self,
        run: OrchestrationRecord,
        steps: list[StepRecord],
        planning: list[Change] = (),
        then: list[Change] = (),
    ) -> Awaitable[None]: ...
    async def sync(self) -> None: ...
    def projected(self) -> Awaitable[None]: ...
    def close(self) -> None: ...
    def publish_events(
        self,
        watched: Callable[[str | None], bool],
        deliver: Callable[[list[StoredEvent]], None],
    ) -> None:
        """After each commit: ``deliver`` the new events of the runs ``watched`` accepts."""

    # -- projects, keys, webhooks ------------------------------------------------------------
    def add_project(
        self,
        project_id: str,
        name: str,
        *,
        webhook_secret: str,
        key_hash: str,
        webhooks: list[str],
        at: datetime,
    ) -> Awaitable[None]: ...
    def add_api_key(
        self, project_id: str, key_hash: str, name: str, *, at: datetime
    ) -> Awaitable[None]: ...
    def revoke_api_key(self, key_hash: str) -> Awaitable[None]: ...
    def rotate_api_key(
        self, project_id: str, old_hash: str, new_hash: str, name: str, *, at: datetime
    ) -> Awaitable[None]: ...
    def add_webhook(
        self, kind: Any, project_id: str, url: str, *, at: datetime
    ) -> Awaitable[None]: ...
    def remove_webhook(self, kind: Any, project_id: str, url: str) -> Awaitable[None]: ...
    def webhooks(self, kind: Any, project_id: str) -> list[str]: ...
    def project(self, project_id: str) -> StoredProject | None: ...
    def all_key_hashes(self) -> dict[str, str]: ...
    def api_keys_of(self, project_id: str) -> list[StoredApiKey]: ...
    def webhooks_of(self, project_id: str) -> list[str]: ...
    def compensation_failure_webhooks_of(self, project_id: str) -> list[str]: ...

    # -- services and groundings -------------------------------------------------------------
    def save_service(self, service: StoredService, *, replaces: bool) -> Awaitable[None]: ...
    def service(self, service_id: str) -> StoredService | None: ...
    def service_by_name(self, project_id: str, name: str) -> StoredService | None: ...
    def services_of(self, project_id: str) -> list[StoredService]: ...
    def save_grounding(
        self,
        project_id: str,
        name: str,
        *,
        domain: str,
        version: str,
        spec: dict[str, Any],
        created_at: datetime,
        at: datetime,
        replaces: bool,
    ) -> Awaitable[None]: ...
    def delete_grounding(self, grounding: StoredGrounding, *, at: datetime) -> Awaitable[None]: ...
    def grounding(self, project_id: str, name: str) -> StoredGrounding | None: ...
    def groundings_of(self, project_id: str) -> list[StoredGrounding]: ...

    # -- the plan cache (a lost write only costs a re-plan) ----------------------------------
    def load_plan(self, key: str) -> tuple[dict[str, Any], dict[str, Any]] | None: ...
    def save_plan(
        self, key: str, project_id: str, plan: dict[str, Any], provenance: dict[str, Any]
    ) -> None: ...
    def drop_plan(self, key: str) -> None: ...
    async def clear_plan_cache(self, project_id: str) -> int: ...

    # -- orchestrations ------------------------------------------------------------------------
    def orchestration(
        self, orchestration_id: str, *, encoded: bool = False
    ) -> StoredOrchestration | None: ...
    def steps_of(self, orchestration_id: str, *, encoded: bool = False) -> list[StoredStep]: ...
    def orchestrations_of(
        self,
        project_id: str,
        *,
        status: str | None = None,
        action_type: str | None = None,
        text: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        sort: str = DEFAULT_SORT,
        after: Cursor | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[StoredOrchestration]: ...
    def events_of(self, orchestration_id: str, after: int = 0) -> list[StoredEvent]:
        """In order; each event's ``number`` is its place in the run (1, 2, …), ``after`` one."""

    def revisions_of(self, orchestration_id: str) -> list[dict[str, Any]]: ...
    def export(
        self,
        project_id: str,
        table: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        statuses: list[str] | None = None,
    ) -> pa.Table: ...

    # -- recovery ------------------------------------------------------------------------------
    def unfinished_orchestrations(self) -> list[StoredOrchestration]: ...
    def unfinished_orchestration_ids(self) -> list[str]: ...
    def salvage(
        self, orchestration_id: str
    ) -> tuple[StoredOrchestration | None, list[StoredStep]]: ...
    def steps_of_unfinished(self) -> dict[str, list[StoredStep]]: ...
    def dispatches_of_unfinished(self) -> dict[tuple[str, str], int]: ...
    def approvals_requested_of_unfinished(self) -> dict[tuple[str, str], datetime]: ...
    def unfinished_compensations(self) -> list[StoredCompensation]: ...
    def pending_deliveries(self) -> list[StoredDelivery]: ...

    # -- compensations and deliveries ----------------------------------------------------------
    def compensations_of(self, orchestration_id: str) -> list[StoredCompensation]: ...
    def compensation_failures_of(
        self, project_id: str, *, status: str | None = None, orchestration_id: str | None = None
    ) -> list[StoredCompensationFailure]: ...
    def compensation_failure(self, failure_id: str) -> StoredCompensationFailure | None: ...
    def settle_compensation_failure(
        self, failure: StoredCompensationFailure, status: str, reason: str, *, at: datetime
    ) -> Awaitable[None]: ...
    def deliveries_of(self, orchestration_id: str) -> list[StoredDelivery]: ...
    def unattempted_deliveries(self, orchestration_id: str) -> int: ...
