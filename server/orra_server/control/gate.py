"""An approval gate's state check, shared by approving and rejecting: only a step of a live
run that waits for approval may be decided, and who decided is always recorded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from orra_sdk.vocabulary import OrchestrationStatus, StepStatus

from ..core.errors import Conflict, NotFound
from ..engine import Run, StepState
from .forwarding import owned_elsewhere
from .lookup import orchestration
from .runtime import Runtime

__all__ = ["StepDecision", "decided", "decided_by", "waiting_step"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StepDecision:
    """Who decides which step: what approving and rejecting both carry."""

    project_id: str
    orchestration_id: str
    step_id: str
    #: who decides, for the record
    approver: str | None = None
    #: the hash of the key that asked (recorded by its start, never the key)
    key_hash: str | None = None

    @property
    def by(self) -> str:
        return decided_by(self.approver, self.key_hash)


def waiting_step(
    runtime: Runtime, project_id: str, orchestration_id: str, step_id: str
) -> tuple[Run, StepState]:
    """The live run and its step that waits for approval; 404 for an unknown step, 409
    ``step_not_awaiting_approval`` for any other state (a run that ends included)."""
    run = orchestration(runtime, project_id, orchestration_id)
    live = runtime.engine.runs.get(orchestration_id)
    if live is None and owned_elsewhere(runtime, run):
        live = run  # as stored: the decision goes to its owner (forwarding.py)
    step = (live or run).steps.get(step_id)
    if step is None:
        raise NotFound(
            f"orchestration '{orchestration_id}' has no step '{step_id}' "
            f"(steps: {', '.join(run.steps)})",
            code="step_not_found",
        )
    if live is None or live.finishing or step.status != StepStatus.AWAITING_APPROVAL:
        raise Conflict(
            f"step '{step_id}' is {step.status}, not AWAITING_APPROVAL: only a step that waits "
            "for approval can be approved or rejected",
            code="step_not_awaiting_approval",
            details={"status": step.status},
        )
    return live, step


def decided(step_id: str) -> Callable[[Run], bool]:
    """Whether the owner has applied a decision on ``step_id``: the step no longer waits, and
    neither does the run unless another step still does (the run's status is recorded a moment
    after the step's; the answer must not be read in between)."""

    def applied(run: Run) -> bool:
        waiting = {i for i, s in run.steps.items() if s.status == StepStatus.AWAITING_APPROVAL}
        if step_id in waiting:
            return False
        return bool(waiting) or run.status != OrchestrationStatus.AWAITING_APPROVAL

    return applied


def decided_by(named: str | None, key_hash: str | None) -> str:
    """Who decided: the name given, and always which key (its hash's start, never the key)."""
    which = f"key {key_hash[:8]}" if key_hash else "unknown key"
    return f"{named} ({which})" if named else which
