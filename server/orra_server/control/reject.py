"""Reject: fail a step that waits for a person; the run re-plans without it or fails and
compensates, as for any failure."""

from __future__ import annotations

from dataclasses import dataclass

from ..engine import Run
from .gate import decided_by, waiting_step
from .runtime import Runtime

__all__ = ["Reject", "reject"]


@dataclass(frozen=True, slots=True)
class Reject:
    project_id: str
    orchestration_id: str
    step_id: str
    #: why, for the record
    reason: str
    approver: str | None = None
    key_hash: str | None = None


async def reject(runtime: Runtime, command: Reject) -> Run:
    """The run, its step now rejected."""
    run, step = waiting_step(runtime, command.project_id, command.orchestration_id, command.step_id)
    by = decided_by(command.approver, command.key_hash)
    await runtime.engine.reject(run, step, command.reason, by)
    return run
