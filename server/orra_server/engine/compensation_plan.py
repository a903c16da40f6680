"""Which completed steps an ending undoes, and in what order: the compensations, as data.

One compensation per completed step of a revertible service that returned compensation data,
newest completion first; each under its own key (never the task's). ``compensation.py`` runs
them; this part decides nothing with I/O, so an ending's compensations ride in its commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from orra_sdk.vocabulary import StepStatus

from .run import CompensationState, Run, StepState

__all__ = ["compensation_key", "compensations", "compensation_of"]


def compensation_key(orchestration_id: str, step_id: str, generation: int = 0) -> str:
    """Never the task's key: the SDKs keep tasks and compensations in one result cache."""
    text = f"{orchestration_id}\x00{step_id}\x00compensation\x00{generation}"
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def compensations(
    run: Run,
    reason: str,
    context: dict[str, Any] | None,
    revertible: Callable[[StepState], bool],
    at: datetime,
) -> list[CompensationState]:
    """One compensation per completed step of a revertible service, newest first."""
    done = [
        s
        for s in run.steps.values()
        if s.status == StepStatus.COMPLETED and isinstance(s.compensation, dict) and revertible(s)
    ]
    done.sort(key=lambda s: s.end_time or run.created_at, reverse=True)
    return [compensation_of(run, step, reason, context, i, at) for i, step in enumerate(done)]


def compensation_of(
    run: Run,
    step: StepState,
    reason: str,
    context: dict[str, Any] | None,
    position: int,
    at: datetime,
) -> CompensationState:
    """The compensation of ``step`` (its ``position`` in the run's order)."""
    ttl = step.compensation.get("ttl")
    return CompensationState(
        orchestration_id=run.id,
        step_id=step.id,
        service_id=step.service_id,
        component=step.component,
        reason=reason,
        context=context,
        position=position,
        input=step.compensation.get("data"),
        ttl_ms=int(ttl) if isinstance(ttl, int | float) else None,
        idempotency_key=compensation_key(run.id, step.id),
        created_at=at,
        step_end=step.end_time,
    )
