"""The one vocabulary of statuses: of an orchestration and of one of its steps.

They are ``StrEnum``s, so a member is its own string: ``OrchestrationStatus.COMPLETED ==
"COMPLETED"``, it is stored and sent as that text, and rows read back compare equal. Add a
status here (and to ``orra_studio/statuses.py``, which a test checks against ``/openapi.json``).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["TERMINAL", "OrchestrationStatus", "StepStatus"]


class OrchestrationStatus(StrEnum):
    PENDING = "PENDING"  # accepted, no step dispatched yet
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"  # a step waits for an instance of its service
    AWAITING_APPROVAL = "AWAITING_APPROVAL"  # a step waits for a person's approval
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"  # a service aborted it
    CANCELLED = "CANCELLED"  # the caller cancelled it
    NOT_ACTIONABLE = "NOT_ACTIONABLE"  # no plan could serve the action

    @property
    def terminal(self) -> bool:
        """It has ended: nothing about it changes any more but compensation and webhooks."""
        return self in TERMINAL

    @property
    def waiting(self) -> bool:
        """Accepted and not ended."""
        return not self.terminal


class StepStatus(StrEnum):
    PENDING = "PENDING"  # waiting for its dependencies or its first dispatch
    RUNNING = "RUNNING"
    RETRYING = "RETRYING"  # failed an attempt; the next one is scheduled
    AWAITING_APPROVAL = "AWAITING_APPROVAL"  # ready, and waits for a person to approve it
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"  # its service aborted the orchestration
    CANCELLED = "CANCELLED"  # running when the orchestration ended
    SKIPPED = "SKIPPED"  # never started because the orchestration ended

    @property
    def terminal(self) -> bool:
        return self not in (
            StepStatus.PENDING,
            StepStatus.RUNNING,
            StepStatus.RETRYING,
            StepStatus.AWAITING_APPROVAL,
        )

    @property
    def waiting(self) -> bool:
        """Waiting to be (re-)dispatched."""
        return self in (StepStatus.PENDING, StepStatus.RETRYING)


#: the statuses of an orchestration that has ended
TERMINAL = frozenset(
    {
        OrchestrationStatus.COMPLETED,
        OrchestrationStatus.FAILED,
        OrchestrationStatus.ABORTED,
        OrchestrationStatus.CANCELLED,
        OrchestrationStatus.NOT_ACTIONABLE,
    }
)
