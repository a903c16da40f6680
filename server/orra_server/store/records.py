"""What the control plane hands the store, and how the store turns it into rows.

The engine keeps its own state objects (a run, its steps, its compensations); the store reads
them by attribute through the protocols below, so it owns every encoding — JSON text, naive-UTC
timestamps, table and column names — and nothing outside this package knows a column.

A :class:`Change` is one durable fact about an orchestration: an event (its kind, time, payload)
and the current state it changed. One :meth:`Store.record` call commits a list of them at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from .projection import Insert, Operation, Update, snapshot_of
from .rows import StoredCompensationFailure, StoredDelivery
from .schema import ARROW_SCHEMAS

__all__ = [
    "Change",
    "DuplicateKey",
    "CompensationRecord",
    "Delivery",
    "NewProject",
    "OrchestrationRecord",
    "StepRecord",
    "aware",
    "dumps",
    "encoded",
    "loads",
    "naive",
    "operations",
    "utc",
]


class DuplicateKey(Exception):
    """A write of a row whose key another write (maybe on another replica) took first."""


def dumps(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def loads(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def naive(moment: datetime | None) -> datetime | None:
    """The store keeps UTC without a time zone; callers hand over aware times."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def aware(moment: datetime | None) -> datetime | None:
    """A time as the store reads it (naive UTC), with its time zone."""
    return None if moment is None else moment.replace(tzinfo=UTC)


def utc(moment: datetime | None) -> datetime | None:
    """A time a caller gives (a query's bound: naive means UTC) as the store compares it;
    OverflowError when it has no UTC equivalent (year 1 or 9999 in another zone)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class OrchestrationRecord(Protocol):
    """The engine's run as the store reads it: an attribute for each column of
    :class:`~orra_server.store.StoredOrchestration` (a status may be a ``StrEnum``)."""

    id: str
    created_at: datetime
    plan: dict[str, Any] | None


class StepRecord(Protocol):
    """The engine's step: ``id`` (the row's ``step_id``), ``template`` (shown as its input
    until it has one) and an attribute for each other column of ``StoredStep``."""

    id: str
    template: dict[str, Any]
    input: dict[str, Any] | None


class CompensationRecord(Protocol):
    """The engine's compensation: an attribute for each column of ``StoredCompensation``."""

    orchestration_id: str
    step_id: str


@dataclass(frozen=True, slots=True)
class NewProject:
    """A project as it is created: with its first key (named ``default``) and its webhooks,
    written in one commit so that no project is ever seen without a key."""

    id: str
    name: str
    webhook_secret: str
    key_hash: str
    webhooks: list[str]
    created_at: datetime


@dataclass(slots=True)
class Delivery:
    """One webhook message to one URL, from its creation to its last attempt."""

    id: str
    project_id: str
    orchestration_id: str | None
    kind: str  # orchestration, compensation_failure, approval_requested
    url: str
    body: Any  # the JSON value POSTed
    created_at: datetime
    next_attempt_at: datetime
    status: str = "pending"  # pending, delivered, failed
    attempts: int = 0
    last_status: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None

    @classmethod
    def resumed(cls, stored: StoredDelivery) -> Delivery:
        """One :meth:`Store.pending_deliveries` read, to attempt again."""
        return cls(**{field.name: getattr(stored, field.name) for field in fields(stored)})


@dataclass(slots=True)
class Change:
    """An event of one orchestration plus the current state it changed.

    ``orchestration``/``steps``/``compensations`` are written as updates, or as inserts where
    ``new`` (the orchestration and its steps) or ``new_compensations`` say so; ``status``
    overrides the orchestration's status (an outcome is written before the engine shows it);
    ``deliveries`` are new webhook messages, ``attempted`` ones whose attempt changed them.
    """

    orchestration_id: str | None
    kind: str
    at: datetime
    payload: Any = None
    step_id: str | None = None
    orchestration: OrchestrationRecord | None = None
    status: str | None = None
    new: bool = False
    steps: Sequence[StepRecord] = ()
    #: steps inserted by this change (a plan revision's new steps)
    new_steps: Sequence[StepRecord] = ()
    compensations: Sequence[CompensationRecord] = ()
    new_compensations: bool = False
    deliveries: Sequence[Delivery] = ()
    attempted: Sequence[Delivery] = ()
    failure: StoredCompensationFailure | None = None


def operations(changes: Iterable[Change], *, snapshots: bool = True) -> list[Operation]:
    """The writer's operations for ``changes``: each event carries a snapshot of its rows
    (``snapshots``: for a backend that replays them after a crash; PostgreSQL does not)."""
    ops: list[Operation] = []
    for change in changes:
        rows: list[Insert | Update] = []
        fresh = Insert if change.new else Update
        if change.orchestration is not None:
            rows.append(fresh("orchestrations", orchestration_row(change.orchestration, change)))
        rows += [fresh("steps", step_row(change.orchestration_id, s)) for s in change.steps]
        rows += [Insert("steps", step_row(change.orchestration_id, s)) for s in change.new_steps]
        kind = Insert if change.new_compensations else Update
        rows += [kind("compensations", compensation_row(c)) for c in change.compensations]
        rows += [Insert("deliveries", delivery_row(d)) for d in change.deliveries]
        rows += [Update("deliveries", delivery_row(d)) for d in change.attempted]
        event = {
            "seq": None,
            "orchestration_id": change.orchestration_id,
            "step_id": change.step_id,
            "type": change.kind,
            "occurred_at": naive(change.at),
            "payload": dumps(change.payload),
            "snapshot": snapshot_of(rows) if snapshots else None,
        }
        ops += [Insert("events", event), *rows]
        if change.failure is not None:
            ops.append(Insert("compensation_failures", failure_row(change.failure)))
    return ops


#: the columns each table keeps as JSON text
JSON_COLUMNS: dict[str, frozenset[str]] = {
    "orchestrations": frozenset({"action", "data", "plan", "result", "webhooks", "options"}),
    "steps": frozenset({"input", "output", "compensation"}),
    "compensations": frozenset({"context", "input", "result"}),
    "deliveries": frozenset({"body"}),
    "compensation_failures": frozenset({"compensation", "context"}),
    "groundings": frozenset({"spec"}),
    "services": frozenset({"input_schema", "output_schema", "policy"}),
}


def encoded(record: Any, table: str, **given: Any) -> dict[str, Any]:
    """A row of ``table`` from ``record``'s attributes of the columns' names (``given`` wins):
    JSON columns as JSON text, times as naive UTC, statuses as plain text."""
    row: dict[str, Any] = {}
    for column in ARROW_SCHEMAS[table].names:
        value = given[column] if column in given else getattr(record, column)
        if column in JSON_COLUMNS[table]:
            value = dumps(value)
        elif isinstance(value, datetime):
            value = naive(value)
        elif isinstance(value, str):
            value = str(value)  # a StrEnum member becomes its text
        row[column] = value
    return row


def orchestration_row(run: OrchestrationRecord, change: Change | None = None) -> dict[str, Any]:
    status = change.status if change is not None and change.status else run.status
    return encoded(run, "orchestrations", status=status)


def step_row(orchestration_id: str | None, step: StepRecord) -> dict[str, Any]:
    shown = step.input if step.input is not None else step.template
    return encoded(step, "steps", orchestration_id=orchestration_id, step_id=step.id, input=shown)


def compensation_row(item: CompensationRecord) -> dict[str, Any]:
    return encoded(item, "compensations")


def delivery_row(delivery: Delivery) -> dict[str, Any]:
    return encoded(delivery, "deliveries")


def failure_row(failure: StoredCompensationFailure) -> dict[str, Any]:
    return encoded(failure, "compensation_failures", updated_at=failure.created_at)
