"""The store's narrow interface: what the API and the engine need, no SQL outside this package.

One DuckDB connection per process; reads use a cursor per thread, all writes go through the
:class:`GroupCommitWriter`. A PostgreSQL implementation can later offer the same methods.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal

import duckdb
import orjson
import pyarrow as pa

from orra_sdk.vocabulary import SETTLED_EVENT, EventKind

from . import large
from .paging import DEFAULT_SORT, SORT_COLUMNS, Cursor, parse_sort
from .records import (
    Change,
    OrchestrationRecord,
    StepRecord,
    aware,
    dumps,
    loads,
    naive,
    operations,
)
from .schema import DDL
from .writer import (
    Delete,
    GroupCommitWriter,
    Insert,
    Operation,
    Update,
    replay_projection,
)

__all__ = ["EXPORT_TABLES", "Store", "WebhookKind"]

#: the statuses of an orchestration that has not ended, as SQL
_UNFINISHED = "('PENDING', 'RUNNING', 'PAUSED', 'AWAITING_APPROVAL')"

#: result webhooks get every outcome; compensation-failure webhooks get failed undos
WebhookKind = Literal["result", "compensation_failure"]
_WEBHOOK_TABLES: dict[str, str] = {
    "result": "webhooks",
    "compensation_failure": "compensation_failure_webhooks",
}


log = logging.getLogger("orra.store")


class Store:
    def __init__(self, path: str, *, memory_limit: str = "512MB", threads: int = 2) -> None:
        """``memory_limit`` and ``threads`` bound DuckDB (its defaults: 80 % of the RAM, kept
        once used, and a thread per core); past the limit it spills to ``<db>.tmp`` next to
        the file, or a private temporary directory for ``:memory:``, never the cwd."""
        self._spill: tempfile.TemporaryDirectory[str] | None = None
        if path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            path = str(Path(path).expanduser())
            spill = path + ".tmp"
        else:
            self._spill = tempfile.TemporaryDirectory(prefix="orra-duckdb-")
            spill = self._spill.name
        self.path = path
        config = {"memory_limit": memory_limit, "threads": threads, "temp_directory": spill}
        self._connection = duckdb.connect(path, config=config)  # type: ignore[arg-type]
        for statement in DDL:
            self._connection.execute(statement)
        replayed = replay_projection(self._connection)
        if replayed:
            log.warning("rebuilt current state from %d events after an unclean stop", replayed)
        self._local = threading.local()
        # fetchall, never fetchone: a result not read to its end keeps its transaction open,
        # and DuckDB then never checkpoints (the WAL grew to 1 GB while the server ran)
        with self._connection.cursor() as cursor:
            rows = cursor.execute("SELECT coalesce(max(seq), 0) FROM events").fetchall()
        self.writer = GroupCommitWriter(
            self._connection,
            next_seq=int(rows[0][0]) if rows else 0,
            wal_path=None if self._spill is not None else path + ".wal",
        )

    def close(self) -> None:
        self.writer.close()
        self._connection.close()
        if self._spill is not None:
            self._spill.cleanup()

    # -- plumbing ----------------------------------------------------------------------------
    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._connection.cursor()
            self._local.cursor = cursor
        return cursor

    def _first(
        self, decode: Callable[[dict[str, Any]], dict[str, Any]], sql: str, params: tuple[Any, ...]
    ) -> dict[str, Any] | None:
        """The first row ``sql`` finds, decoded; None when it finds none."""
        rows = self._rows(sql, params)
        return decode(rows[0]) if rows else None

    def _matching(
        self, table: str, order: str, order_params: tuple[Any, ...] = (), **equal: Any
    ) -> list[dict[str, Any]]:
        """Rows of ``table`` whose columns equal the values given (None: any value), in
        ``order`` (which may end in ``LIMIT ? OFFSET ?``, its values in ``order_params``)."""
        wanted = {column: value for column, value in equal.items() if value is not None}
        where = " AND ".join(f"{column} = ?" for column in wanted) or "TRUE"
        sql = f"SELECT * FROM {table} WHERE {where} ORDER BY {order}"
        return self._rows(sql, (*wanted.values(), *order_params))

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        cursor = self._cursor().execute(sql, params)
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
        return large.resolve(rows, partial(large.fetch, cursor))

    def _write(self, ops: list[Operation]):  # -> asyncio.Future[None]
        return self.writer.submit(ops)

    async def sync(self) -> None:
        """Make the current-state tables reflect every write so far (before listing them)."""
        await self.writer.sync()

    def projected(self):  # -> asyncio.Future[None]
        """Resolves once every write committed so far is in the current-state tables, at the
        next regular projection batch (no extra one: :meth:`sync` forces one)."""
        return self.writer.when_projected()

    # -- verbs: orchestrations (each resolves once committed) ---------------------------------
    def record(self, changes: list[Change]):  # -> asyncio.Future[None]
        """Commit ``changes`` together: all of them or, after a crash, none."""
        return self.writer.submit(operations(changes))

    def record_lazy(self, changes: list[Change]) -> None:
        """Record ``changes`` with the next commit; for facts a crash may lose (a status)."""
        self.writer.submit_lazy(operations(changes))

    def accept(
        self,
        run: OrchestrationRecord,
        steps: list[StepRecord],
        planning: list[Change] = (),  # type: ignore[assignment]
        then: list[Change] = (),  # type: ignore[assignment]
    ):  # -> asyncio.Future[None]
        """A new orchestration with its steps, the events of how its plan was made before it
        and ``then`` (its first dispatches) after it, in one commit."""
        accepted = Change(
            run.id,
            EventKind.ORCHESTRATION_ACCEPTED,
            run.created_at,
            run.plan,
            orchestration=run,
            steps=steps,
            new=True,
        )
        return self.record([*planning, accepted, *then])

    # -- verbs: projects, keys, webhooks (each resolves once committed) -----------------------
    def add_project(
        self,
        project_id: str,
        name: str,
        *,
        webhook_secret: str,
        key_hash: str,
        webhooks: list[str],
        at: datetime,
    ):  # -> asyncio.Future[None]
        """A project with its first key (named ``default``) and its webhooks, in one commit."""
        moment = naive(at)
        row = {"id": project_id, "name": name, "webhook_secret": webhook_secret}
        key = {"key_hash": key_hash, "project_id": project_id, "name": "default"}
        ops: list[Operation] = [
            Insert("projects", {**row, "created_at": moment}),
            Insert("api_keys", {**key, "created_at": moment}),
        ]
        ops += [
            Insert("webhooks", {"project_id": project_id, "url": url, "created_at": moment})
            for url in webhooks
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
        return self._write([Insert(_WEBHOOK_TABLES[kind], row)])

    def remove_webhook(self, kind: WebhookKind, project_id: str, url: str):
        return self._write([Delete(_WEBHOOK_TABLES[kind], {"project_id": project_id, "url": url})])

    def webhooks(self, kind: WebhookKind, project_id: str) -> list[str]:
        """The project's webhooks of one kind, oldest first."""
        table = _WEBHOOK_TABLES[kind]
        rows = self._rows(
            f"SELECT url FROM {table} WHERE project_id = ? ORDER BY created_at", (project_id,)
        )
        return [r["url"] for r in rows]

    # -- reads: projects, keys, webhooks ----------------------------------------------------
    def project(self, project_id: str) -> dict[str, Any] | None:
        return self._first(dict, "SELECT * FROM projects WHERE id = ?", (project_id,))

    def all_key_hashes(self) -> dict[str, str]:
        return {r["key_hash"]: r["project_id"] for r in self._rows("SELECT * FROM api_keys")}

    def api_keys_of(self, project_id: str) -> list[dict[str, Any]]:
        """Hashes, names and creation times: keys themselves are never stored."""
        return self._rows(
            "SELECT key_hash, name, created_at FROM api_keys WHERE project_id = ? "
            "ORDER BY created_at",
            (project_id,),
        )

    def webhooks_of(self, project_id: str) -> list[str]:
        return self.webhooks("result", project_id)

    # -- services ----------------------------------------------------------------------------
    def save_service(self, service: dict[str, Any], *, replaces: bool):
        """Store a registration (``replaces``: the service id exists); schemas as JSON values."""
        row = {
            **service,
            "input_schema": dumps(service["input_schema"]),
            "output_schema": dumps(service["output_schema"]),
            "policy": dumps(service.get("policy")),
            "created_at": naive(service["created_at"]),
            "updated_at": naive(service["updated_at"]),
        }
        return self._write([Update("services", row) if replaces else Insert("services", row)])

    def service(self, service_id: str) -> dict[str, Any] | None:
        return self._first(_service, "SELECT * FROM services WHERE id = ?", (service_id,))

    def service_by_name(self, project_id: str, name: str) -> dict[str, Any] | None:
        return self._first(
            _service, "SELECT * FROM services WHERE project_id = ? AND name = ?", (project_id, name)
        )

    def services_of(self, project_id: str) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT * FROM services WHERE project_id = ? ORDER BY created_at, name", (project_id,)
        )
        return [_service(r) for r in rows]

    # -- groundings -------------------------------------------------------------------------
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
    ):
        """Store a grounding spec (``replaces``: a row of that name exists, deleted or not)."""
        row = {
            "project_id": project_id,
            "name": name,
            "domain": domain,
            "version": version,
            "spec": dumps(spec),
            "created_at": naive(created_at),
            "updated_at": naive(at),
            "deleted_at": None,
        }
        return self._write([Update("groundings", row) if replaces else Insert("groundings", row)])

    def delete_grounding(self, row: dict[str, Any], *, at: datetime):
        """Mark the spec (a row as :meth:`grounding` returns it) deleted; its history stays."""
        stored = {**row, "spec": dumps(row["spec"]), "deleted_at": naive(at)}
        return self._write([Update("groundings", stored)])

    def grounding(self, project_id: str, name: str) -> dict[str, Any] | None:
        """The spec row by name, deleted or not."""
        return self._first(
            _grounding,
            "SELECT * FROM groundings WHERE project_id = ? AND name = ?",
            (project_id, name),
        )

    def groundings_of(self, project_id: str) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT * FROM groundings WHERE project_id = ? AND deleted_at IS NULL "
            "ORDER BY created_at, name",
            (project_id,),
        )
        return [_grounding(r) for r in rows]

    # -- the plan cache (planning/cache.py reads and writes through these) --------------------
    def load_plan(self, key: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        rows = self._rows("SELECT plan, provenance FROM plan_cache WHERE key = ?", (key,))
        return (loads(rows[0]["plan"]), loads(rows[0]["provenance"]) or {}) if rows else None

    def save_plan(
        self, key: str, project_id: str, plan: dict[str, Any], provenance: dict[str, Any]
    ) -> None:
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
        self._write([op]).add_done_callback(_log_write_failure)  # lost: only costs a re-plan

    def drop_plan(self, key: str) -> None:
        self._write([Delete("plan_cache", {"key": key})]).add_done_callback(_log_write_failure)

    async def clear_plan_cache(self, project_id: str) -> int:
        """Delete the project's cached plans; how many there were."""
        counted = self._rows(
            "SELECT count(*) AS n FROM plan_cache WHERE project_id = ?", (project_id,)
        )
        await self._write([Delete("plan_cache", {"project_id": project_id})])
        return int(counted[0]["n"]) if counted else 0

    # -- orchestrations ----------------------------------------------------------------------
    def orchestration(
        self, orchestration_id: str, *, encoded: bool = False
    ) -> dict[str, Any] | None:
        """``encoded``: a large ``result`` stays JSON (an ``orjson.Fragment``), for a response."""
        rows = self._rows("SELECT * FROM orchestrations WHERE id = ?", (orchestration_id,))
        if not rows:
            return None
        kept = _kept_encoded(rows[0], "result") if encoded else {}
        return {**_orchestration(rows[0]), **kept}

    def steps_of(self, orchestration_id: str, *, encoded: bool = False) -> list[dict[str, Any]]:
        """``encoded``: large inputs and outputs stay JSON (``orjson.Fragment``s)."""
        rows = self._rows("SELECT * FROM steps WHERE orchestration_id = ?", (orchestration_id,))
        kept = [_kept_encoded(r, "input", "output") if encoded else {} for r in rows]
        steps = [{**_step(r), **k} for r, k in zip(rows, kept, strict=True)]
        steps.sort(key=lambda s: _step_order(s["step_id"]))
        return steps

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
    ) -> list[dict[str, Any]]:
        """Sorted by ``sort`` (newest first by default), starting after ``after`` or at
        ``offset``; ``text`` is found in the action's content whatever its case. Rows come
        without ``data``, ``plan``, ``result``, ``webhooks`` and ``options``: a page of
        results can be gigabytes, and a list shows none of them."""
        where, params = ["project_id = ?"], [project_id]
        if status:
            where.append("status = ?")
            params.append(status)
        if action_type:
            where.append("json_extract_string(action, '$.type') = ?")
            params.append(action_type)
        if text:
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("json_extract_string(action, '$.content') ILIKE ? ESCAPE '\\'")
            params.append(f"%{escaped}%")
        if since is not None:
            where.append("created_at >= ?")
            params.append(naive(since))
        if until is not None:
            where.append("created_at < ?")
            params.append(naive(until))
        key, descending = parse_sort(sort)
        column, direction = SORT_COLUMNS[key], "DESC" if descending else "ASC"
        if after is not None:
            where.append(f"({column}, created_at, id) {'<' if descending else '>'} (?, ?, ?)")
            params.extend([after.key, after.created_at, after.id])
        sql = (
            "SELECT * EXCLUDE (data, plan, result, webhooks, options) FROM orchestrations "
            f"WHERE {' AND '.join(where)} ORDER BY {column} "
            f"{direction}, created_at {direction}, id {direction} LIMIT ? OFFSET ?"
        )
        return [_orchestration(r) for r in self._rows(sql, (*params, limit, offset))]

    def revisions_of(self, orchestration_id: str) -> list[dict[str, Any]]:
        """Each ``plan_revised`` event's record of a revision, oldest first (without the plans)."""
        rows = self._rows(
            "SELECT payload FROM events WHERE orchestration_id = ? AND type = 'plan_revised' "
            "ORDER BY seq",
            (orchestration_id,),
        )
        revisions = []
        for row in rows:
            payload = loads(row["payload"]) or {}
            payload.pop("oldPlan", None)
            payload.pop("newPlan", None)
            revisions.append(payload)
        return revisions

    def steps_of_unfinished(self) -> dict[str, list[dict[str, Any]]]:
        """The steps of every unfinished orchestration in one query (crash recovery)."""
        rows = self._rows(
            "SELECT s.* FROM steps s JOIN orchestrations o ON o.id = s.orchestration_id "
            f"WHERE o.status IN {_UNFINISHED}"
        )
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            grouped.setdefault(row["orchestration_id"], []).append(_step(row))
        for steps in grouped.values():
            steps.sort(key=lambda s: _step_order(s["step_id"]))
        return grouped

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
        return {key: at for key, value in latest.items() if (at := aware(value)) is not None}

    def _per_unfinished_step(self, event_type: str, aggregate: str) -> dict[tuple[str, str], Any]:
        """``aggregate`` over the ``event_type`` events of each step of the unfinished runs."""
        rows = self._rows(
            f"SELECT e.orchestration_id, e.step_id, {aggregate} AS value FROM events e "
            "JOIN orchestrations o ON o.id = e.orchestration_id "
            f"WHERE e.type = ? AND o.status IN {_UNFINISHED} "
            "GROUP BY e.orchestration_id, e.step_id",
            (event_type,),
        )
        return {(r["orchestration_id"], r["step_id"]): r["value"] for r in rows}

    def unfinished_orchestration_ids(self) -> list[str]:
        """Only the ids (oldest first): recovery reads the runs one by one when reading them
        all at once failed."""
        rows = self._rows(
            f"SELECT id FROM orchestrations WHERE status IN {_UNFINISHED} ORDER BY created_at"
        )
        return [r["id"] for r in rows]

    def salvage(self, orchestration_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """An orchestration's row and step rows with every JSON value that does not decode read
        as None: enough to end a run that recovery could not read, with the reason."""
        rows = self._rows("SELECT * FROM orchestrations WHERE id = ?", (orchestration_id,))
        steps = self._rows("SELECT * FROM steps WHERE orchestration_id = ?", (orchestration_id,))
        for row in rows:
            _lenient(row, "action", "data", "plan", "result", "webhooks", "options")
        for row in steps:
            _lenient(row, "input", "output", "compensation")
        return (rows[0] if rows else None), steps

    def unfinished_orchestrations(self) -> list[dict[str, Any]]:
        rows = self._rows(
            f"SELECT * FROM orchestrations WHERE status IN {_UNFINISHED} ORDER BY created_at"
        )
        return [_orchestration(r) for r in rows]

    def events_of(self, orchestration_id: str, after: int = 0) -> list[dict[str, Any]]:
        """The run's events in order, each with ``number``: its place in the run (1, 2, …),
        what the API shows instead of the global ``seq`` (whose gaps would reveal other
        projects' activity); ``after`` is such a number."""
        rows = self._rows(
            "SELECT * FROM (SELECT row_number() OVER (ORDER BY seq) AS number, seq, "
            "orchestration_id, step_id, type, occurred_at, payload FROM events "
            "WHERE orchestration_id = ?) WHERE number > ? ORDER BY seq",
            (orchestration_id, after),
        )
        for r in rows:
            r["payload"] = loads(r["payload"])
        return rows

    # -- export for analysis -----------------------------------------------------------------
    def export(
        self,
        project_id: str,
        table: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        statuses: list[str] | None = None,
    ) -> pa.Table:
        """One of :data:`EXPORT_TABLES` for a project, as Arrow, filtered by the orchestration's
        creation time (``since`` inclusive, ``until`` exclusive) and status."""
        where = ["o.project_id = ?"]
        params: list[Any] = [project_id]
        if since is not None:
            where.append("o.created_at >= ?")
            params.append(since.replace(tzinfo=None))
        if until is not None:
            where.append("o.created_at < ?")
            params.append(until.replace(tzinfo=None))
        if statuses:
            where.append(f"o.status IN ({', '.join('?' for _ in statuses)})")
            params += statuses
        sql = EXPORT_TABLES[table].format(where=" AND ".join(where))
        cursor = self._cursor()
        table = cursor.sql(sql, params=params).to_arrow_table()
        return large.resolve_arrow(table, partial(large.fetch, cursor))

    # -- compensation ------------------------------------------------------------------------
    def compensations_of(self, orchestration_id: str) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT * FROM compensations WHERE orchestration_id = ? ORDER BY position",
            (orchestration_id,),
        )
        return [_json_columns(r, "input", "result", "context") for r in rows]

    def unfinished_compensations(self) -> list[dict[str, Any]]:
        """Compensations a crash interrupted, by orchestration, in the order they run."""
        rows = self._rows(
            "SELECT c.*, o.project_id FROM compensations c "
            "JOIN orchestrations o ON o.id = c.orchestration_id "
            "WHERE c.status IN ('pending', 'running') ORDER BY c.orchestration_id, c.position"
        )
        return [_json_columns(r, "input", "result", "context") for r in rows]

    def compensation_failures_of(
        self, project_id: str, *, status: str | None = None, orchestration_id: str | None = None
    ) -> list[dict[str, Any]]:
        rows = self._matching(
            "compensation_failures",
            "created_at DESC, id",
            project_id=project_id,
            status=status or None,
            orchestration_id=orchestration_id or None,
        )
        return [_json_columns(r, "compensation", "context") for r in rows]

    def settle_compensation_failure(
        self, row: dict[str, Any], status: str, reason: str, *, at: datetime
    ):
        """Mark a failure ``resolved`` or ``ignored`` (``row`` as :meth:`compensation_failure`
        returns it), with a ``compensation_failure_<status>`` event, in one commit."""
        stored = {
            **row,
            "status": status,
            "resolution": reason,
            "updated_at": naive(at),
            "compensation": dumps(row["compensation"]),
            "context": dumps(row["context"]),
        }
        payload = {"failureId": row["id"], "reason": reason}
        event = Change(row["orchestration_id"], SETTLED_EVENT[status], at, payload, row["step_id"])
        return self._write([Update("compensation_failures", stored), *operations([event])])

    def compensation_failure(self, failure_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM compensation_failures WHERE id = ?", (failure_id,))
        return _json_columns(rows[0], "compensation", "context") if rows else None

    def compensation_failure_webhooks_of(self, project_id: str) -> list[str]:
        return self.webhooks("compensation_failure", project_id)

    # -- webhook deliveries ------------------------------------------------------------------
    def deliveries_of(self, orchestration_id: str) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT * FROM deliveries WHERE orchestration_id = ? ORDER BY created_at, id",
            (orchestration_id,),
        )
        return [_json_columns(r, "body") for r in rows]

    def unattempted_deliveries(self, orchestration_id: str) -> int:
        """Deliveries of this orchestration not yet attempted even once."""
        rows = self._rows(
            "SELECT count(*) AS n FROM deliveries WHERE orchestration_id = ? AND attempts = 0",
            (orchestration_id,),
        )
        return int(rows[0]["n"])

    def pending_deliveries(self) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT * FROM deliveries WHERE status = 'pending' ORDER BY next_attempt_at"
        )
        return [_json_columns(r, "body") for r in rows]


_DURATION_MS = "epoch_ms({0}.end_time) - epoch_ms({0}.start_time)"

#: what ``/export`` offers: flat columns for analysis, JSON values as JSON text
EXPORT_TABLES: dict[str, str] = {
    "orchestrations": (
        "SELECT o.id AS execution_id, json_extract_string(o.action, '$.type') AS action_type, "
        "json_extract_string(o.action, '$.content') AS action_content, o.status, "
        "o.created_at, o.start_time, o.end_time, "
        f"{_DURATION_MS.format('o')} AS duration_ms, "
        "CAST(json_array_length(json_extract(o.plan, '$.steps')) AS BIGINT) AS step_count, "
        "o.error, o.data, o.plan, o.result "
        "FROM orchestrations o WHERE {where} ORDER BY o.created_at, o.id"
    ),
    "steps": (
        "SELECT s.orchestration_id AS execution_id, s.step_id, s.component, s.status, "
        "s.attempts, s.start_time, s.end_time, "
        f"{_DURATION_MS.format('s')} AS duration_ms, "
        "s.error, s.input, s.output "
        "FROM steps s JOIN orchestrations o ON o.id = s.orchestration_id WHERE {where} "
        "ORDER BY o.created_at, s.orchestration_id, s.step_id"
    ),
    "events": (
        "SELECT row_number() OVER (PARTITION BY e.orchestration_id ORDER BY e.seq) AS seq, "
        "e.orchestration_id AS execution_id, e.step_id, e.type, e.occurred_at, "
        "e.payload FROM events e JOIN orchestrations o ON o.id = e.orchestration_id "
        "WHERE {where} ORDER BY o.created_at, e.orchestration_id, e.seq"
    ),
}


#: the ASCII digits of a step id (``str.isdigit`` is true for ``²``, on which ``int`` raises)
_DIGITS = re.compile(r"[0-9]+", re.ASCII)


def _step_order(step_id: str) -> tuple[int, str]:
    """``step2`` before ``step10``; ids without digits last. Never raises, whatever the id."""
    digits = "".join(_DIGITS.findall(step_id))[:18]
    return (int(digits) if digits else 1 << 62, step_id)


def _log_write_failure(future: Any) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("a plan cache write failed: %s", future.exception())


def _service(row: dict[str, Any]) -> dict[str, Any]:
    row["input_schema"] = loads(row["input_schema"])
    row["output_schema"] = loads(row["output_schema"])
    row["policy"] = loads(row.get("policy"))
    return row


def _json_columns(row: dict[str, Any], *names: str) -> dict[str, Any]:
    for name in names:
        row[name] = loads(row[name])
    return row


def _orchestration(row: dict[str, Any]) -> dict[str, Any]:
    for name in ("action", "data", "plan", "result", "webhooks", "options"):
        if name in row:
            row[name] = loads(row[name])
    return row


def _kept_encoded(row: dict[str, Any], *names: str) -> dict[str, Any]:
    """The large JSON values of ``row`` as ``orjson.Fragment``s (taken out of ``row``): a
    response embeds them as they are, where decoding 6 MB of non-ASCII JSON and encoding it
    again peaked at ~150 MiB."""
    kept = {}
    for name in names:
        text = row[name]
        if text is not None and len(text) > large.THRESHOLD:
            kept[name] = orjson.Fragment(text)
            row[name] = None
    return kept


def _step(row: dict[str, Any]) -> dict[str, Any]:
    for name in ("input", "output", "compensation"):
        row[name] = loads(row[name])
    return row


def _lenient(row: dict[str, Any], *names: str) -> None:
    for name in names:
        try:
            row[name] = loads(row[name])
        except ValueError:  # (orjson.JSONDecodeError is one)
            row[name] = None


def _grounding(row: dict[str, Any]) -> dict[str, Any]:
    row["spec"] = loads(row["spec"])
    return row
