"""The control plane's memory does not follow the size of results (issue 24, item 5).

A finished run is kept in memory as a summary once the store shows its end; its result is
read back from the store. Large values are stored in parts, so DuckDB's checkpoints do not
grow with them, and DuckDB itself is held to ``ORRA_DB_MEMORY_LIMIT``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from helpers import ROOT, ServerProcess, ended_run, new_project, serving
from orra_server.settings import SettingError, db_memory_limit, db_threads

MIB = 1024 * 1024
CHARS = 3_000_000  # "é" × 3 M: 6 MB of UTF-8


def _repeat(times: int) -> dict:
    return {
        "action": {"type": "repeat-text", "content": "repeat the text"},
        "data": [{"field": "text", "value": "é"}, {"field": "times", "value": times}],
    }


@pytest.mark.slow
def test_twenty_runs_with_6_mb_results_leave_rss_flat_and_results_byte_exact(tmp_path: Path):
    """Measured (bench/memory.py): before, each such run added ≈ 80 MiB that stayed (this test
    saw runs 3..20 end up to 1,180 MiB above run 2); now RSS stops growing after the first runs.
    Bound: runs 11..20 never end more than 100 MiB above the highest of runs 2..5 (measured:
    at most 25 MiB; RSS moves ± 40 MiB from run to run)."""
    server = ServerProcess(tmp_path / "orra.duckdb", env={"ORRA_DB_MEMORY_LIMIT": "128MB"}).start()
    api, _ = new_project(server.url)
    assert server.proc is not None
    process = psutil.Process(server.proc.pid)
    try:
        with serving(api, "sdk_services.py", "large", online={"text-repeater"}, cwd=tmp_path):
            ids, rss = [], []
            for _ in range(20):
                accepted = api.post("/orchestrations", _repeat(CHARS)).json()
                done = api.wait_finished(accepted["executionId"], 120)
                assert done["status"] == "COMPLETED", done.get("error")
                assert done["result"]["repeated"] == "é" * CHARS
                ids.append(accepted["executionId"])
                rss.append(process.memory_info().rss)
            baseline = max(rss[1:5])
            grown = [round((value - baseline) / MIB) for value in rss[10:]]
            assert max(grown) < 100, f"MiB above runs 2..5 after runs 11..20: {grown}"

            # the first run left memory long ago: read back from the store, byte for byte
            first = api.get(f"/orchestrations/{ids[0]}")
            assert first.status_code == 200
            body = first.json()
            assert body["result"] == {"repeated": "é" * CHARS}
            assert body["stepResults"][0]["output"] == {"repeated": "é" * CHARS}
            assert ("é" * CHARS).encode() in first.content  # UTF-8, not \\u escapes
            logs = api.get(f"/orchestrations/{ids[0]}/logs").json()
            assert logs["status"] == "COMPLETED" and logs["logs"]
        assert "Traceback" not in server.log()
    finally:
        server.stop()


def test_duckdb_settings_have_ascii_grammars():
    assert db_memory_limit("512MB") == "500000KiB"
    assert db_memory_limit("1GiB") == "1048576KiB"
    assert db_memory_limit("1.5 GB") == "1464843KiB"
    for bad in ("lots", "512", "1²GB", "-1GB", "1.2345GB", "10MB", "٥١٢MB", "999999999999TB"):
        with pytest.raises(SettingError, match="ORRA_DB_MEMORY_LIMIT"):
            db_memory_limit(bad)
    assert db_threads("2") == 2
    for bad in ("0", "²", "257", "two", "1.5"):
        with pytest.raises(SettingError, match="ORRA_DB_THREADS"):
            db_threads(bad)


@pytest.mark.parametrize(
    ("name", "value"), [("ORRA_DB_MEMORY_LIMIT", "lots"), ("ORRA_DB_THREADS", "0")]
)
def test_a_bad_duckdb_setting_stops_orra_serve_in_one_line(tmp_path: Path, name: str, value: str):
    done = subprocess.run(
        [sys.executable, "-m", "orra_studio.cli", "serve", "--db", str(tmp_path / "x.duckdb")],
        env={**_clean_env(), name: value},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: {name}="), done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "x.duckdb").exists()  # stopped before opening anything


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("ORRA_")}


def test_large_values_are_stored_in_parts_and_read_back_whole_even_after_a_replay(
    tmp_path: Path,
):
    """Values over 64 KiB go to ``large_values`` in 8 KiB parts (a DuckDB checkpoint reads
    2,048 rows of a column at once: whole 6 MB values there made it need GBs); every read —
    rows, events, exports, the crash replay of the projection — joins them back."""
    import asyncio

    from orra_server.store import Change, Store
    from orra_server.store.large import PART
    from orra_server.store.writer import replay_projection

    big = {"text": "é" * 200_000 + "\x00orra-large: not a reference"}
    store = Store(str(tmp_path / "orra.duckdb"))
    ended = ended_run("o_1", big)

    async def write() -> None:
        await store.accept(ended, [])
        await store.record(
            [Change("o_1", "task_result", ended.created_at, big, orchestration=ended)]
        )

    try:
        asyncio.run(write())
        store.writer.close()  # (writes its projection batch, then stops)
        # as after a crash before that batch: rebuild the projection from the events
        store._connection.execute("UPDATE projection_state SET projected_seq = 0")
        store._connection.execute("DELETE FROM orchestrations")
        assert store.orchestration("o_1") is None
        assert replay_projection(store._connection) == 2
        assert store.orchestration("o_1").result == big
        assert [e.payload for e in store.events_of("o_1")][-1] == big
        exported = store.export("p_1", "orchestrations").column("result").to_pylist()
        assert [json_text.encode() for json_text in exported] == [__import__("orjson").dumps(big)]
        parts = store._connection.execute(
            "SELECT count(*), max(length(text)) FROM large_values"
        ).fetchone()
        assert parts[0] > 0 and parts[1] <= PART
        longest = store._connection.execute(
            "SELECT max(length(payload)), max(length(snapshot)) FROM events"
        ).fetchone()
        assert max(longest) < 200  # references, not values
    finally:
        store._connection.close()


def test_a_finished_run_is_kept_whole_only_until_the_store_shows_its_end():
    """Reads between the end's commit and the next projection batch get the run itself (the
    store would still show it running); after it, only a summary stays in memory."""
    import asyncio
    from datetime import UTC, datetime

    from orra_sdk.vocabulary import OrchestrationStatus
    from orra_server.engine.finished import FinishedRuns
    from orra_server.engine.run import Run

    async def scenario() -> None:
        finished = FinishedRuns(limit=2)
        projected = asyncio.get_running_loop().create_future()
        runs = [
            Run(
                id=f"o_{n}",
                project_id="p_1",
                action={"type": "t", "content": "c"},
                data=[],
                plan=None,
                status=OrchestrationStatus.COMPLETED,
                created_at=datetime(2026, 12, 6, tzinfo=UTC),
                result={"text": "é" * 1000},
            )
            for n in range(3)
        ]
        finished.ended(runs[0], projected)
        assert finished.run("o_0") is runs[0]
        projected.set_result(None)
        await asyncio.sleep(0)  # the done-callback runs
        assert finished.run("o_0") is None
        summary = finished.summary("o_0")
        assert summary is not None and summary.status == OrchestrationStatus.COMPLETED
        assert not hasattr(summary, "result") and summary.project_id == "p_1"
        for run in runs[1:]:  # the oldest summary goes past the limit
            done = asyncio.get_running_loop().create_future()
            done.set_result(None)
            finished.ended(run, done)
        assert finished.summary("o_0") is None and len(finished) == 2

    asyncio.run(scenario())


def test_a_failed_projection_flush_keeps_its_rows_and_tells_no_waiter_too_early(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """The engine forgets a finished run once ``projected()`` resolves, so that must mean
    "readable": a flush that fails (here a real primary-key conflict in DuckDB) keeps its rows
    for the next flush and leaves the waiter waiting until they are written."""
    import asyncio
    import time

    from orra_server.store import Store

    store = Store(str(tmp_path / "orra.duckdb"))
    blocker = store._connection.cursor()
    blocker.execute(
        "INSERT INTO orchestrations (id, project_id, status, created_at) "
        "VALUES ('o_1', 'p_other', 'RUNNING', now())"
    )

    async def scenario() -> None:
        await store.accept(ended_run("o_1", {"text": "done"}), [])
        shown = store.projected()
        deadline = time.monotonic() + 10
        while "projection flush failed" not in caplog.text:
            assert time.monotonic() < deadline, "the flush never failed"
            await asyncio.sleep(0.05)
        assert not shown.done()  # the rows are not readable: nobody is told they are
        blocker.execute("DELETE FROM orchestrations WHERE id = 'o_1'")
        await asyncio.wait_for(shown, 10)

    try:
        with caplog.at_level("ERROR", logger="orra.store"):
            asyncio.run(scenario())
        row = store.orchestration("o_1")
        assert row is not None and row.status == "COMPLETED", row
        assert row.result == {"text": "done"}
    finally:
        blocker.close()
        store.close()
