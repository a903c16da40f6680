"""The store's reads: SQL in, frozen objects of ``rows.py`` out (decoded once, here).

A cursor per thread; rows of the current-state tables reflect the writes projected so far
(``sync()`` first where a read must see every write).
"""

from __future__ import annotations

import re
import threading
from datetime import datetime
from functools import partial
from typing import Any, Literal

import duckdb
import orjson
import pyarrow as pa

from orra_sdk.vocabulary import EventKind

from . import large, rows
from .export import DUCKDB, EXPORT_TABLES, ExportDialect, export_query
from .records import aware, loads, naive
from .rows import decode
from .run_listing import RunListing

__all__ = ["UNFINISHED_SQL", "WEBHOOK_TABLES", "Reads", "WebhookKind"]

#: the statuses of an orchestration that has not ended, as SQL (both backends, and the
#: PostgreSQL indexes and claims, use this one list)
UNFINISHED_SQL = "('PENDING', 'RUNNING', 'PAUSED', 'AWAITING_APPROVAL')"

#: result webhooks get every outcome; compensation-failure webhooks get failed undos
WebhookKind = Literal["result", "compensation_failure"]
WEBHOOK_TABLES: dict[str, str] = {
    "result": "webhooks",
    "compensation_failure": "compensation_failure_webhooks",
}


class Reads(RunListing):
    """Every read of :class:`~orra_server.store.Store` (which opens ``_connection``)."""

    _connection: duckdb.DuckDBPyConnection
    _local: threading.local

    # -- plumbing ----------------------------------------------------------------------------
    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._connection.cursor()
            self._local.cursor = cursor
        return cursor

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        # fetchall, never fetchone: a result not read to its end keeps its transaction open,
        # and DuckDB then never checkpoints (the WAL grew to 1 GB while the server ran)
        cursor = self._cursor().execute(sql, params)
        names = [d[0] for d in cursor.description]
        found = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
        return large.resolve(found, partial(large.fetch, cursor))

    def _all(self, kind: type[Any], sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return [decode(kind, row) for row in self._rows(sql, params)]

    #: the phrases this backend's SQL says its own way, and its export queries in them
    _dialect: ExportDialect = DUCKDB
    _export_queries: dict[str, str] = EXPORT_TABLES

    def _json_text(self, column: str, key: str) -> str:
        """SQL for the text at ``key`` of a JSON ``column``."""
        return self._dialect.json_text.format(column, key)

    def _owned(self, alias: str = "") -> str:
        """SQL that keeps the recovery reads to the runs this process owns: all of them here
        (one process, one file); a replica's on PostgreSQL."""
        return ""

    def _owned_run(self, alias: str = "") -> str:
        """The same, for rows that name their run (``orchestration_id``)."""
        return ""

    def _first(self, kind: type[Any], sql: str, params: tuple[Any, ...]) -> Any:
        """The first row ``sql`` finds as a ``kind``; None when it finds none."""
        found = self._rows(sql, params)
        return decode(kind, found[0]) if found else None

    # -- projects, keys, webhooks ----------------------------------------------------------
    def project(self, project_id: str) -> rows.StoredProject | None:
        return self._first(rows.StoredProject, "SELECT * FROM projects WHERE id = ?", (project_id,))

    def all_key_hashes(self) -> dict[str, str]:
        return {r["key_hash"]: r["project_id"] for r in self._rows("SELECT * FROM api_keys")}

    def api_keys_of(self, project_id: str) -> list[rows.StoredApiKey]:
        return self._all(
            rows.StoredApiKey,
            "SELECT * FROM api_keys WHERE project_id = ? ORDER BY created_at",
            (project_id,),
        )

    def webhooks(self, kind: WebhookKind, project_id: str) -> list[str]:
        """The project's webhooks of one kind, oldest first."""
        table = WEBHOOK_TABLES[kind]
        found = self._rows(
            f"SELECT url FROM {table} WHERE project_id = ? ORDER BY created_at", (project_id,)
        )
        return [r["url"] for r in found]

    def webhooks_of(self, project_id: str) -> list[str]:
        return self.webhooks("result", project_id)

    def compensation_failure_webhooks_of(self, project_id: str) -> list[str]:
        return self.webhooks("compensation_failure", project_id)

    # -- services, groundings, the plan cache --------------------------------------------------
    def service(self, service_id: str) -> rows.StoredService | None:
        return self._first(rows.StoredService, "SELECT * FROM services WHERE id = ?", (service_id,))

    def service_by_name(self, project_id: str, name: str) -> rows.StoredService | None:
        sql = "SELECT * FROM services WHERE project_id = ? AND name = ?"
        return self._first(rows.StoredService, sql, (project_id, name))

    def services_of(self, project_id: str) -> list[rows.StoredService]:
        sql = "SELECT * FROM services WHERE project_id = ? ORDER BY created_at, name"
        return self._all(rows.StoredService, sql, (project_id,))

    def grounding(self, project_id: str, name: str) -> rows.StoredGrounding | None:
        """The spec by name, deleted or not."""
        sql = "SELECT * FROM groundings WHERE project_id = ? AND name = ?"
        return self._first(rows.StoredGrounding, sql, (project_id, name))

    def groundings_of(self, project_id: str) -> list[rows.StoredGrounding]:
        sql = (
            "SELECT * FROM groundings WHERE project_id = ? AND deleted_at IS NULL "
            "ORDER BY created_at, name"
        )
        return self._all(rows.StoredGrounding, sql, (project_id,))

    def load_plan(self, key: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """A cached plan and how it was made (planning/cache.py reads through this)."""
        found = self._rows("SELECT plan, provenance FROM plan_cache WHERE key = ?", (key,))
        return (loads(found[0]["plan"]), loads(found[0]["provenance"]) or {}) if found else None

    # -- orchestrations ----------------------------------------------------------------------
    def orchestration(
        self, orchestration_id: str, *, encoded: bool = False
    ) -> rows.StoredOrchestration | None:
        """``encoded``: a large ``result`` stays JSON (an ``orjson.Fragment``), for a response."""
        found = self._rows("SELECT * FROM orchestrations WHERE id = ?", (orchestration_id,))
        if encoded:
            _keep_encoded(found, "result")
        return decode(rows.StoredOrchestration, found[0]) if found else None

    def steps_of(self, orchestration_id: str, *, encoded: bool = False) -> list[rows.StoredStep]:
        """In step order; ``encoded``: large inputs and outputs stay JSON (``orjson.Fragment``)."""
        found = self._rows("SELECT * FROM steps WHERE orchestration_id = ?", (orchestration_id,))
        if encoded:
            _keep_encoded(found, "input", "output")
        return _in_step_order([decode(rows.StoredStep, row) for row in found])

    def events_of(self, orchestration_id: str, after: int = 0) -> list[rows.StoredEvent]:
        """The run's events in order; ``after`` is an event's ``number``."""
        sql = (
            "SELECT * FROM (SELECT row_number() OVER (ORDER BY seq) AS number, seq, "
            "orchestration_id, step_id, type, occurred_at, payload FROM events "
            "WHERE orchestration_id = ?) AS numbered WHERE number > ? ORDER BY seq"
        )
        return self._all(rows.StoredEvent, sql, (orchestration_id, after))

    def revisions_of(self, orchestration_id: str) -> list[rows.StoredRevision]:
        """Each ``plan_revised`` event's record of a revision, oldest first, without the
        plans."""
        found = self._rows(
            "SELECT payload FROM events WHERE orchestration_id = ? AND type = 'plan_revised' "
            "ORDER BY seq",
            (orchestration_id,),
        )
        return [rows.StoredRevision.from_payload(loads(row["payload"])) for row in found]

    def export(
        self,
        project_id: str,
        table: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        statuses: list[str] | None = None,
    ) -> pa.Table:
        """One of ``export.EXPORT_TABLES`` for a project, as Arrow, filtered by the orchestration's
        creation time (``since`` inclusive, ``until`` exclusive) and status."""
        queries = self._export_queries
        sql, params = export_query(table, project_id, naive(since), naive(until), statuses, queries)
        return self._arrow(table, sql, params)

    def _arrow(self, table: str, sql: str, params: list[Any]) -> pa.Table:
        """An export's rows as Arrow (DuckDB answers in Arrow itself)."""
        cursor = self._cursor()
        answer = cursor.sql(sql, params=params).to_arrow_table()
        return large.resolve_arrow(answer, partial(large.fetch, cursor))

    # -- recovery ------------------------------------------------------------------------------
    def unfinished_orchestrations(self) -> list[rows.StoredOrchestration]:
        sql = (
            f"SELECT * FROM orchestrations WHERE status IN {UNFINISHED_SQL}{self._owned()} "
            "ORDER BY created_at"
        )
        return self._all(rows.StoredOrchestration, sql)

    def unfinished_orchestration_ids(self) -> list[str]:
        """Only the ids (oldest first): recovery reads the runs one by one when reading them
        all at once failed."""
        sql = (
            f"SELECT id FROM orchestrations WHERE status IN {UNFINISHED_SQL}{self._owned()} "
            "ORDER BY created_at"
        )
        return [r["id"] for r in self._rows(sql)]

    def steps_of_unfinished(self) -> dict[str, list[rows.StoredStep]]:
        """The steps of every unfinished orchestration in one query, in step order."""
        found = self._rows(
            "SELECT s.* FROM steps s JOIN orchestrations o ON o.id = s.orchestration_id "
            f"WHERE o.status IN {UNFINISHED_SQL}{self._owned('o.')}"
        )
        grouped: dict[str, list[rows.StoredStep]] = {}
        for row in found:
            grouped.setdefault(row["orchestration_id"], []).append(decode(rows.StoredStep, row))
        return {run: _in_step_order(steps) for run, steps in grouped.items()}

    def salvage(
        self, orchestration_id: str
    ) -> tuple[rows.StoredOrchestration | None, list[rows.StoredStep]]:
        """An orchestration and its steps with every JSON value that does not decode read as
        None: enough to end a run that recovery could not read, with the reason."""
        found = self._rows("SELECT * FROM orchestrations WHERE id = ?", (orchestration_id,))
        steps = self._rows("SELECT * FROM steps WHERE orchestration_id = ?", (orchestration_id,))
        run = decode(rows.StoredOrchestration, found[0], lenient=True) if found else None
        return run, [decode(rows.StoredStep, row, lenient=True) for row in steps]

    def dispatches_of_unfinished(self) -> dict[tuple[str, str], int]:
        """(orchestration id, step id) → ``step_dispatched`` events, for unfinished runs.

        A dispatch writes no step row (only a lazy event), so after a crash the row's
        ``attempts`` may lag; recovery takes the larger of the two.
        """
        counts = self._per_unfinished_step(EventKind.STEP_DISPATCHED, "count(*)")
        return {key: int(n) for key, n in counts.items()}

    def approvals_requested_of_unfinished(self) -> dict[tuple[str, str], datetime]:
        """(orchestration id, step id) → when its latest wait for approval began, for
        unfinished runs: a decision's deadline counts from then, across a restart."""
        latest = self._per_unfinished_step(EventKind.APPROVAL_REQUESTED, "max(e.occurred_at)")
        return {key: aware(at) for key, at in latest.items() if at is not None}

    def _per_unfinished_step(self, event_type: str, aggregate: str) -> dict[tuple[str, str], Any]:
        """``aggregate`` over the ``event_type`` events of each step of the unfinished runs."""
        found = self._rows(
            f"SELECT e.orchestration_id, e.step_id, {aggregate} AS value FROM events e "
            "JOIN orchestrations o ON o.id = e.orchestration_id "
            f"WHERE e.type = ? AND o.status IN {UNFINISHED_SQL}{self._owned('o.')} "
            "GROUP BY e.orchestration_id, e.step_id",
            (event_type,),
        )
        return {(r["orchestration_id"], r["step_id"]): r["value"] for r in found}

    def unfinished_compensations(self) -> list[rows.StoredCompensation]:
        """Compensations a crash interrupted, by orchestration, in the order they run."""
        sql = (
            "SELECT c.*, o.project_id FROM compensations c "
            "JOIN orchestrations o ON o.id = c.orchestration_id "
            f"WHERE c.status IN ('pending', 'running'){self._owned('o.')} "
            "ORDER BY c.orchestration_id, c.position"
        )
        return self._all(rows.StoredCompensation, sql)

    def pending_deliveries(self) -> list[rows.StoredDelivery]:
        sql = (
            f"SELECT * FROM deliveries d WHERE status = 'pending'{self._owned_run('d.')} "
            "ORDER BY next_attempt_at"
        )
        return self._all(rows.StoredDelivery, sql)

    # -- compensations and deliveries ----------------------------------------------------------
    def compensations_of(self, orchestration_id: str) -> list[rows.StoredCompensation]:
        sql = "SELECT * FROM compensations WHERE orchestration_id = ? ORDER BY position"
        return self._all(rows.StoredCompensation, sql, (orchestration_id,))

    def compensation_failures_of(
        self, project_id: str, *, status: str | None = None, orchestration_id: str | None = None
    ) -> list[rows.StoredCompensationFailure]:
        """Newest first; ``status`` and ``orchestration_id`` filter when given."""
        filters = {"status": status, "orchestration_id": orchestration_id}
        given = {"project_id": project_id, **{k: v for k, v in filters.items() if v}}
        where = " AND ".join(f"{column} = ?" for column in given)
        sql = f"SELECT * FROM compensation_failures WHERE {where} ORDER BY created_at DESC, id"
        return self._all(rows.StoredCompensationFailure, sql, tuple(given.values()))

    def compensation_failure(self, failure_id: str) -> rows.StoredCompensationFailure | None:
        sql = "SELECT * FROM compensation_failures WHERE id = ?"
        return self._first(rows.StoredCompensationFailure, sql, (failure_id,))

    def deliveries_of(self, orchestration_id: str) -> list[rows.StoredDelivery]:
        sql = "SELECT * FROM deliveries WHERE orchestration_id = ? ORDER BY created_at, id"
        return self._all(rows.StoredDelivery, sql, (orchestration_id,))

    def unattempted_deliveries(self, orchestration_id: str) -> int:
        """Deliveries of this orchestration not yet attempted even once."""
        found = self._rows(
            "SELECT count(*) AS n FROM deliveries WHERE orchestration_id = ? AND attempts = 0",
            (orchestration_id,),
        )
        return int(found[0]["n"])


#: the ASCII digits of a step id (``str.isdigit`` is true for ``²``, on which ``int`` raises)
_DIGITS = re.compile(r"[0-9]+", re.ASCII)


def _step_order(step_id: str) -> tuple[int, str]:
    """``step2`` before ``step10``; ids without digits last. Never raises, whatever the id."""
    digits = "".join(_DIGITS.findall(step_id))[:18]
    return (int(digits) if digits else 1 << 62, step_id)


def _in_step_order(steps: list[rows.StoredStep]) -> list[rows.StoredStep]:
    return sorted(steps, key=lambda step: _step_order(step.step_id))


def _keep_encoded(found: list[dict[str, Any]], *names: str) -> None:
    """The large JSON values of ``found`` as ``orjson.Fragment``s: a response embeds them as
    they are, where decoding 6 MB of non-ASCII JSON and encoding it again peaked at ~150 MiB."""
    for row in found:
        for name in names:
            text = row[name]
            if text is not None and len(text) > large.THRESHOLD:
                row[name] = orjson.Fragment(text)
