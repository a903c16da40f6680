"""Compensation failures (as the original orra): list, inspect, resolve or ignore them. Their
webhooks are :mod:`.webhooks` of kind ``compensation_failure``."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from orra_sdk.vocabulary import CompensationFailureStatus

from ..core.errors import Conflict, NotFound
from ..core.ids import now
from ..engine.compensation_body import failure_body
from .runtime import Runtime

__all__ = [
    "SETTLED_AS",
    "Settle",
    "compensation_failure",
    "list_compensation_failures",
    "settle_compensation_failure",
]

#: what each settling verb makes a pending failure
SETTLED_AS = {
    "resolve": CompensationFailureStatus.RESOLVED,
    "ignore": CompensationFailureStatus.IGNORED,
}


@dataclass(frozen=True, slots=True)
class Settle:
    project_id: str
    failure_id: str
    verb: Literal["resolve", "ignore"]
    #: why, for the record
    reason: str


def list_compensation_failures(
    runtime: Runtime, project_id: str, status: str | None, orchestration_id: str | None
) -> list[dict[str, Any]]:
    rows = runtime.store.compensation_failures_of(
        project_id, status=status, orchestration_id=orchestration_id
    )
    return [failure_body(r) for r in rows]


def _failure(runtime: Runtime, project_id: str, failure_id: str) -> dict[str, Any]:
    row = runtime.store.compensation_failure(failure_id)
    if row is None or row.project_id != project_id:
        raise NotFound(
            f"no compensation failure '{failure_id}' in this project "
            "(list them with GET /compensation-failures)",
            code="compensation_failure_not_found",
        )
    return row


def compensation_failure(runtime: Runtime, project_id: str, failure_id: str) -> dict[str, Any]:
    return failure_body(_failure(runtime, project_id, failure_id))


async def settle_compensation_failure(runtime: Runtime, command: Settle) -> dict[str, Any]:
    """``resolve``: someone undid it by hand (say how); ``ignore``: nothing needs undoing after
    all (say why). Only a pending failure can be settled."""
    failure_id, status = command.failure_id, SETTLED_AS[command.verb]
    row = _failure(runtime, command.project_id, failure_id)
    if row.status != CompensationFailureStatus.PENDING:
        raise Conflict(
            f"compensation failure '{failure_id}' is already {row.status} "
            f"({row.resolution}); only a pending one can be resolved or ignored",
            code="compensation_failure_not_pending",
        )
    moment = now()
    await runtime.store.settle_compensation_failure(row, status, command.reason, at=moment)
    return failure_body(replace(row, status=status, resolution=command.reason, updated_at=moment))
