"""The store's verbs and reads, tested on the interface itself (no HTTP).

Every test takes a ``store`` fixture; a second backend (PostgreSQL) adds itself to the fixture's
parameters and must pass the same tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from pathlib import Path

import pytest

from helpers import ended_run
from orra_server.store import Change, Cursor, InvalidCursor, Store, StoreBackend

AT = datetime(2026, 12, 4, 15, 30, 0, 123456, tzinfo=UTC)


@pytest.fixture(params=["duckdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = Store(str(tmp_path / "orra.duckdb"))
    yield opened
    opened.close()


def test_the_duckdb_store_implements_the_backend_interface(store: Store):
    assert isinstance(store, StoreBackend)
    missing = [
        name
        for name in dir(StoreBackend)
        if not name.startswith("_") and not callable(getattr(store, name, None))
    ]
    assert missing == []


def run(awaitable_factory):
    """Run one verb (a coroutine function of no arguments) on a fresh loop."""

    async def main():
        return await awaitable_factory()

    return asyncio.run(main())


def test_a_project_comes_with_its_first_key_and_webhooks(store: Store):
    run(
        lambda: store.add_project(
            "p_1", "shop", webhook_secret="whsec_x", key_hash="h1", webhooks=["https://a/"], at=AT
        )
    )
    project = store.project("p_1")
    assert project["name"] == "shop" and project["webhook_secret"] == "whsec_x"
    assert project["created_at"] == AT.replace(tzinfo=None)  # naive UTC, microseconds kept
    assert store.all_key_hashes() == {"h1": "p_1"}
    assert [k["name"] for k in store.api_keys_of("p_1")] == ["default"]
    assert store.webhooks("result", "p_1") == ["https://a/"]
    assert store.webhooks("compensation_failure", "p_1") == []
    assert store.project("p_2") is None


def test_times_in_other_zones_are_stored_as_utc(store: Store):
    paris = AT.astimezone(timezone(timedelta(hours=1)))
    run(
        lambda: store.add_project(
            "p_1", "x", webhook_secret="s", key_hash="h", webhooks=[], at=paris
        )
    )
    assert store.project("p_1")["created_at"] == AT.replace(tzinfo=None)


def test_keys_are_added_rotated_in_one_step_and_revoked(store: Store):
    run(
        lambda: store.add_project("p_1", "x", webhook_secret="s", key_hash="h1", webhooks=[], at=AT)
    )
    run(lambda: store.add_api_key("p_1", "h2", "ci", at=AT + timedelta(seconds=1)))
    assert [k["name"] for k in store.api_keys_of("p_1")] == ["default", "ci"]
    run(lambda: store.rotate_api_key("p_1", "h2", "h3", "ci", at=AT + timedelta(seconds=2)))
    assert store.all_key_hashes() == {"h1": "p_1", "h3": "p_1"}
    assert [(k["key_hash"], k["name"]) for k in store.api_keys_of("p_1")][-1] == ("h3", "ci")
    run(lambda: store.revoke_api_key("h3"))
    assert store.all_key_hashes() == {"h1": "p_1"}


def test_webhooks_of_each_kind_are_added_and_removed(store: Store):
    run(lambda: store.add_project("p_1", "x", webhook_secret="s", key_hash="h", webhooks=[], at=AT))
    for kind in ("result", "compensation_failure"):
        run(lambda kind=kind: store.add_webhook(kind, "p_1", "https://one/", at=AT))
        run(lambda kind=kind: store.add_webhook(kind, "p_1", "https://two/", at=AT))
        assert store.webhooks(kind, "p_1") == ["https://one/", "https://two/"]
        run(lambda kind=kind: store.remove_webhook(kind, "p_1", "https://one/"))
        assert store.webhooks(kind, "p_1") == ["https://two/"]
    assert store.webhooks_of("p_1") == ["https://two/"]
    assert store.compensation_failure_webhooks_of("p_1") == ["https://two/"]


def test_a_grounding_is_saved_replaced_and_deleted(store: Store):
    spec = {"name": "support", "domain": "d", "version": "1", "use-cases": []}
    save = partial(store.save_grounding, "p_1", "support", domain="d", created_at=AT)
    run(lambda: save(version="1", spec=spec, at=AT, replaces=False))
    row = store.grounding("p_1", "support")
    assert row["spec"] == spec and row["deleted_at"] is None
    changed = {**spec, "version": "2"}
    later = AT + timedelta(minutes=1)
    run(lambda: save(version="2", spec=changed, at=later, replaces=True))
    row = store.grounding("p_1", "support")
    assert row["version"] == "2" and row["created_at"] == AT.replace(tzinfo=None)
    assert [r["name"] for r in store.groundings_of("p_1")] == ["support"]
    run(lambda: store.delete_grounding(row, at=later))
    assert store.grounding("p_1", "support")["deleted_at"] == later.replace(tzinfo=None)
    assert store.groundings_of("p_1") == []


def test_a_delivery_rides_in_its_outcome_and_its_attempt_costs_no_commit(store: Store, tmp_path):
    """A configured webhook must not slow orchestrations (issue 13): the delivery row goes in
    the outcome event's snapshot, and the attempt's record waits for the next commit."""
    from helpers import WebhookReceiver
    from orra_server.delivery.webhooks import Outbox
    from orra_server.settings import Settings

    async def scenario(receiver: WebhookReceiver) -> tuple[int, int, dict]:
        settings = Settings(db_path=str(tmp_path / "unused.duckdb"), allow_private_webhooks=True)
        outbox = Outbox(store, settings, secret_of=lambda _project: "whsec_" + "A" * 32)
        rows = outbox.new("p_1", "o_1", "orchestration", [receiver.url], {"status": "COMPLETED"})
        await store.record([Change("o_1", "orchestration_completed", AT, deliveries=rows)])
        await store.sync()
        assert [d["status"] for d in store.deliveries_of("o_1")] == ["pending"]
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
    assert delivery["status"] == "delivered" and delivery["attempts"] == 1
    events = [e["type"] for e in store.events_of("o_1")]
    assert events == ["orchestration_completed", "webhook_attempt"]


def test_orchestrations_are_listed_newest_first_and_filtered(store: Store):
    from orra_sdk.vocabulary import OrchestrationStatus
    from orra_server.engine.run import Run

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
        return [r["id"] for r in store.orchestrations_of("p_1", **filters)]

    assert ids() == ["o_3", "o_2", "o_1"]
    assert ids(status="COMPLETED") == ["o_3", "o_1"]
    assert ids(action_type="refund") == ["o_2", "o_1"]
    assert ids(text="refund") == ["o_3", "o_2", "o_1"]  # any case
    assert ids(text="100%") == ["o_1"]  # % and _ are text, not wildcards
    assert ids(text="order_7") == ["o_2"] and ids(text="order_") == ["o_2"]
    assert ids(since=AT + timedelta(minutes=2)) == ["o_3", "o_2"]
    assert ids(until=AT + timedelta(minutes=2)) == ["o_1"]
    assert ids(limit=1, offset=1) == ["o_2"]
    assert ids(text="nothing like it") == []
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
            pages.extend(r["id"] for r in rows)
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


def test_projected_resolves_once_committed_rows_are_readable_without_forcing_a_batch(
    store: Store,
):
    """The engine drops a finished run from memory once ``projected()`` resolves: from then on
    reads come from the current-state tables, so they must already show its end."""

    ended = ended_run("o_1", {"text": "é" * 1000}, created_at=AT)

    async def scenario() -> tuple[dict | None, dict | None]:
        await store.projected()  # nothing pending: resolves at once
        await store.accept(ended, [])
        visible_before = store.orchestration("o_1")  # committed, not yet projected
        await asyncio.wait_for(store.projected(), 5)
        return visible_before, store.orchestration("o_1")

    before, after = run(scenario)
    assert before is None  # the projection lags the events (so the wait above is needed)
    assert after is not None and after["result"] == {"text": "é" * 1000}
