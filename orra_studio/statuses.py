"""The status vocabulary, as the control plane publishes it in ``/openapi.json``.

The studio never imports the server, so this is a copy; ``tests/test_statuses.py`` checks it
against the server's OpenAPI document. Use these names, never bare strings.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["TERMINAL_STATUSES", "OrchestrationStatus", "StepStatus"]


class OrchestrationStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"
    CANCELLED = "CANCELLED"
    NOT_ACTIONABLE = "NOT_ACTIONABLE"


class StepStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    RETRYING = "RETRYING"
    AWAITING_APPROVAL = "AWAITING_APPROVAL"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"
    CANCELLED = "CANCELLED"
    SKIPPED = "SKIPPED"


#: an orchestration in one of these has ended
TERMINAL_STATUSES = frozenset(
    {
        OrchestrationStatus.COMPLETED,
        OrchestrationStatus.FAILED,
        OrchestrationStatus.ABORTED,
        OrchestrationStatus.CANCELLED,
        OrchestrationStatus.NOT_ACTIONABLE,
    }
)
