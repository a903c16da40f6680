"""Approval gates as pure transitions: a step that needs a person's decision before it runs.

A gated step that becomes ready waits (``approval_requested``) until someone approves it (it
is dispatched, with the input as shown or as edited) or rejects it (it fails, and the run
re-plans or fails as for any failure); no decision within the run's ``approvalTimeoutSeconds``
is a rejection by ``timeout``. Listed in ``table.py``; tested in ``tests/test_transition_table.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orra_sdk.vocabulary import EventKind, StepStatus

from .run import Run, StepState
from .transitions import Transition, failed, pause_changed, step_change

__all__ = ["approval_requested", "approved", "rejected", "seconds_left"]


def approval_requested(run: Run, step: StepState, at: datetime) -> Transition:
    """A gated step is ready: it waits, with its resolved input, for a person's decision."""
    step.status = StepStatus.AWAITING_APPROVAL
    step.waiting_since = at
    payload = {"component": step.component, "input": step.input}
    answer = Transition(
        [step_change(run, step, EventKind.APPROVAL_REQUESTED, at, payload)], awaits=step
    )
    answer.changes += pause_changed(run, at).changes
    if run.webhooks:
        body = {
            "type": EventKind.APPROVAL_REQUESTED,
            "executionId": run.id,
            "stepId": step.id,
            "component": step.component,
            "input": step.input,
            "action": run.action,
            "requestedAt": at.isoformat(),
        }
        answer.webhook = (EventKind.APPROVAL_REQUESTED, body)
    return answer


def approved(
    run: Run,
    step: StepState,
    edited: dict[str, Any] | None,
    by: str,
    comment: str | None,
    at: datetime,
) -> Transition:
    """Approved (with the input as shown, or as edited): it is dispatched now with that input."""
    step.approval = "approved"
    step.status = StepStatus.PENDING
    if edited is not None:
        step.input = edited
    payload = {"by": by, "comment": comment, "edited": edited is not None, "input": step.input}
    answer = Transition(
        [step_change(run, step, EventKind.STEP_APPROVED, at, payload)], ready=[step]
    )
    answer.changes += pause_changed(run, at).changes
    return answer


def rejected(run: Run, step: StepState, reason: str, by: str, at: datetime) -> Transition:
    """Rejected (or not decided in time): the step fails, and the run re-plans or fails."""
    step.approval = "rejected"
    record = step_change(run, step, EventKind.STEP_REJECTED, at, {"by": by, "reason": reason})
    answer = failed(run, step, f"rejected by {by}: {reason}", at)
    answer.changes.insert(0, record)
    answer.changes += pause_changed(run, at).changes
    return answer


def seconds_left(run: Run, step: StepState, at: datetime) -> float | None:
    """How long the step may still wait for a decision (None: as long as it takes), counted
    from when its wait began, so a restart neither restarts nor forgets the clock."""
    seconds = (run.options or {}).get("approvalTimeoutSeconds")
    if seconds is None:
        return None
    waited = (at - step.waiting_since).total_seconds() if step.waiting_since else 0.0
    return max(0.0, float(seconds) - waited)
