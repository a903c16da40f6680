"""DuckDB's write-ahead log stays bounded while the server runs (issue 24, third round).

Before: a result left unread to its end at start-up (``fetchone``) kept a transaction open for
the life of the process, so DuckDB never checkpointed: 20 runs of 6 MB results grew the WAL
to 562 MiB (1.08 GB with 9 MB ones), written back only at a clean stop. Now DuckDB's own
checkpoint (``wal_autocheckpoint``, 16 MiB) runs, and the writer checkpoints itself past
:data:`~orra_server.store.writer.WAL_LIMIT` as a safety net.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from helpers import ServerProcess, ended_run, new_project, serving
from orra_server.engine.run import Run
from orra_server.store import Change, Store
from orra_server.store.writer import WAL_LIMIT

MIB = 1024 * 1024
CHARS = 3_000_000  # "é" × 3 M: 6 MB of UTF-8, ≈ 29 MiB of WAL a run


def _size(path: Path) -> int:
    """Bytes in ``path`` (0 when absent): os.stat only, never opening the database."""
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def _ended(number: int, result: dict) -> Run:
    return ended_run(f"o_{number}", result)


async def _write_large_runs(store: Store, count: int, wal: Path) -> list[int]:
    """``count`` runs with a 6 MB result, each committed and projected; the WAL's size after
    each."""
    sizes = []
    for number in range(count):
        big = {"text": "é" * CHARS}
        run = _ended(number, big)
        await store.accept(run, [])
        await store.record([Change(run.id, "task_result", run.created_at, big, orchestration=run)])
        await store.sync()
        await store.sync()  # the writer looks at the WAL after each batch: one more round
        sizes.append(_size(wal))
    return sizes


@pytest.mark.slow
def test_twenty_runs_with_6_mb_results_keep_the_wal_small_while_the_server_runs(tmp_path: Path):
    """Measured (bench/memory.py): before, the WAL grew ≈ 29 MiB a run to 562 MiB after 20
    runs; now it stays at 17–29 MiB. Bound: 48 MiB after every run (the writer's own safety
    net alone, past 64 MiB, would not keep it there)."""
    db = tmp_path / "orra.duckdb"
    wal = Path(str(db) + ".wal")
    server = ServerProcess(db).start()
    api, _ = new_project(server.url)
    try:
        with serving(api, "sdk_services.py", "large", online={"text-repeater"}, cwd=tmp_path):
            sizes = []
            for _ in range(20):
                accepted = api.post("/orchestrations", _repeat(CHARS)).json()
                done = api.wait_finished(accepted["executionId"], 120)
                assert done["status"] == "COMPLETED", done.get("error")
                sizes.append(_size(wal))
            in_mib = [round(size / MIB, 1) for size in sizes]
            assert max(sizes) < 48 * MIB, f"WAL after each run, MiB: {in_mib}"
            assert _size(db) < 64 * MIB  # the checkpoints went into the file, once each
        assert "could not be checkpointed" not in server.log()
    finally:
        server.stop()


def _repeat(times: int) -> dict:
    return {
        "action": {"type": "repeat-text", "content": "repeat the text"},
        "data": [{"field": "text", "value": "é"}, {"field": "times", "value": times}],
    }


def test_no_transaction_stays_open_after_start_up_or_a_write(tmp_path: Path):
    """A plain CHECKPOINT fails while another transaction is open ("there are other write
    transactions active"): so it pins that none is left open, after a replay too."""
    store = Store(str(tmp_path / "orra.duckdb"))
    try:
        asyncio.run(_write_large_runs(store, 1, tmp_path / "orra.duckdb.wal"))
        with store._connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
        store.writer.close()
        store._connection.execute("UPDATE projection_state SET projected_seq = 0")
        store._connection.close()
        store = Store(str(tmp_path / "orra.duckdb"))  # replays the projection first
        asyncio.run(_write_large_runs(store, 1, tmp_path / "orra.duckdb.wal"))
        with store._connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    finally:
        store.close()


def test_the_writer_checkpoints_itself_when_duckdb_does_not(tmp_path: Path):
    """With DuckDB's automatic checkpoint off, the writer keeps the WAL near WAL_LIMIT:
    without it, 8 runs leave ≈ 184 MiB (measured: checkpoints of 64 MiB took 50–260 ms, on
    the writer thread)."""
    db = tmp_path / "orra.duckdb"
    store = Store(str(db))
    try:
        store._connection.execute("SET wal_autocheckpoint = '10GB'")
        store.writer.wal_check_every = 0.0
        sizes = asyncio.run(_write_large_runs(store, 8, Path(str(db) + ".wal")))
        assert store.writer.checkpoints >= 2
        assert max(sizes) < WAL_LIMIT + 32 * MIB, [size // MIB for size in sizes]
    finally:
        store.close()
