"""When a step that waits for approval is rejected without a decision: the one rule, read by
the engine's timer and by every view that shows ``expiresAt``.

``options.approvalTimeoutSeconds`` counts from when the wait began (``waiting_since``, kept
across restarts), so a restart neither restarts nor forgets the clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .run import Run, StepState

__all__ = ["approval_deadline", "approval_timeout", "seconds_left"]


def approval_timeout(run: Run) -> float | None:
    """The run's seconds to decide on a waiting step; None: it waits for as long as it takes."""
    seconds = (run.options or {}).get("approvalTimeoutSeconds")
    return None if seconds is None else float(seconds)


def approval_deadline(run: Run, step: StepState) -> datetime | None:
    """When ``step``'s wait ends without a decision; None without a timeout or a wait."""
    seconds = approval_timeout(run)
    if seconds is None or step.waiting_since is None:
        return None
    return step.waiting_since + timedelta(seconds=seconds)


def seconds_left(run: Run, step: StepState, at: datetime) -> float | None:
    """Seconds from ``at`` to the deadline (0 once passed; the whole timeout when the wait's
    start is unknown); None without a timeout."""
    seconds = approval_timeout(run)
    if seconds is None:
        return None
    deadline = approval_deadline(run, step)
    return seconds if deadline is None else max(0.0, (deadline - at).total_seconds())
