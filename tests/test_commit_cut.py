"""A writer's connection to PostgreSQL that goes while COMMIT is under way: the transaction may
have happened or not, and the writer must not guess. A real cluster behind a real TCP relay
(`pg_relay.py`) that cuts the writer's session at its next COMMIT, after the server got it
(it commits, its answer is lost) or before (the server rolls back)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from pg_relay import PgRelay

from orra_sdk.vocabulary import OrchestrationStatus
from orra_server.core.errors import DatabaseUnavailable
from orra_server.engine.run import Run, StepState
from orra_server.store import NewProject
from orra_server.store.postgres.store import PostgresStore

AT = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)


def _run(run_id: str) -> Run:
    made = Run(
        id=run_id,
        project_id="p_1",
        action={"type": "t", "content": "c"},
        data=[],
        plan={"steps": [{"id": "step1", "component": "a", "dependencies": []}]},
        status=OrchestrationStatus.RUNNING,
        created_at=AT,
        webhooks=[],
        start_time=AT,
    )
    made.steps = {"step1": StepState("step1", "a", "s_a", {}, [])}
    return made


def _on_a_loop(write: Any) -> None:
    """Await one verb (a function of no arguments returning an awaitable) on a fresh loop."""

    async def main() -> None:
        await write()

    asyncio.run(main())


def _accept(store: PostgresStore, run: Run) -> None:
    _on_a_loop(lambda: store.accept(run, list(run.steps.values())))


def _rows(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as connection:
        return connection.execute(sql, params).fetchall()


@pytest.fixture(params=["alone", "joined"])
def cut_store(request: pytest.FixtureRequest, database: str):
    """A store whose every session goes through a relay; "joined": a replica of a cluster,
    whose commits check the fence first (the transaction's id is read with it)."""
    port = int(database.rsplit(":", 1)[1].split("/")[0])
    with PgRelay(port) as relay:
        store = PostgresStore(relay.url(database))
        try:
            if request.param == "joined":
                _rows(
                    database,
                    "INSERT INTO replicas VALUES (%s, 'alive', now(), now(), NULL) RETURNING id",
                    store.identity,
                )
                store.join_cluster()
            _on_a_loop(lambda: store.add_project(NewProject("p_1", "shop", "s", "h_1", [], AT)))
            yield store, relay
        finally:
            store.close()


def test_a_commit_whose_answer_is_lost_is_asked_after_and_counts_as_done(cut_store, database):
    store, relay = cut_store
    cut = relay.cut_at_next_commit("orra-writer", deliver=True)
    _accept(store, _run("o_cut"))  # it happened: the caller hears success, not a 503
    assert cut.done.is_set(), "the relay did not cut the commit"
    assert _rows(database, "SELECT id FROM orchestrations") == [("o_cut",)]
    events = store.events_of("o_cut")
    assert [e.type for e in events] == ["orchestration_accepted"]
    _accept(store, _run("o_after"))  # the writer goes on with its new session
    assert store.orchestration("o_after") is not None


def test_a_commit_that_never_reached_the_server_is_a_503_and_nothing_is_written(
    cut_store, database
):
    store, relay = cut_store
    cut = relay.cut_at_next_commit("orra-writer", deliver=False)
    with pytest.raises(DatabaseUnavailable):
        _accept(store, _run("o_cut"))
    assert cut.done.is_set(), "the relay did not cut the commit"
    assert _rows(database, "SELECT id FROM orchestrations") == []
    _accept(store, _run("o_cut"))  # the caller's retry is accepted once
    assert _rows(database, "SELECT id FROM orchestrations") == [("o_cut",)]
    assert [e.type for e in store.events_of("o_cut")] == ["orchestration_accepted"]
