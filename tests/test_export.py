"""``GET /export/{table}`` and the client over it: Arrow, Parquet and JSON agree with the API."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest

from helpers import (
    SEED_REQUEST,
    ServerProcess,
    new_project,
    seed_services,
)
from orra_studio import Client
from orra_studio.errors import BadRequest, Unauthorized


@pytest.fixture(scope="module")
def history(live_server: ServerProcess) -> Iterator[tuple[Client, list[str]]]:
    """A project with three completed seed orchestrations and one not actionable."""
    api, project = new_project(live_server.url)
    client = Client(live_server.url, project["apiKey"])
    with seed_services(api):
        ids = []
        for _ in range(3):
            accepted = api.post("/orchestrations", SEED_REQUEST).json()
            ids.append(api.wait_finished(accepted["executionId"])["executionId"])
        refused = client.submit("launch a rocket to the moon", {"rocketId": "r1"})
        assert refused["status"] == "NOT_ACTIONABLE"
        ids.append(refused["executionId"])
        yield client, ids
    client.close()


def test_arrow_export_matches_the_api(history) -> None:
    client, ids = history
    orchestrations = client.export("orchestrations").to_pylist()
    assert [o["execution_id"] for o in orchestrations] == ids  # oldest first
    assert [o["status"] for o in orchestrations] == ["COMPLETED"] * 3 + ["NOT_ACTIONABLE"]
    assert orchestrations[0]["action_type"] == "customer-inquiry"
    assert orchestrations[0]["step_count"] == 4

    steps = client.export("steps").to_pylist()
    assert len(steps) == 12
    body = client.orchestration(ids[0])
    by_id = {s["step_id"]: s for s in steps if s["execution_id"] == ids[0]}
    for step in body["stepResults"]:
        start = datetime.fromisoformat(step["startTime"]).replace(tzinfo=None)
        assert by_id[step["id"]]["start_time"] == start
        assert by_id[step["id"]]["attempts"] == step["attempts"]
        assert by_id[step["id"]]["duration_ms"] >= 0

    events = client.export("events", status="COMPLETED").to_pylist()
    assert {e["execution_id"] for e in events} == set(ids[:3])
    assert sum(e["type"] == "step_completed" for e in events) == 12
    for execution_id in ids[:3]:  # run by run, each run's events numbered from 1
        numbers = [e["seq"] for e in events if e["execution_id"] == execution_id]
        assert numbers == list(range(1, len(numbers) + 1))
    assert [e["execution_id"] for e in events] == sorted(
        (e["execution_id"] for e in events), key=ids.index
    )


def test_parquet_json_and_filters(history) -> None:
    client, ids = history
    table = pq.read_table(io.BytesIO(client.export_bytes("steps", "parquet")))
    assert table.num_rows == 12
    answer = client._call("GET", "/export/orchestrations", params={"format": "json"})
    assert answer["count"] == 4 and answer["rows"][0]["created_at"].endswith("Z")

    future = datetime.now(UTC) + timedelta(hours=1)
    assert client.export("orchestrations", since=future).num_rows == 0
    assert client.export("orchestrations", until=future).num_rows == 4
    refused = client.export("orchestrations", status=["NOT_ACTIONABLE", "FAILED"])
    assert refused.column("execution_id").to_pylist() == [ids[3]]


def test_bad_export_requests(history, live_server: ServerProcess) -> None:
    client, _ = history
    with pytest.raises(BadRequest) as unknown_status:
        client.export("steps", status="DONE")
    assert unknown_status.value.code == "invalid_status"
    with pytest.raises(BadRequest) as unknown_table:
        client.export_bytes("projects")
    assert unknown_table.value.code == "invalid_request"
    with pytest.raises(BadRequest) as bad_time:
        client.export_bytes("steps", since="yesterday")
    assert bad_time.value.code == "invalid_request"
    with Client(live_server.url) as anonymous, pytest.raises(Unauthorized):
        anonymous.export("steps")


def test_times_out_of_range_in_utc_are_a_400(history) -> None:
    client, _ = history
    with pytest.raises(BadRequest) as late:
        client.export_bytes("steps", since="9999-12-31T23:59:59-14:00")
    assert late.value.code == "invalid_request" and "out of range" in late.value.message
    assert client.export("steps", until="0001-01-01T00:00:00").num_rows == 0


def test_the_local_history_refreshes_only_what_can_have_changed(history) -> None:
    from orra_studio.history import LocalHistory

    client, ids = history
    local = LocalHistory(locked=True)
    try:
        first = local.refresh(client)
        assert first["orchestrations"] == len(ids)
        again = local.refresh(client)  # nothing new: only the newest is fetched again
        assert again["orchestrations"] <= 1
        count = local.query("SELECT count(*) AS n FROM orchestrations")["n"][0]
        assert count == len(ids)  # replaced, never duplicated
        steps = local.query("SELECT count(*) AS n FROM steps")["n"][0]
        assert steps == len(client.export("steps"))
        with pytest.raises(Exception, match="Permission Error"):
            local.query("SELECT * FROM read_csv('/etc/passwd')")
    finally:
        local.close()


def test_the_list_pages_by_cursor_and_sorts_on_the_server(history) -> None:
    client, ids = history
    newest_first = [o["executionId"] for o in client.orchestrations(limit=100)]
    pages, cursor = [], None
    while True:
        page = client.orchestration_page(limit=1, cursor=cursor)
        pages.extend(o["executionId"] for o in page["orchestrations"])
        cursor = page["nextCursor"]
        if cursor is None:
            break
        # an orchestration started between two pages shifts no row: it sorts before them
        client.submit("launch a rocket to the moon", {"rocketId": "r2"})
    assert pages == newest_first == ids[::-1]
    oldest_first = client.orchestrations(sort="createdAt", limit=len(ids))
    assert [o["executionId"] for o in oldest_first] == ids
    by_status = [o["status"] for o in client.orchestrations(sort="-status", limit=100)]
    assert by_status == sorted(by_status, reverse=True) and "COMPLETED" in by_status
    by_type = client.orchestrations(sort="type", limit=100)
    assert [o["action"]["type"] for o in by_type] == sorted(o["action"]["type"] for o in by_type)

    with pytest.raises(BadRequest) as unknown:
        client.orchestrations(sort="duration")
    assert unknown.value.code == "invalid_sort" and "createdAt" in str(unknown.value)
    with pytest.raises(BadRequest) as forged:
        client.orchestrations(cursor="not-a-cursor")
    assert forged.value.code == "invalid_cursor"
    first = client.orchestration_page(limit=1)["nextCursor"]
    with pytest.raises(BadRequest) as other_sort:
        client.orchestrations(cursor=first, sort="status")
    assert other_sort.value.code == "invalid_cursor" and "same sort" in str(other_sort.value)
