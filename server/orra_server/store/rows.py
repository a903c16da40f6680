"""What the store's reads return: frozen objects, decoded once, every time aware (UTC).

Every backend hands these back (they belong to the :class:`~orra_server.store.StoreBackend`
Protocol, not to DuckDB): JSON values already decoded, times with their zone, a column read
by attribute. Nothing above the store reads a column by name or turns a naive time into an
aware one. A listing leaves out the columns it does not read (None there); ``encoded`` reads
hand large JSON values back as ``orjson.Fragment``s; a salvage read (a row today's rules
refuse) leaves None where a JSON value does not decode.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

import orjson

__all__ = [
    "StoredActivity",
    "StoredApiKey",
    "StoredCompensation",
    "StoredCompensationFailure",
    "StoredDelivery",
    "StoredEvent",
    "StoredGrounding",
    "StoredOrchestration",
    "StoredProject",
    "StoredRevision",
    "StoredService",
    "StoredStep",
]

_frozen = dataclass(frozen=True, slots=True)


@_frozen
class StoredActivity:
    """Runs created in one minute (``at``) that now have one ``status``."""

    at: datetime
    status: str
    runs: int


@_frozen
class StoredProject:
    """A project: the tenant every key, service and orchestration belongs to."""

    id: str
    name: str
    webhook_secret: str
    created_at: datetime


@_frozen
class StoredApiKey:
    """A key's hash, name and creation time: keys themselves are never stored."""

    key_hash: str
    project_id: str
    name: str
    created_at: datetime


@_frozen
class StoredService:
    """A registration (a service or an agent) as its latest version left it."""

    id: str
    project_id: str
    name: str
    kind: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    revertible: bool
    version: int
    created_at: datetime
    updated_at: datetime
    policy: dict[str, Any] | None = None
    requires_approval: bool | None = None


@_frozen
class StoredGrounding:
    """A grounding spec's current version (``deleted_at``: removed, kept for the runs that
    used it)."""

    project_id: str
    name: str
    domain: str
    version: str
    spec: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


@_frozen
class StoredOrchestration:
    """An orchestration as the current-state table holds it: its request, plan and outcome
    (``parent_id``: the run it re-runs)."""

    id: str
    project_id: str
    action: dict[str, Any]
    data: list[dict[str, Any]] | None
    status: str
    plan: dict[str, Any] | None
    result: Any
    error: str | None
    webhooks: list[str] | None
    created_at: datetime
    start_time: datetime | None
    end_time: datetime | None
    options: dict[str, Any] | None = None
    parent_id: str | None = None


@_frozen
class StoredStep:
    """A step of a plan as it last stood: its input, output and attempts."""

    orchestration_id: str
    step_id: str
    service_id: str | None
    component: str
    status: str
    input: Any
    output: Any
    error: str | None
    attempts: int | None
    idempotency_key: str | None
    start_time: datetime | None
    end_time: datetime | None
    compensation: Any = None
    approval: str | None = None


@_frozen
class StoredEvent:
    """``number`` is the event's place in its run (1, 2, …), what the API shows instead of
    the global ``seq``, whose gaps would reveal other projects' activity. A live event (just
    committed, see :meth:`Store.publish_events`) has no number yet and its payload is still
    JSON text: a large one is decoded off the event loop by its reader."""

    number: int | None
    seq: int
    orchestration_id: str | None
    step_id: str | None
    type: str
    occurred_at: datetime
    payload: Any


@_frozen
class StoredCompensation:
    """The undo of a completed step of a failed or cancelled run, and how it went."""

    orchestration_id: str
    step_id: str
    service_id: str | None
    component: str
    status: str
    reason: str
    context: Any
    position: int
    attempts: int | None
    input: Any
    ttl_ms: int | None
    idempotency_key: str
    result: Any
    error: str | None
    created_at: datetime
    start_time: datetime | None
    end_time: datetime | None
    #: the run's project (only :meth:`unfinished_compensations` reads it)
    project_id: str | None = None


@_frozen
class StoredCompensationFailure:
    """A compensation that failed for good: a record for a person to resolve or ignore. The
    engine writes one as it is (``status`` pending); reads return it as it was last settled."""

    id: str
    project_id: str
    orchestration_id: str
    step_id: str
    service_id: str | None
    component: str
    failure: str
    attempts: int
    compensation: Any
    context: Any
    created_at: datetime
    status: str = "pending"
    resolution: str | None = None
    #: when it was settled (None only before it is written: a new row says ``created_at``)
    updated_at: datetime | None = None


@_frozen
class StoredDelivery:
    """A webhook delivery of an outcome (or of a compensation failure) and its attempts."""

    id: str
    project_id: str
    orchestration_id: str | None
    kind: str
    url: str
    body: Any
    status: str
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None


@_frozen
class StoredRevision:
    """A plan revision as its ``plan_revised`` event records it, without the old and new
    plans (a run's summary never shows them; they stay in the event)."""

    revision: int
    reason: str | None = None
    at: datetime | None = None
    failed_step: str | None = None
    #: the services left out of the new plan (failed or offline), by name
    excluded: list[str] | None = None
    #: the steps the revision replaced, and the ones it added
    replaced: list[str] | None = None
    added: list[str] | None = None
    #: the planner that made the new plan (llm, schema-flow, cache)
    source: str | None = None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> StoredRevision:
        """From the event's payload (camelCase JSON; ``at`` in ISO 8601), the engine's record of
        a revision as it wrote it."""
        at = payload.get("at")
        return cls(
            revision=payload["revision"],
            reason=payload.get("reason"),
            at=datetime.fromisoformat(at) if isinstance(at, str) else None,
            failed_step=payload.get("failedStep"),
            excluded=payload.get("excluded"),
            replaced=payload.get("replaced"),
            added=payload.get("added"),
            source=payload.get("source"),
        )


#: the attributes each kind of object keeps as JSON text in a row
_JSON: dict[type, frozenset[str]] = {
    StoredService: frozenset({"input_schema", "output_schema", "policy"}),
    StoredGrounding: frozenset({"spec"}),
    StoredOrchestration: frozenset({"action", "data", "plan", "result", "webhooks", "options"}),
    StoredStep: frozenset({"input", "output", "compensation"}),
    StoredEvent: frozenset({"payload"}),
    StoredCompensation: frozenset({"context", "input", "result"}),
    StoredCompensationFailure: frozenset({"compensation", "context"}),
    StoredDelivery: frozenset({"body"}),
}

Stored = TypeVar("Stored")


def decode(kind: type[Stored], row: dict[str, Any], *, lenient: bool = False) -> Stored:
    """``row`` (column → value, JSON as text, times naive UTC) as a ``kind``. A column the row
    lacks is None; a JSON value already decoded (an ``orjson.Fragment``) stays as it is;
    ``lenient``: a JSON value that does not decode is None instead of an error."""
    values: dict[str, Any] = {}
    for name, is_json in _attributes(kind):
        value = row.get(name)
        if is_json and isinstance(value, str):
            value = _loads(value, lenient)
        elif isinstance(value, datetime):
            value = value.replace(tzinfo=UTC)
        values[name] = value
    return kind(**values)


@cache
def _attributes(kind: type) -> tuple[tuple[str, bool], ...]:
    """``kind``'s attributes, each with whether a row keeps it as JSON text."""
    json = _JSON.get(kind, frozenset())
    return tuple((field.name, field.name in json) for field in fields(kind))


def _loads(text: str, lenient: bool) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        if lenient:
            return None
        raise
