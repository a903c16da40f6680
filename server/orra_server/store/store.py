"""The DuckDB store: one file, one connection per process, the reads and verbs over it.

Reads use a cursor per thread (``reads.py``); every write goes through the
:class:`GroupCommitWriter` (``verbs.py``). A PostgreSQL backend offers the same methods
(:class:`~orra_server.store.StoreBackend`).
"""

from __future__ import annotations

import logging
import tempfile
import threading
from pathlib import Path

import duckdb

from .export import EXPORT_TABLES
from .reads import Reads, WebhookKind
from .schema import DDL
from .verbs import Verbs
from .writer import GroupCommitWriter, replay_projection

__all__ = ["EXPORT_TABLES", "Store", "WebhookKind"]

log = logging.getLogger("orra.store")


class Store(Reads, Verbs):
    #: the current-state tables are a projection written in batches, behind the events
    projection_lags = True

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
        rows = self._rows("SELECT coalesce(max(seq), 0) AS seq FROM events")
        self.writer = GroupCommitWriter(
            self._connection,
            next_seq=int(rows[0]["seq"]) if rows else 0,
            wal_path=None if self._spill is not None else path + ".wal",
        )

    def close(self) -> None:
        self.writer.close()
        self._connection.close()
        if self._spill is not None:
            self._spill.cleanup()
