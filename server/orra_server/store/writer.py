"""The group-commit writer: every write of the control plane goes through one thread.

Callers hand over a list of operations and get an asyncio future that resolves once the
transaction holding them has committed. While one transaction commits, new operations queue up
and go into the next one, so under load many callers share one commit (a few ms) instead of
paying one each. New rows are appended as one Arrow table per table; changed rows are applied
with one ``UPDATE … FROM`` per table, both far cheaper in DuckDB than row-by-row statements.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from .schema import ARROW_SCHEMAS, KEYS

__all__ = ["Insert", "Operation", "RawSql", "Update", "GroupCommitWriter"]

log = logging.getLogger("orra.store")


@dataclass(slots=True)
class Insert:
    table: str
    row: dict[str, Any]


@dataclass(slots=True)
class Update:
    """Replace the non-key columns of one existing row with ``row`` (a complete row)."""

    table: str
    row: dict[str, Any]


@dataclass(slots=True)
class RawSql:
    sql: str
    params: tuple[Any, ...] = ()


Operation = Insert | Update | RawSql

_Pending = tuple[list[Operation], asyncio.AbstractEventLoop | None, asyncio.Future[None] | None]

_STOP = object()


class GroupCommitWriter:
    def __init__(self, connection: duckdb.DuckDBPyConnection, *, max_batch: int = 4096) -> None:
        self._cursor = connection.cursor()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._max_batch = max_batch
        self._thread = threading.Thread(target=self._run, name="orra-writer", daemon=True)
        self.batches_committed = 0
        self._thread.start()

    # -- caller side -------------------------------------------------------------------------
    def submit(self, ops: list[Operation]) -> asyncio.Future[None]:
        """Queue ``ops``; the returned future resolves when they are committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.put((ops, loop, future))
        return future

    async def write(self, ops: list[Operation]) -> None:
        await self.submit(ops)

    def write_blocking(self, ops: list[Operation]) -> None:
        """For code outside the event loop (start-up, tools): wait on a thread event."""
        done = threading.Event()
        errors: list[BaseException] = []
        self._queue.put((ops, None, (done, errors)))
        done.wait()
        if errors:
            raise errors[0]

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout=10)
        self._cursor.close()

    # -- writer thread -----------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            self._commit_batch(batch)
            if stop:
                return

    def _commit_batch(self, batch: list[_Pending]) -> None:
        try:
            self._apply([op for ops, _, _ in batch for op in ops])
            self.batches_committed += 1
            _resolve(batch, None)
        except Exception as exc:  # one bad item must not fail its neighbours: retry alone
            log.warning("batch of %d failed (%s); retrying items one by one", len(batch), exc)
            for item in batch:
                try:
                    self._apply(item[0])
                    _resolve([item], None)
                except Exception as item_exc:
                    _resolve([item], item_exc)

    def _apply(self, ops: Iterable[Operation]) -> None:
        raw: list[RawSql] = []
        inserts: dict[str, dict[Any, dict[str, Any]] | list[dict[str, Any]]] = {}
        updates: dict[str, dict[Any, dict[str, Any]]] = {}
        for op in ops:
            if isinstance(op, RawSql):
                raw.append(op)
            elif isinstance(op, Insert):
                keys = KEYS.get(op.table)
                if keys is None:
                    inserts.setdefault(op.table, []).append(op.row)  # type: ignore[union-attr]
                else:
                    key = tuple(op.row[k] for k in keys)
                    inserts.setdefault(op.table, {})[key] = op.row  # type: ignore[index]
            else:
                key = tuple(op.row[k] for k in KEYS[op.table])
                pending = inserts.get(op.table)
                if isinstance(pending, dict) and key in pending:
                    pending[key] = op.row  # row not yet written: insert the newest version
                else:
                    updates.setdefault(op.table, {})[key] = op.row
        cursor = self._cursor
        cursor.execute("BEGIN TRANSACTION")
        try:
            for statement in raw:
                cursor.execute(statement.sql, statement.params)
            for table, rows in inserts.items():
                row_list = list(rows.values()) if isinstance(rows, dict) else rows
                orra_batch = pa.Table.from_pylist(row_list, schema=ARROW_SCHEMAS[table])  # noqa: F841
                cursor.execute(f"INSERT INTO {table} SELECT * FROM orra_batch")
            for table, keyed in updates.items():
                orra_changes = pa.Table.from_pylist(  # noqa: F841
                    list(keyed.values()), schema=ARROW_SCHEMAS[table]
                )
                keys = KEYS[table]
                assignments = ", ".join(
                    f"{f.name} = c.{f.name}" for f in ARROW_SCHEMAS[table] if f.name not in keys
                )
                match = " AND ".join(f"{table}.{k} = c.{k}" for k in keys)
                cursor.execute(
                    f"UPDATE {table} SET {assignments} FROM orra_changes AS c WHERE {match}"
                )
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise


def _resolve(batch: list[_Pending], error: BaseException | None) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for _, loop, future in batch:
        if loop is None:
            done, errors = future  # type: ignore[misc]
            if error is not None:
                errors.append(error)
            done.set()
        else:
            by_loop.setdefault(loop, []).append(future)  # type: ignore[arg-type]
    for loop, futures in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, futures, error)
        except RuntimeError:  # the loop has closed: nobody is waiting any more
            pass


def _settle(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
