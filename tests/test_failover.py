"""The failover tests of docs/scale-out.md: three replicas on one PostgreSQL database, as real
processes, one of them killed (SIGKILL) or frozen (SIGSTOP) with runs in flight.

The shouter connects to one surviving replica and the counter to the other, and every run is
posted to the replica that dies, so every task crosses replicas before the failure and after.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from pathlib import Path

import psycopg
import pytest

from helpers import (
    SERVICES,
    Api,
    ServiceProcess,
    WebhookReceiver,
    new_project,
    wait_until,
)
from orra_server.store.reads import UNFINISHED_SQL as UNFINISHED
from postgres_cluster import start_or_skip
from replica_scenario import (
    each_run_ended_once,
    each_step_completed_once,
    rows,
    shout_and_count,
    start_replicas,
)

RUNS, GATED = 60, 10
REQUEST = shout_and_count("during an outage")


def request(n: int, gated: bool) -> dict:
    message = f"run number {n}"
    return shout_and_count(message, approve=["step2"]) if gated else shout_and_count(message)


def _pinned_services(api: Api, shouter_at: str, counter_at: str) -> list[ServiceProcess]:
    key = api.key or ""
    started = [
        ServiceProcess([str(SERVICES / "sdk_services.py"), shouter_at, key, "shouter-only"]),
        ServiceProcess(
            [str(SERVICES / "sdk_services.py"), counter_at, key, "counter-only"],
            env={"COUNT_DELAY": "1.5", "COUNT_CONCURRENCY": "64"},
        ),
    ]
    return [service.start() for service in started]


def test_a_replica_killed_with_sixty_runs_in_flight_loses_none(database: str, tmp_path: Path):
    doomed, left, right = start_replicas(tmp_path, database, "abc")
    with WebhookReceiver() as receiver:
        api, _project = new_project(doomed.url, webhooks=[receiver.url])
        at_left, at_right = Api(left.url, api.key), Api(right.url, api.key)
        services = _pinned_services(api, left.url, right.url)
        try:
            names = {"text-shouter", "word-counter"}
            wait_until(lambda: api.services_online(names), 30, "the doomed replica to see both")
            ids = [api.accepted(request(n, n < GATED))["executionId"] for n in range(RUNS)]
            gated, plain = ids[:GATED], ids[GATED:]

            # a stream on a survivor, of a run the doomed replica owns, from before the kill
            streamed: queue.Queue[list[dict]] = queue.Queue()
            threading.Thread(
                target=lambda: streamed.put(at_left.read_events(plain[-1])), daemon=True
            ).start()

            def in_flight() -> bool:
                listed = at_left.get("/orchestrations", params={"limit": 100}).json()
                statuses = [o["status"] for o in listed["orchestrations"]]
                return statuses.count("RUNNING") + statuses.count("AWAITING_APPROVAL") == RUNS

            wait_until(in_flight, 30, "all sixty in flight")
            owned = rows(database, "SELECT owner, count(*) FROM orchestrations GROUP BY owner")
            assert len(owned) == 1 and owned[0][1] == RUNS  # all the doomed replica's
            doomed.stop(signal.SIGKILL)

            # the gated runs wait across the takeover; each is approved on the survivor that
            # does not own it
            def waiting_elsewhere() -> bool:
                return all(
                    at_left.get(f"/orchestrations/{g}").json()["status"] == "AWAITING_APPROVAL"
                    for g in gated
                ) and not rows(
                    database,
                    "SELECT 1 FROM orchestrations o JOIN replicas r ON r.id = o.owner "
                    "WHERE r.status <> 'alive'",
                )

            wait_until(waiting_elsewhere, 40, "the gated runs to be taken over")
            owners = dict(rows(database, "SELECT id, owner FROM orchestrations"))
            left_id = at_left.get("/health").json()["replica"]
            for execution_id in gated:
                other = at_right if owners[execution_id] == left_id else at_left
                decided = other.post(f"/orchestrations/{execution_id}/steps/step2/approve", {})
                assert decided.status_code == 200, decided.text

            for execution_id in ids:
                body = at_left.wait_finished(execution_id, timeout=90)
                assert body["status"] == "COMPLETED", body
                assert body["result"]["words"] == 3

            delivered: set[str] = set()
            while len(delivered) < RUNS:
                _headers, body, _raw = receiver.next(timeout=60)
                if "status" not in body:
                    continue  # a gated run's "approval requested"
                assert body["status"] == "COMPLETED"
                delivered.add(body["executionId"])
            assert delivered == set(ids)

            events = streamed.get(timeout=60)
            numbers = [int(event["sse_id"]) for event in events]
            assert numbers == list(range(1, len(numbers) + 1))
            on_disk = rows(
                database,
                "SELECT type FROM events WHERE orchestration_id = %s ORDER BY seq",
                plain[-1],
            )
            assert [event["type"] for event in events] == [kind for (kind,) in on_disk][
                : len(events)
            ]
            assert events[-1]["type"] == "orchestration_completed" or any(
                e["type"] == "orchestration_completed" for e in events
            )
        finally:
            for service in services:
                service.stop()
            for server in (left, right):
                server.stop()
    each_step_completed_once(database)
    each_run_ended_once(database)


def test_a_frozen_replica_writes_nothing_after_its_runs_are_taken_and_exits(
    database: str, tmp_path: Path
):
    frozen, survivor = start_replicas(tmp_path, database, "ab")
    api, _project = new_project(frozen.url)
    at_survivor = Api(survivor.url, api.key)
    services = _pinned_services(api, survivor.url, survivor.url)
    try:
        wait_until(lambda: api.services_online({"text-shouter", "word-counter"}), 30, "services")
        frozen_id = api.get("/health").json()["replica"]
        ids = [api.accepted(request(n, False))["executionId"] for n in range(10)]
        wait_until(
            lambda: all(
                at_survivor.get(f"/orchestrations/{i}").json()["status"] == "RUNNING" for i in ids
            ),
            20,
            "the runs to be running",
        )
        assert frozen.proc is not None
        frozen.proc.send_signal(signal.SIGSTOP)

        # a run may have ended before the freeze: it stays the frozen replica's (nothing is
        # left to do for it), so only unfinished runs must change hands
        unfinished = f"SELECT id FROM orchestrations WHERE owner = %s AND status IN {UNFINISHED}"
        seen: list[object] = []

        def taken() -> bool:
            status = rows(database, "SELECT status FROM replicas WHERE id = %s", frozen_id)
            left = rows(database, unfinished, frozen_id)
            seen[:] = [status, left]
            return status == [("dead",)] and not left

        try:
            wait_until(taken, 40, "the survivor to take the frozen replica's runs")
        except AssertionError as timed_out:
            tail = survivor.log()[-3000:]
            raise AssertionError(f"{timed_out}; seen {seen}; survivor: {tail}") from None
        (horizon,) = rows(database, "SELECT coalesce(max(seq), 0) FROM events")[0]
        for execution_id in ids:
            assert at_survivor.wait_finished(execution_id, timeout=60)["status"] == "COMPLETED"

        frozen.proc.send_signal(signal.SIGCONT)
        assert frozen.proc.wait(timeout=30) == 75  # it learned it was declared dead, and left
        late = rows(
            database,
            "SELECT count(*) FROM events WHERE replica = %s AND seq > %s",
            frozen_id,
            horizon,
        )
        assert late == [(0,)]
        assert "declared dead" in frozen.log()
    finally:
        for service in services:
            service.stop()
        survivor.stop()
        frozen.stop(signal.SIGKILL)
    each_step_completed_once(database)
    each_run_ended_once(database)


def test_a_frozen_replica_whose_session_holds_its_row_is_still_declared_dead(
    database: str, tmp_path: Path
):
    """A replica stopped while its writer is mid-pipeline keeps its fence's lock on its own
    row: the session is not idle, so no server timeout ends it, and the survivor's takeover
    waited on it for ever (CI saw this). Here a session named as the frozen replica's writer
    holds that lock; the survivor must end it and declare the replica dead."""
    frozen, survivor = start_replicas(tmp_path, database, "ab")
    api, _project = new_project(frozen.url)
    frozen_id = api.get("/health").json()["replica"]
    holder = psycopg.connect(
        database,
        application_name=f"orra-writer {frozen_id}",
        options="-c idle_in_transaction_session_timeout=0",
    )
    bystander = psycopg.connect(database, application_name="psql")
    try:
        holder.execute("SELECT status FROM replicas WHERE id = %s FOR SHARE", (frozen_id,))
        assert frozen.proc is not None
        frozen.proc.send_signal(signal.SIGSTOP)
        status = "SELECT status FROM replicas WHERE id = %s"
        wait_until(lambda: rows(database, status, frozen_id) == [("dead",)], 30, "takeover")
        with pytest.raises(psycopg.OperationalError):
            holder.execute("SELECT 1")
        assert bystander.execute("SELECT 1").fetchone() == (1,)  # not the frozen one's: kept
        frozen.proc.send_signal(signal.SIGCONT)
        assert frozen.proc.wait(timeout=30) == 75
        assert "declared dead" in frozen.log()
    finally:
        holder.close()
        bystander.close()
        survivor.stop()
        frozen.stop(signal.SIGKILL)


def test_a_database_outage_longer_than_the_dead_time_takes_no_replica_down(tmp_path: Path):
    """No replica can write its heartbeat while PostgreSQL is down, so when it is back every
    replica looks silent for longer than the dead time: none may declare the others, or
    itself, dead for that (a whole cluster once exited 75 after a database restart)."""
    cluster = start_or_skip()  # a server of its own: this test stops and starts it
    try:
        database = cluster.new_database()
        replicas = start_replicas(tmp_path, database, "ab")
        api, _project = new_project(replicas[0].url)
        callers = [Api(r.url, api.key) for r in replicas]
        try:
            cluster.stop_server()
            outage_ends = time.monotonic() + 5  # longer than FAST_TAKEOVER's 3 s dead time
            wait_until(
                lambda: all("heartbeat failed" in r.log() for r in replicas), 60, "the outage"
            )
            # callers hear that the database is away, as a 503 to retry, not a 500
            for answer in (
                callers[0].get("/orchestrations"),
                callers[1].post("/orchestrations", REQUEST),
            ):
                assert answer.status_code == 503, answer.text
                assert answer.json()["error"]["code"] == "database_unavailable"
                assert answer.headers["Retry-After"] == "1"
            wait_until(lambda: time.monotonic() > outage_ends, 10, "five seconds down")
            cluster.start_server()
            # once it is back, reads are answered again; until then a 503, never a 500
            for caller in callers:

                def answered(caller: Api = caller) -> bool:
                    status = caller.get("/orchestrations").status_code
                    assert status in (200, 503), status
                    return status == 200

                wait_until(answered, 30, "reads to be answered again")
            (back,) = rows(database, "SELECT now() AT TIME ZONE 'UTC'")[0]

            def beating_for_a_dead_time() -> bool:
                found = rows(database, "SELECT status, heartbeat_at FROM replicas")
                assert [s for s, _ in found] == ["alive", "alive"], found
                return all((at - back).total_seconds() > 4 for _, at in found)

            wait_until(beating_for_a_dead_time, 90, "both replicas to beat past a dead time")
            for replica in replicas:
                assert replica.proc is not None and replica.proc.poll() is None
                assert "declared dead" not in replica.log()
        finally:
            for replica in replicas:
                replica.stop(signal.SIGKILL)
    finally:
        cluster.stop()
