"""What the PostgreSQL and replica tests share: replicas as real processes on one database,
the two-step request they post, and the checks that each step and each end is recorded once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from helpers import ServerProcess

#: a replica silent for 3 s is declared dead (the default is 10), heartbeats twice a second
FAST_TAKEOVER = {"ORRA_REPLICA_DEAD_AFTER": "3", "ORRA_REPLICA_HEARTBEAT": "0.5"}


def shout_and_count(message: str, **options: Any) -> dict[str, Any]:
    """Shout ``message``, then count its words: two steps, two services."""
    body: dict[str, Any] = {
        "action": {"type": "shout-and-count", "content": "shout, count words"},
        "data": [{"field": "message", "value": message}],
    }
    return {**body, "options": options} if options else body


def start_replicas(tmp_path: Path, database: str, names: str) -> list[ServerProcess]:
    """One ``orra serve`` per letter of ``names`` on ``database``, each started (healthy)."""
    started = []
    for name in names:
        (tmp_path / name).mkdir()
        server = ServerProcess(tmp_path / name / "db", db=database, env=FAST_TAKEOVER)
        started.append(server.start())
    return started


def rows(url: str, sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(url) as connection:
        return connection.execute(sql, params).fetchall()


def each_step_completed_once(database: str) -> None:
    twice = rows(
        database,
        "SELECT orchestration_id, step_id FROM events WHERE type = 'step_completed' "
        "GROUP BY orchestration_id, step_id HAVING count(*) <> 1",
    )
    assert twice == []


def each_run_ended_once(database: str) -> None:
    ends = rows(
        database,
        "SELECT o.id, (SELECT count(*) FROM events e WHERE e.orchestration_id = o.id "
        "AND e.type IN ('orchestration_completed', 'orchestration_failed', "
        "'orchestration_cancelled', 'orchestration_aborted')) FROM orchestrations o",
    )
    assert [n for _, n in ends] == [1] * len(ends)
