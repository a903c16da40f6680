"""Reject: fail a step that waits for a person; the run re-plans without it or fails and
compensates, as for any failure."""

from __future__ import annotations

from dataclasses import dataclass

from ..engine import Run
from .forwarding import forward, owned_elsewhere
from .gate import StepDecision, decided, waiting_step
from .runtime import Runtime

__all__ = ["Reject", "reject"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Reject(StepDecision):
    #: why, for the record
    reason: str


async def reject(runtime: Runtime, command: Reject) -> Run:
    """The run, its step now rejected."""
    run, step = waiting_step(runtime, command.project_id, command.orchestration_id, command.step_id)
    if owned_elsewhere(runtime, run):
        body = {"step": step.id, "reason": command.reason, "by": command.by}
        return await forward(runtime, run, "reject", body, decided(step.id))
    await runtime.engine.reject(run, step, command.reason, command.by)
    return run
