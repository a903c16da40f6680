"""The store's verbs and reads, tested on the interface itself (no HTTP).

Every test takes a ``store`` (and, to close and reopen it, a ``backend``) fixture; a second
backend (PostgreSQL) adds itself to ``backend``'s parameters and must pass the same tests.
Every method of :class:`StoreBackend` has a test here: each test names the methods it covers
(``@covers``), and ``test_every_verb_of_the_interface_has_a_contract_test`` fails for one
that none names.
"""

from __future__ import annotations

import asyncio
import dataclasses
import queue
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest

from helpers import ended_run
from orra_sdk.vocabulary import OrchestrationStatus, StepStatus
from orra_server.engine.run import CompensationState, Run, StepState
from orra_server.store import (
    Change,
    Cursor,
    Delivery,
    InvalidCursor,
    NewProject,
    Store,
    StoreBackend,
    StoredCompensationFailure,
    StoredEvent,
    StoredGrounding,
    StoredRevision,
    StoredService,
)

AT = datetime(2026, 12, 4, 15, 30, 0, 123456, tzinfo=UTC)

#: the interface's methods some test below covers
COVERED: set[str] = set()


def covers(*verbs: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a test as the contract test of ``verbs`` (each must be a method of the interface)."""

    def mark(test: Callable[..., Any]) -> Callable[..., Any]:
        COVERED.update(verbs)
        return test

    return mark


@dataclasses.dataclass
class Backend:
    """Opens one database, again and again (a restart): ``open`` returns a new store on it."""

    open_store: Callable[[], StoreBackend]
    opened: list[StoreBackend] = dataclasses.field(default_factory=list)

    def open(self) -> StoreBackend:
        store = self.open_store()
        self.opened.append(store)
        return store

    def reopen(self, store: StoreBackend) -> StoreBackend:
        """``store`` closed, then the same database opened again."""
        store.close()
        self.opened.remove(store)
        return self.open()


@pytest.fixture(params=["duckdb", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "postgres":
        from orra_server.store.postgres.store import PostgresStore

        url = request.getfixturevalue("postgres_cluster").new_database()
        made = Backend(lambda: PostgresStore(url))
    else:
        path = str(tmp_path / "orra.duckdb")
        made = Backend(lambda: Store(path))
    yield made
    for store in made.opened:
        store.close()


@pytest.fixture
def store(backend: Backend) -> StoreBackend:
    return backend.open()


def run(awaitable_factory):
    """Run one verb (a coroutine function of no arguments) on a fresh loop."""

    async def main():
        return await awaitable_factory()

    return asyncio.run(main())


def project(store: StoreBackend, project_id: str = "p_1") -> None:
    run(
        lambda: store.add_project(
            NewProject(project_id, "shop", "s", f"h_{project_id}", [], created_at=AT)
        )
    )


def assert_read_once(thing: Any) -> None:
    """A read's object: frozen, every time aware UTC."""
    assert dataclasses.is_dataclass(thing)
    first = dataclasses.fields(thing)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(thing, first, None)
    for field in dataclasses.fields(thing):
        value = getattr(thing, field.name)
        if isinstance(value, datetime):
            assert value.tzinfo is UTC, (type(thing).__name__, field.name)


def test_every_verb_of_the_interface_has_a_contract_test():
    verbs = {name for name in dir(StoreBackend) if not name.startswith("_")}
    assert verbs - COVERED == set(), "methods of StoreBackend without a contract test"
    assert COVERED - verbs == set(), "contract tests of methods StoreBackend does not have"


def test_the_store_implements_the_backend_interface(store: StoreBackend):
    assert isinstance(store, StoreBackend)
    missing = [
        name
        for name in dir(StoreBackend)
        if not name.startswith("_") and not callable(getattr(store, name, None))
    ]
    assert missing == []


# -- projects, keys, webhooks ------------------------------------------------------------------
@covers("add_project", "project", "all_key_hashes", "api_keys_of", "webhooks")
def test_a_project_comes_with_its_first_key_and_webhooks(store: StoreBackend):
    run(
        lambda: store.add_project(
            NewProject(
                "p_1", "shop", "whsec_x", key_hash="h1", webhooks=["https://a/"], created_at=AT
            )
        )
    )
    shop = store.project("p_1")
    assert shop.name == "shop" and shop.webhook_secret == "whsec_x"
    assert shop.created_at == AT  # aware UTC, microseconds kept
    assert_read_once(shop)
    assert store.all_key_hashes() == {"h1": "p_1"}
    (key,) = store.api_keys_of("p_1")
    assert (key.name, key.key_hash, key.project_id, key.created_at) == ("default", "h1", "p_1", AT)
    assert_read_once(key)
    assert store.webhooks("result", "p_1") == ["https://a/"]
    assert store.webhooks("compensation_failure", "p_1") == []
    assert store.project("p_2") is None


def test_times_in_other_zones_are_read_back_in_utc(store: StoreBackend):
    paris = AT.astimezone(timezone(timedelta(hours=1)))
    run(lambda: store.add_project(NewProject("p_1", "x", "s", "h", [], created_at=paris)))
    created = store.project("p_1").created_at
    assert created == AT and created.tzinfo is UTC and created.hour == 15


@covers("add_api_key", "rotate_api_key", "revoke_api_key")
def test_keys_are_added_rotated_in_one_step_and_revoked(store: StoreBackend):
    project(store)
    run(lambda: store.add_api_key("p_1", "h2", "ci", at=AT + timedelta(seconds=1)))
    assert [k.name for k in store.api_keys_of("p_1")] == ["default", "ci"]
    run(lambda: store.rotate_api_key("p_1", "h2", "h3", "ci", at=AT + timedelta(seconds=2)))
    assert store.all_key_hashes() == {"h_p_1": "p_1", "h3": "p_1"}
    assert [(k.key_hash, k.name) for k in store.api_keys_of("p_1")][-1] == ("h3", "ci")
    run(lambda: store.revoke_api_key("h3"))
    assert store.all_key_hashes() == {"h_p_1": "p_1"}


@covers("add_webhook", "remove_webhook", "webhooks_of", "compensation_failure_webhooks_of")
def test_webhooks_of_each_kind_are_added_and_removed(store: StoreBackend):
    project(store)
    for kind in ("result", "compensation_failure"):
        run(lambda kind=kind: store.add_webhook(kind, "p_1", "https://one/", at=AT))
        run(lambda kind=kind: store.add_webhook(kind, "p_1", "https://two/", at=AT))
        assert store.webhooks(kind, "p_1") == ["https://one/", "https://two/"]
        run(lambda kind=kind: store.remove_webhook(kind, "p_1", "https://one/"))
        assert store.webhooks(kind, "p_1") == ["https://two/"]
    assert store.webhooks_of("p_1") == ["https://two/"]
    assert store.compensation_failure_webhooks_of("p_1") == ["https://two/"]


# -- services, groundings, the plan cache --------------------------------------------------------
def _service(version: int, **changed: Any) -> StoredService:
    given = {
        "id": "s_echo",
        "project_id": "p_1",
        "name": "echo",
        "kind": "service",
        "description": "Echoes",
        "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}},
        "output_schema": {"type": "object"},
        "revertible": False,
        "version": version,
        "created_at": AT,
        "updated_at": AT + timedelta(minutes=version),
        "policy": None,
        "requires_approval": False,
    }
    return StoredService(**{**given, **changed})


@covers("save_service", "service", "service_by_name", "services_of")
def test_a_service_is_registered_and_re_registered(store: StoreBackend):
    run(lambda: store.save_service(_service(1), replaces=False))
    assert store.service("s_echo") == _service(1)
    policy = {"timeoutSeconds": 5}
    again = _service(2, revertible=True, policy=policy, requires_approval=True)
    run(lambda: store.save_service(again, replaces=True))
    assert store.service("s_echo") == again
    assert store.service_by_name("p_1", "echo") == again
    assert store.service_by_name("p_2", "echo") is None and store.service("s_none") is None
    assert store.services_of("p_1") == [again] and store.services_of("p_2") == []
    assert_read_once(again)


@covers("save_grounding", "grounding", "groundings_of", "delete_grounding")
def test_a_grounding_is_saved_replaced_and_deleted(store: StoreBackend):
    spec = {"name": "support", "domain": "d", "version": "1", "use-cases": []}

    def save(version: str, spec: dict, at: datetime, replaces: bool):
        grounding = StoredGrounding("p_1", "support", "d", version, spec, AT, at)
        return store.save_grounding(grounding, replaces=replaces)

    run(lambda: save(version="1", spec=spec, at=AT, replaces=False))
    saved = store.grounding("p_1", "support")
    assert saved.spec == spec and saved.deleted_at is None
    changed = {**spec, "version": "2"}
    later = AT + timedelta(minutes=1)
    run(lambda: save(version="2", spec=changed, at=later, replaces=True))
    saved = store.grounding("p_1", "support")
    assert saved.version == "2" and saved.created_at == AT and saved.updated_at == later
    assert_read_once(saved)
    assert [g.name for g in store.groundings_of("p_1")] == ["support"]
    run(lambda: store.delete_grounding(saved, at=later))
    assert store.grounding("p_1", "support").deleted_at == later
    assert store.grounding("p_1", "support").spec == changed
    assert store.groundings_of("p_1") == []


@covers("save_plan", "load_plan", "drop_plan", "clear_plan_cache", "sync")
def test_the_plan_cache_keeps_drops_and_clears_plans(store: StoreBackend):
    plan = {"steps": [{"id": "step1", "component": "echo"}]}

    async def scenario() -> None:
        store.save_plan("k1", "p_1", plan, {"source": "llm"})
        store.save_plan("k2", "p_1", plan, {})
        store.save_plan("k3", "p_2", plan, {})
        await store.sync()
        assert store.load_plan("k1") == (plan, {"source": "llm"})
        store.save_plan("k1", "p_1", {"steps": []}, {"source": "again"})  # replaces
        store.drop_plan("k2")
        await store.sync()
        assert store.load_plan("k1") == ({"steps": []}, {"source": "again"})
        assert store.load_plan("k2") is None
        assert await store.clear_plan_cache("p_1") == 1
        assert store.load_plan("k1") is None and store.load_plan("k3") is not None

    run(scenario)


# -- orchestrations ------------------------------------------------------------------------------
def _run(run_id: str, status: str = "RUNNING", **fields: Any) -> Run:
    plan = {
        "steps": [
            {"id": "step10", "component": "b", "dependencies": ["step2"]},
            {"id": "step2", "component": "a", "dependencies": []},
        ]
    }
    made = Run(
        id=run_id,
        project_id="p_1",
        action={"type": "t", "content": "c"},
        data=[{"field": "x", "value": 1}],
        plan=plan,
        status=OrchestrationStatus(status),
        created_at=AT,
        webhooks=["https://a/"],
        start_time=AT,
        options={"approve": ["step10"]},
        **fields,
    )
    made.steps = {
        "step10": StepState("step10", "b", "s_b", {"v": 1}, ["step2"]),
        "step2": StepState("step2", "a", "s_a", {}, []),
    }
    return made


@covers(
    "accept",
    "record",
    "record_lazy",
    "orchestration",
    "steps_of",
    "events_of",
    "step_counts",
    "of_project",
)
def test_a_run_its_steps_and_its_events_read_back_decoded(store: StoreBackend):
    accepted = _run("o_1")
    step = accepted.steps["step2"]

    async def scenario() -> None:
        await store.accept(accepted, list(accepted.steps.values()))
        step.status, step.output, step.attempts = StepStatus.COMPLETED, {"n": 1}, 1
        step.start_time, step.end_time = AT, AT + timedelta(seconds=1)
        store.record_lazy([Change("o_1", "step_status", AT, {"status": "RUNNING"}, "step2")])
        done = Change("o_1", "task_result", AT, {"n": 1}, "step2", steps=[step])
        await store.record([done])
        await store.sync()

    run(scenario)
    read = store.orchestration("o_1")
    assert (read.id, read.status, read.action, read.data) == (
        "o_1",
        "RUNNING",
        accepted.action,
        accepted.data,
    )
    assert read.plan == accepted.plan and read.webhooks == ["https://a/"]
    assert read.options == {"approve": ["step10"]} and read.parent_id is None
    assert read.created_at == AT and read.start_time == AT and read.end_time is None
    assert_read_once(read)
    steps = store.steps_of("o_1")
    assert [s.step_id for s in steps] == ["step2", "step10"]  # step order, not text order
    assert steps[0].output == {"n": 1} and steps[0].status == "COMPLETED"
    assert steps[0].end_time == AT + timedelta(seconds=1) and steps[0].attempts == 1
    assert steps[1].input == {"v": 1}  # a pending step shows its template
    assert_read_once(steps[0])
    events = store.events_of("o_1")
    kinds = [e.type for e in events]
    assert kinds == ["orchestration_accepted", "step_status", "task_result"]  # lazy: first
    assert [e.number for e in events] == [1, 2, 3]
    assert events[2].payload == {"n": 1} and events[2].step_id == "step2"
    assert events[0].payload == accepted.plan and events[0].occurred_at == AT
    assert_read_once(events[0])
    assert [e.number for e in store.events_of("o_1", after=2)] == [3]
    assert store.orchestration("o_2") is None and store.steps_of("o_2") == []
    # a listing's "1/2": completed of planned; a run with no steps is left out
    assert store.step_counts(["o_1", "o_2"]) == {"o_1": (1, 2)}
    assert store.step_counts([]) == {}
    project = store.orchestration("o_1").project_id
    assert store.of_project(project, ["o_missing", "o_1"]) == ["o_1"]
    assert store.of_project("p_other", ["o_1"]) == [] and store.of_project(project, []) == []


def test_a_deferred_write_outlives_a_failed_neighbour_in_its_batch(store: StoreBackend):
    """A lazy write (a step's status) rides in the next batch; when another item of that
    batch fails (here a service registered twice under one id), the items are tried one by
    one, and the lazy write was lost with the batch: now it is tried on its own too."""
    accepted = _run("o_1")

    async def scenario() -> type[BaseException] | None:
        await store.accept(accepted, list(accepted.steps.values()))
        await store.add_project(NewProject("p_9", "shop", "s", "h_9", [], created_at=AT))
        store.record_lazy([Change("o_1", "step_status", AT, {"status": "RUNNING"}, "step2")])
        try:  # the same id again, as new: refused by the database
            await store.add_project(NewProject("p_9", "shop", "s", "h_9", [], created_at=AT))
        except Exception as refused:
            return type(refused)
        finally:
            await store.sync()
        return None

    assert run(scenario) is not None, "a service saved twice as new was not refused"
    assert [e.type for e in store.events_of("o_1")] == ["orchestration_accepted", "step_status"]


def test_large_values_can_stay_encoded_for_a_response(store: StoreBackend):
    big = {"text": "é" * 70_000}
    ended = ended_run("o_1", big, created_at=AT)
    ended.steps = {"step1": StepState("step1", "a", "s_a", big, [])}

    async def scenario() -> None:
        await store.accept(ended, list(ended.steps.values()))
        await store.sync()

    run(scenario)
    assert store.orchestration("o_1").result == big
    fragment = store.orchestration("o_1", encoded=True).result
    assert isinstance(fragment, orjson.Fragment)
    assert orjson.loads(orjson.dumps({"r": fragment})) == {"r": big}
    assert isinstance(store.steps_of("o_1", encoded=True)[0].input, orjson.Fragment)


@covers("revisions_of")
def test_revisions_are_read_without_their_plans(store: StoreBackend):
    revision = {
        "revision": 1,
        "reason": "step2 failed",
        "at": AT.isoformat(),
        "added": ["step5"],
        "provenance": {"source": "schema-flow"},
        "oldPlan": {},
        "newPlan": {},
    }

    async def scenario() -> None:
        await store.accept(_run("o_1"), [])
        await store.record([Change("o_1", "plan_revised", AT, revision)])

    run(scenario)
    assert store.revisions_of("o_1") == [
        StoredRevision(1, reason="step2 failed", at=AT, added=["step5"])
    ]
    assert store.revisions_of("o_2") == []


@covers("orchestrations_of", "activity_of")
def test_orchestrations_are_listed_newest_first_and_filtered(store: StoreBackend):
    def accepted(i: int, kind: str, content: str, status: str) -> Run:
        return Run(
            id=f"o_{i}",
            project_id="p_1",
            action={"type": kind, "content": content},
            data=[],
            plan={"steps": []},
            status=OrchestrationStatus(status),
            created_at=AT + timedelta(minutes=i),
        )

    runs = [
        accepted(1, "refund", "Refund order 100% now", "COMPLETED"),
        accepted(2, "refund", "refund order_7", "FAILED"),
        accepted(3, "inquiry", "What is a REFUND?", "COMPLETED"),
    ]

    async def write() -> None:
        for r in runs:
            await store.accept(r, [])
        await store.sync()

    run(write)

    def ids(**filters) -> list[str]:
        return [r.id for r in store.orchestrations_of("p_1", **filters)]

    listed = store.orchestrations_of("p_1")[0]
    assert listed.action == {"type": "inquiry", "content": "What is a REFUND?"}
    assert listed.created_at == AT + timedelta(minutes=3) and listed.plan is None  # not listed
    assert ids() == ["o_3", "o_2", "o_1"]
    assert ids(status="COMPLETED") == ["o_3", "o_1"]
    assert ids(action_type="refund") == ["o_2", "o_1"]
    assert ids(text="refund") == ["o_3", "o_2", "o_1"]  # any case
    assert ids(text="100%") == ["o_1"]  # % and _ are text, not wildcards
    assert ids(text="order_7") == ["o_2"] and ids(text="order_") == ["o_2"]
    assert ids(since=AT + timedelta(minutes=2)) == ["o_3", "o_2"]
    assert ids(until=AT + timedelta(minutes=2)) == ["o_1"]
    paris = timezone(timedelta(hours=1))
    assert ids(since=(AT + timedelta(minutes=2)).astimezone(paris)) == ["o_3", "o_2"]
    assert ids(limit=1, offset=1) == ["o_2"]
    assert ids(text="nothing like it") == []
    assert ids(text="O_2") == ["o_2"]  # the id, any case
    assert ids(text="INQUIR") == ["o_3"]  # the action type
    # runs per minute by status: a minute each here, counted from ``since``
    activity = store.activity_of("p_1", AT + timedelta(minutes=2))
    minute = AT.replace(second=0, microsecond=0)  # each run's minute, cut to the minute
    assert [(a.at, a.status, a.runs) for a in activity] == [
        (minute + timedelta(minutes=2), "FAILED", 1),
        (minute + timedelta(minutes=3), "COMPLETED", 1),
    ]
    assert_read_once(activity[0])
    assert store.activity_of("p_other", AT) == []
    # sorted by any public key, ties broken by creation time in the same direction
    assert ids(sort="createdAt") == ["o_1", "o_2", "o_3"]
    assert ids(sort="status") == ["o_1", "o_3", "o_2"]
    assert ids(sort="-status") == ["o_2", "o_3", "o_1"]
    assert ids(sort="type") == ["o_3", "o_1", "o_2"]
    # keyset paging: each page starts right after the last row of the one before
    for sort in ("-createdAt", "createdAt", "status", "-status", "type", "-type"):
        everything = ids(sort=sort)
        pages, after = [], None
        while True:
            rows = store.orchestrations_of("p_1", sort=sort, after=after, limit=2)
            pages.extend(r.id for r in rows)
            if len(rows) < 2:
                break
            after = Cursor.after(sort, rows[-1])
        assert pages == everything, sort
        # the cursor survives its text form
        assert Cursor.decode(after.encode(), sort) == after
    with pytest.raises(InvalidCursor):
        Cursor.decode(after.encode(), "status")
    with pytest.raises(InvalidCursor):
        Cursor.decode("bm90IGEgY3Vyc29y", "-createdAt")


@covers("projected")
def test_projected_resolves_once_committed_rows_are_readable_without_forcing_a_batch(
    store: StoreBackend,
):
    """The engine drops a finished run from memory once ``projected()`` resolves: from then on
    reads come from the current-state tables, so they must already show its end."""

    ended = ended_run("o_1", {"text": "é" * 1000}, created_at=AT)

    async def scenario() -> tuple[Any, Any]:
        await store.projected()  # nothing pending: resolves at once
        await store.accept(ended, [])
        visible_before = store.orchestration("o_1")  # committed, not yet projected
        await asyncio.wait_for(store.projected(), 5)
        return visible_before, store.orchestration("o_1")

    before, after = run(scenario)
    if store.projection_lags:  # DuckDB: the projection lags the events (so the wait is needed)
        assert before is None
    assert after is not None and after.result == {"text": "é" * 1000}


@covers("publish_events")
def test_committed_events_of_watched_runs_are_published(store: StoreBackend):
    published: queue.Queue[list[StoredEvent]] = queue.Queue()
    store.publish_events(lambda orchestration_id: orchestration_id == "o_1", published.put)

    async def scenario() -> None:
        await store.record([Change("o_2", "step_status", AT, "x", "step1")])  # not watched
        await store.record([Change("o_1", "task_result", AT, {"n": 1}, "step1")])

    run(scenario)
    (event,) = published.get(timeout=10)
    assert (event.orchestration_id, event.type, event.step_id) == ("o_1", "task_result", "step1")
    assert event.occurred_at == AT and event.number is None
    assert orjson.loads(event.payload) == {"n": 1}  # still JSON text: decoded by its reader
    assert published.empty()


@covers("export")
def test_a_projects_runs_steps_and_events_export_as_flat_tables(store: StoreBackend):
    finished = _run("o_1", "COMPLETED")
    other = _run("o_2", "FAILED")
    other.created_at = AT + timedelta(hours=1)

    async def scenario() -> None:
        await store.accept(finished, list(finished.steps.values()))
        await store.accept(other, [])
        await store.sync()

    run(scenario)
    orchestrations = store.export("p_1", "orchestrations")
    assert orchestrations.column("execution_id").to_pylist() == ["o_1", "o_2"]
    assert orchestrations.column("step_count").to_pylist() == [2, 2]
    assert orchestrations.column("action_type").to_pylist() == ["t", "t"]
    steps = store.export("p_1", "steps")
    assert sorted(steps.column("step_id").to_pylist()) == ["step10", "step2"]
    events = store.export("p_1", "events")
    assert events.column("seq").to_pylist() == [1, 1]
    assert events.column("type").to_pylist() == ["orchestration_accepted"] * 2
    later = AT + timedelta(minutes=30)
    assert store.export("p_1", "orchestrations", since=later).num_rows == 1
    assert store.export("p_1", "orchestrations", until=later).num_rows == 1
    assert store.export("p_1", "orchestrations", statuses=["FAILED"]).num_rows == 1
    assert store.export("p_2", "orchestrations").num_rows == 0


# -- compensations, failures, deliveries ---------------------------------------------------------
def _compensation(position: int, status: str = "pending") -> CompensationState:
    return CompensationState(
        orchestration_id="o_1",
        step_id=f"step{position + 1}",
        service_id="s_a",
        component="a",
        reason="failed",
        context={"why": "x"},
        position=position,
        input={"undo": position},
        ttl_ms=None,
        idempotency_key=f"k{position}",
        created_at=AT,
        status=status,
    )


@covers("compensations_of")
def test_compensations_are_read_in_the_order_they_run(store: StoreBackend):
    async def scenario() -> None:
        await store.accept(_run("o_1", "FAILED"), [])
        items = [_compensation(1, "completed"), _compensation(0, "completed")]
        await store.record(
            [
                Change(
                    "o_1",
                    "compensation_scheduled",
                    AT,
                    None,
                    None,
                    compensations=items,
                    new_compensations=True,
                )
            ]
        )
        await store.sync()

    run(scenario)
    read = store.compensations_of("o_1")
    assert [(c.position, c.step_id, c.input) for c in read] == [
        (0, "step1", {"undo": 0}),
        (1, "step2", {"undo": 1}),
    ]
    assert read[0].context == {"why": "x"} and read[0].created_at == AT
    assert_read_once(read[0])
    assert store.compensations_of("o_2") == []


def _failure() -> StoredCompensationFailure:
    return StoredCompensationFailure(
        id="cf_1",
        project_id="p_1",
        orchestration_id="o_1",
        step_id="step1",
        service_id="s_a",
        component="a",
        failure="refused",
        attempts=3,
        compensation={"input": {"undo": 1}, "ttl": None},
        context={"reason": "failed"},
        created_at=AT,
    )


@covers("compensation_failures_of", "compensation_failure", "settle_compensation_failure")
def test_a_compensation_failure_is_recorded_listed_and_settled(store: StoreBackend):
    run(
        lambda: store.record(
            [Change("o_1", "compensation_failed", AT, {}, "step1", failure=_failure())]
        )
    )
    failure = store.compensation_failure("cf_1")
    assert (failure.status, failure.failure, failure.attempts) == ("pending", "refused", 3)
    assert failure.compensation == {"input": {"undo": 1}, "ttl": None}
    assert failure.created_at == AT == failure.updated_at and failure.resolution is None
    assert_read_once(failure)
    assert store.compensation_failures_of("p_1") == [failure]
    assert store.compensation_failures_of("p_1", status="resolved") == []
    assert store.compensation_failures_of("p_1", orchestration_id="o_2") == []
    assert store.compensation_failures_of("p_2") == [] and store.compensation_failure("x") is None
    later = AT + timedelta(hours=1)
    run(lambda: store.settle_compensation_failure(failure, "resolved", "undone by hand", at=later))
    settled = store.compensation_failure("cf_1")
    assert (settled.status, settled.resolution, settled.updated_at) == (
        "resolved",
        "undone by hand",
        later,
    )
    assert settled.compensation == failure.compensation
    assert store.compensation_failures_of("p_1", status="resolved") == [settled]
    resolved = store.events_of("o_1")[-1]
    assert resolved.type == "compensation_failure_resolved"
    assert resolved.payload == {"failureId": "cf_1", "reason": "undone by hand"}


def _delivery(delivery_id: str, at: datetime) -> Delivery:
    return Delivery(
        id=delivery_id,
        project_id="p_1",
        orchestration_id="o_1",
        kind="orchestration",
        url="https://a/",
        body={"status": "COMPLETED"},
        created_at=at,
        next_attempt_at=at,
    )


@covers("deliveries_of", "unattempted_deliveries")
def test_deliveries_ride_in_their_outcome_and_their_attempts_update_them(store: StoreBackend):
    first, second = _delivery("msg_1", AT), _delivery("msg_2", AT + timedelta(seconds=1))

    async def scenario() -> None:
        await store.record(
            [Change("o_1", "orchestration_completed", AT, deliveries=[first, second])]
        )
        await store.sync()
        assert store.unattempted_deliveries("o_1") == 2
        first.status, first.attempts, first.last_status = "delivered", 1, 200
        first.delivered_at = AT + timedelta(seconds=2)
        await store.record(
            [Change("o_1", "webhook_attempt", AT, {"attempt": 1}, attempted=[first])]
        )
        await store.sync()

    run(scenario)
    assert store.unattempted_deliveries("o_1") == 1
    read = store.deliveries_of("o_1")
    assert [(d.id, d.status, d.attempts) for d in read] == [
        ("msg_1", "delivered", 1),
        ("msg_2", "pending", 0),
    ]
    assert read[0].body == {"status": "COMPLETED"} and read[0].last_status == 200
    assert read[0].delivered_at == AT + timedelta(seconds=2)
    assert_read_once(read[0])
    assert store.deliveries_of("o_2") == [] and store.unattempted_deliveries("o_2") == 0


def test_a_delivery_rides_in_its_outcome_and_its_attempt_costs_no_commit(
    store: StoreBackend, tmp_path
):
    """A configured webhook must not slow orchestrations (issue 13): the delivery row goes in
    the outcome event's snapshot, and the attempt's record waits for the next commit."""
    from helpers import WebhookReceiver
    from orra_server.delivery.webhooks import Outbox
    from orra_server.settings import Settings

    async def scenario(receiver: WebhookReceiver) -> tuple[int, int, Any]:
        settings = Settings(db_path=str(tmp_path / "unused.duckdb"), allow_private_webhooks=True)
        outbox = Outbox(store, settings, secret_of=lambda _project: "whsec_" + "A" * 32)
        rows = outbox.new("p_1", "o_1", "orchestration", [receiver.url], {"status": "COMPLETED"})
        await store.record([Change("o_1", "orchestration_completed", AT, deliveries=rows)])
        await store.sync()
        assert [d.status for d in store.deliveries_of("o_1")] == ["pending"]
        before = store.writer.batches_committed
        outbox.schedule(rows)
        # the delivery task: sent, answered, recorded
        await asyncio.wait_for(asyncio.gather(*outbox._tasks), 20)
        after_delivery = store.writer.batches_committed
        await store.sync()
        await outbox.close()
        return before, after_delivery, store.deliveries_of("o_1")[0]

    with WebhookReceiver() as receiver:
        before, after_delivery, delivery = asyncio.run(scenario(receiver))
        assert receiver.next()[1] == {"status": "COMPLETED"}
    assert after_delivery == before  # the attempt committed nothing of its own
    assert delivery.status == "delivered" and delivery.attempts == 1
    events = [e.type for e in store.events_of("o_1")]
    assert events == ["orchestration_completed", "webhook_attempt"]


# -- after a restart: what recovery reads ----------------------------------------------------------
@covers(
    "close",
    "unfinished_orchestrations",
    "unfinished_orchestration_ids",
    "steps_of_unfinished",
    "dispatches_of_unfinished",
    "approvals_requested_of_unfinished",
    "unfinished_compensations",
    "pending_deliveries",
    "salvage",
)
def test_what_was_in_flight_reads_back_after_a_close_and_reopen(
    backend: Backend, store: StoreBackend
):
    """Everything recovery reads at start-up, from a store reopened on the same database."""
    waiting = _run("o_1")
    compensating = _run("o_3", "FAILED")
    ended = ended_run("o_2", {"done": True}, created_at=AT - timedelta(hours=1))
    asked = AT + timedelta(minutes=5)

    async def before_the_stop() -> None:
        await store.accept(waiting, list(waiting.steps.values()))
        await store.accept(ended, [])
        await store.accept(compensating, [])
        dispatched = [Change("o_1", "step_dispatched", AT, {}, "step2") for _ in range(2)]
        dispatched.append(Change("o_2", "step_dispatched", AT, {}, "step1"))  # an ended run
        await store.record(dispatched)
        await store.record(
            [
                Change("o_1", "approval_requested", AT, {}, "step10"),
                Change("o_1", "approval_requested", asked, {}, "step10"),
            ]
        )
        undo = [_compensation(0, "running"), _compensation(1, "completed")]
        for item in undo:
            item.orchestration_id = "o_3"
        await store.record(
            [
                Change(
                    "o_3", "compensation_scheduled", AT, compensations=undo, new_compensations=True
                )
            ]
        )
        await store.record(
            [Change("o_1", "orchestration_completed", AT, deliveries=[_delivery("msg_1", asked)])]
        )

    run(before_the_stop)
    reopened = backend.reopen(store)
    unfinished = reopened.unfinished_orchestrations()
    assert [r.id for r in unfinished] == ["o_1"]  # o_3 ended: only its undoing is unfinished
    assert unfinished[0].plan == waiting.plan and unfinished[0].created_at == AT
    assert_read_once(unfinished[0])
    assert reopened.unfinished_orchestration_ids() == ["o_1"]
    steps = reopened.steps_of_unfinished()
    assert sorted(steps) == ["o_1"]
    assert [s.step_id for s in steps["o_1"]] == ["step2", "step10"]
    assert_read_once(steps["o_1"][0])
    assert reopened.dispatches_of_unfinished() == {("o_1", "step2"): 2}
    waits = reopened.approvals_requested_of_unfinished()
    assert waits == {("o_1", "step10"): asked} and waits["o_1", "step10"].tzinfo is UTC
    (interrupted,) = reopened.unfinished_compensations()
    assert (interrupted.orchestration_id, interrupted.step_id) == ("o_3", "step1")
    assert interrupted.project_id == "p_1" and interrupted.input == {"undo": 0}
    assert_read_once(interrupted)
    (pending,) = reopened.pending_deliveries()
    assert (pending.id, pending.next_attempt_at, pending.body) == (
        "msg_1",
        asked,
        {"status": "COMPLETED"},
    )
    assert Delivery.resumed(pending).next_attempt_at == asked  # the outbox attempts it again
    salvaged, salvaged_steps = reopened.salvage("o_1")
    assert salvaged.id == "o_1" and salvaged.action == waiting.action
    assert sorted(s.step_id for s in salvaged_steps) == ["step10", "step2"]
    assert reopened.salvage("o_9") == (None, [])
