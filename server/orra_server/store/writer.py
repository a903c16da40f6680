"""The group-commit writer: every write of the control plane goes through one thread.

Callers hand over a list of operations and get an asyncio future that resolves once the
transaction holding them has committed. While one transaction commits, new operations queue up
and go into the next one, so under load many callers share one commit.

DuckDB charges about half a millisecond per statement whatever its size, so the durable path
is one statement: the batch's events, appended as one Arrow table. Each event carries a snapshot
of the ``orchestrations``/``steps`` rows it changed; those current-state tables are a
*projection*, written from a buffer every ``projection_interval`` seconds (or on demand with
:meth:`sync`) together with the highest event ``seq`` they reflect. On start-up,
``projection.replay_projection`` applies the snapshots of events past that mark, so a crash loses
nothing that was acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

import duckdb
import pyarrow as pa

from . import tables
from .handoff import Handoff, resolve, retry_piecewise
from .projection import Delete, Insert, Operation, Projection, Update, replay_projection
from .schema import ARROW_SCHEMAS, KEYS, PROJECTED

__all__ = [
    "Delete",
    "GroupCommitWriter",
    "Insert",
    "Operation",
    "Update",
    "replay_projection",
]

log = logging.getLogger("orra.store")


class _Sync:
    """A request to write the projection buffer now."""


class _WhenProjected:
    """A request to be told once every row committed so far is in the projection, by the
    regular flush (no flush of its own: the hot path keeps its 200 ms batches)."""


#: the writer checkpoints itself when the WAL passes this many bytes (DuckDB's own
#: ``wal_autocheckpoint`` is 16 MiB; one commit of a 6 MB result adds ≈ 29 MiB)
WAL_LIMIT = 64 * 1024 * 1024
#: seconds between warnings that the WAL could not be checkpointed
WAL_WARN_EVERY = 60.0


class GroupCommitWriter(Handoff):
    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        *,
        next_seq: int,
        projection_interval: float = 0.2,
        max_batch: int = 4096,
        wal_path: str | None = None,
        wal_limit: int = WAL_LIMIT,
    ) -> None:
        # pyarrow imports pandas (when installed) on its first conversion from Python rows:
        # ~0.4 s holding the GIL. Pay it here, at start-up, not in the middle of the first
        # orchestrations (it stalled every thread of an embedded control plane).
        pa.Table.from_pylist([], schema=ARROW_SCHEMAS["steps"])
        self._cursor = connection.cursor()
        super().__init__("orra-writer")
        self._max_batch = max_batch
        self._interval = projection_interval
        self._projection = Projection()
        self._lazy: list[Operation] = []
        #: _WhenProjected requests waiting for the next flush
        self._projected_waiters: list[Any] = []
        #: when a projection flush last failed (its log line is written once a minute)
        self._projection_failed_at = -60.0
        self._seq = next_seq
        self.batches_committed = 0
        #: the write-ahead log to keep under ``wal_limit`` bytes (None: in memory)
        self._wal_path = wal_path
        self._wal_limit = wal_limit
        #: seconds between looks at the WAL's size (an os.stat)
        self.wal_check_every = 1.0
        self._wal_checked = -1.0
        self._wal_warned = -WAL_WARN_EVERY
        #: checkpoints the writer ran itself (DuckDB's automatic one did not keep up)
        self.checkpoints = 0
        #: called on the writer thread with each committed batch's event rows (seq set)
        self.on_events: Callable[[list[dict[str, Any]]], None] | None = None
        self._thread.start()

    # -- caller side -------------------------------------------------------------------------
    async def sync(self) -> None:
        """Wait until every row written so far is in the current-state tables too."""
        await self._ask([_Sync()])

    def when_projected(self) -> asyncio.Future[None]:
        """A future resolved once the rows committed before this call are in the
        current-state tables, at the next regular flush (at once when none is pending)."""
        return self._ask([_WhenProjected()])

    def _closed(self) -> None:
        self._cursor.close()

    # -- writer thread -----------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            since = self._projection.since
            taken = self._take(None if since is None else since + self._interval, self._max_batch)
            if taken is None:  # the projection is due
                self._flush_projection()
                self._bound_wal()
                continue
            batch, stop = taken
            batch = self._take_waiters(batch)
            if batch:
                self._commit_batch(batch)
            due = self._projection.since is not None and (
                time.monotonic() - self._projection.since >= self._interval
                or len(self._projection) > 20_000
            )
            if due or any(isinstance(op, _Sync) for ops, _, _ in batch for op in ops):
                self._flush_projection()
                resolve(
                    [item for item in batch if any(isinstance(o, _Sync) for o in item[0])], None
                )
            if stop:
                self._flush_projection()
                return
            self._bound_wal()

    def _bound_wal(self) -> None:
        """Checkpoint when the WAL passes its limit: a safety net, at most once a second.

        DuckDB checkpoints by itself past ``wal_autocheckpoint`` (16 MiB) unless a transaction
        is open elsewhere; one left open (a result not read to its end) let the WAL grow to
        1 GB while the server ran. ``CHECKPOINT`` (never FORCE: that aborts others' reads)
        fails then too, so the warning names the cause.
        """
        if self._wal_path is None:
            return
        moment = time.monotonic()
        if moment - self._wal_checked < self.wal_check_every:
            return
        self._wal_checked = moment
        try:
            size = os.stat(self._wal_path).st_size
        except OSError:
            return
        if size <= self._wal_limit:
            return
        try:
            self._cursor.execute("CHECKPOINT")
            self.checkpoints += 1
        except duckdb.Error as exc:
            if moment - self._wal_warned >= WAL_WARN_EVERY:
                self._wal_warned = moment
                log.warning(
                    "the write-ahead log is %d MiB and could not be checkpointed (%s); "
                    "is a transaction left open?",
                    size >> 20,
                    str(exc)[:200],
                )

    def _take_waiters(self, batch: list[Any]) -> list[Any]:
        """Set the _WhenProjected requests aside (resolved at once when nothing waits to be
        projected: rows are added to the buffer on this thread, so none can be in flight)."""
        rest = []
        for item in batch:
            if item[0] and isinstance(item[0][0], _WhenProjected):
                self._projected_waiters.append(item)
            else:
                rest.append(item)
        if self._projected_waiters and self._projection.since is None and not self._lazy:
            waiters, self._projected_waiters = self._projected_waiters, []
            resolve(waiters, None)
        return rest

    def _commit_batch(self, batch: list[Any]) -> None:
        syncing = [item for item in batch if any(isinstance(o, _Sync) for o in item[0])]
        work = [item for item in batch if item not in syncing and item[2] is not None]
        if not work and not syncing:
            for ops, _, _ in batch:
                self._lazy.extend(ops)
            if len(self._lazy) < 10_000:
                if self._projection.since is None:
                    self._projection.since = time.monotonic()  # make sure a flush comes
                return
        # lazy operations of earlier batches first, then this batch's in the order they were
        # handed over: an event's seq must never put it before one that caused it
        earlier, self._lazy = self._lazy, []
        # (a batch of deferred writes alone was added to ``earlier`` above)
        handed = [item for item in batch if item not in syncing] if work or syncing else []
        try:
            self._apply([*earlier, *(op for item in handed for op in item[0])])
            self.batches_committed += 1
            resolve(work, None)
        except Exception as exc:  # one bad item must not fail its neighbours: retry alone
            log.warning("batch of %d failed (%s); retrying items one by one", len(work), exc)
            retry_piecewise([(earlier, None, None), *handed], self._apply)

    def _apply(self, ops: Iterable[Operation]) -> None:
        inserts: dict[str, dict[Any, dict[str, Any]] | list[dict[str, Any]]] = {}
        updates: dict[str, dict[Any, dict[str, Any]]] = {}
        projected: list[Insert | Update] = []
        deletes: list[Delete] = []
        for op in ops:
            if isinstance(op, _Sync):
                continue
            if isinstance(op, Delete):
                deletes.append(op)
            elif op.table in PROJECTED:
                projected.append(op)  # type: ignore[arg-type]
            elif isinstance(op, Insert):
                keys = KEYS.get(op.table)
                if keys is None:
                    inserts.setdefault(op.table, []).append(op.row)  # type: ignore[union-attr]
                else:
                    inserts.setdefault(op.table, {})[tuple(op.row[k] for k in keys)] = op.row  # type: ignore[index]
            else:
                key = tuple(op.row[k] for k in KEYS[op.table])
                pending = inserts.get(op.table)
                if isinstance(pending, dict) and key in pending:
                    pending[key] = op.row
                else:
                    updates.setdefault(op.table, {})[key] = op.row
        events = inserts.get("events")
        first_seq = self._seq
        if isinstance(events, list):
            for row in events:
                self._seq += 1
                row["seq"] = self._seq
        if not (inserts or updates or deletes):
            for op in projected:
                self._projection.add(op)
            return
        cursor = self._cursor
        cursor.execute("BEGIN TRANSACTION")
        try:
            for table, rows in inserts.items():
                tables.write(cursor, table, list(rows.values()) if isinstance(rows, dict) else rows)
            for table, keyed in updates.items():
                tables.write(cursor, table, list(keyed.values()), tables.update)
            for op in deletes:
                where = " AND ".join(f"{column} = ?" for column in op.match)
                cursor.execute(f"DELETE FROM {op.table} WHERE {where}", list(op.match.values()))
            cursor.execute("COMMIT")
        except BaseException:
            tables.rollback(cursor)  # (a failed COMMIT has rolled back already)
            self._seq = first_seq
            raise
        for op in projected:
            self._projection.add(op)
        self._projection.seq = self._seq
        if self.on_events is not None and isinstance(events, list):
            try:
                self.on_events(events)
            except Exception:
                log.exception("event listener failed")

    def _flush_projection(self) -> None:
        # a waiter is told only once its rows are readable (the engine then forgets the run)
        if self._write_projection() and self._projected_waiters:
            waiters, self._projected_waiters = self._projected_waiters, []
            resolve(waiters, None)

    def _write_projection(self) -> bool:
        """Write the pending current-state rows; False when that failed (they stay pending and
        are tried again at the next flush)."""
        if self._lazy:
            carried, self._lazy = self._lazy, []
            try:
                self._apply(carried)
            except Exception as exc:
                log.warning(
                    "%d deferred writes failed together (%s): one by one", len(carried), exc
                )
                retry_piecewise([(carried, None, None)], self._apply)
        projection = self._projection
        if projection.since is None or not projection.rows:
            projection.since = None
            return True
        self._projection = Projection()
        self._projection.seq = projection.seq
        cursor = self._cursor
        try:
            cursor.execute("BEGIN TRANSACTION")
            for table, keyed in projection.rows.items():
                new = [row for is_new, row in keyed.values() if is_new]
                changed = [row for is_new, row in keyed.values() if not is_new]
                if new:
                    tables.write(cursor, table, new)
                if changed:
                    tables.write(cursor, table, changed, tables.update)
            cursor.execute(
                "UPDATE projection_state SET projected_seq = ? WHERE id = 1", (projection.seq,)
            )
            cursor.execute("COMMIT")
        except Exception:
            tables.rollback(cursor)
            self._projection.put_back(projection)
            now = time.monotonic()
            if now - self._projection_failed_at > 60:  # once a minute, not every 200 ms
                self._projection_failed_at = now
                log.exception(
                    "projection flush failed; its rows are kept and tried again (and rebuilt "
                    "from the events on a restart)"
                )
            return False
        return True
