"""The transition table: every event that can change a run, and the pure function it calls.

An event is plain data — what happened, to which step, when. :data:`TABLE` maps each kind of
event to its transition, ``(run, event) → Transition`` (state changed in place, effects
returned as data); :func:`apply` is the one way in. The driver (``engine.py``) turns what
services, timers, people and the dispatcher report into events, applies them, and carries out
the effects. ``tests/test_transition_table.py`` walks the table and fails when an entry has no
pure test case. (Like Prefect's orchestration rules or Temporal's state machines: the rules are
data a test can enumerate; the I/O is elsewhere.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import gates, replanning, transitions
from .policy import RetryPolicy
from .run import Run, StepState
from .transitions import Ending, Transition

__all__ = [
    "ENDS_ATTEMPT",
    "TABLE",
    "Accepted",
    "ApprovalRequested",
    "Approved",
    "AttemptFailed",
    "Cancelled",
    "Ended",
    "Event",
    "NotActionable",
    "PauseChanged",
    "Recovered",
    "Rejected",
    "ReplanFailed",
    "Revised",
    "StepAborted",
    "StepCompleted",
    "StepFailed",
    "StepFailedLate",
    "Unrecoverable",
    "apply",
]

_event = dataclass(frozen=True, slots=True)


@_event
class Accepted:
    """The store accepted the run: it starts."""


@_event
class NotActionable:
    """No plan could be made for the run."""

    reason: str


@_event
class Recovered:
    """The run was in flight when the control plane stopped, and is rebuilt from the store."""

    dispatches: dict[tuple[str, str], int]
    max_attempts: Callable[[StepState], int] | None
    at: datetime


@_event
class Unrecoverable:
    """The run could not be read back or resumed after a restart."""

    reason: str
    at: datetime


@_event
class StepCompleted:
    step: StepState
    result: Any
    at: datetime


@_event
class StepFailed:
    """The step fails for good (no retry can help)."""

    step: StepState
    error: str
    at: datetime


@_event
class StepFailedLate:
    """An error answer after the run had ended."""

    step: StepState
    error: str
    at: datetime


@_event
class AttemptFailed:
    """``kind``: ``service_error``, ``timeout`` or ``connection_lost``."""

    step: StepState
    kind: str
    error: str
    policy: RetryPolicy
    at: datetime


@_event
class StepAborted:
    step: StepState
    result: Any
    at: datetime


@_event
class PauseChanged:
    """A step began or stopped waiting for an instance of its service."""

    at: datetime


@_event
class ApprovalRequested:
    step: StepState
    at: datetime


@_event
class Approved:
    step: StepState
    edited: dict[str, Any] | None
    by: str
    comment: str | None
    at: datetime


@_event
class Rejected:
    step: StepState
    reason: str
    by: str
    at: datetime


@_event
class Cancelled:
    reason: str | None
    compensate: bool


@_event
class Revised:
    """The planner made a plan of the remainder."""

    plan: dict[str, Any]
    added: dict[str, StepState]
    revision: dict[str, Any]
    at: datetime


@_event
class ReplanFailed:
    reason: str
    at: datetime


@_event
class Ended:
    """The run ends (what an :class:`~.transitions.Ending` effect turns into)."""

    ending: Ending
    at: datetime


Event = (
    Accepted
    | NotActionable
    | Recovered
    | Unrecoverable
    | StepCompleted
    | StepFailed
    | StepFailedLate
    | AttemptFailed
    | StepAborted
    | PauseChanged
    | ApprovalRequested
    | Approved
    | Rejected
    | Cancelled
    | Revised
    | ReplanFailed
    | Ended
)


def _ended(run: Run, event: Ended) -> Transition:
    change, stopped = transitions.ended(run, event.ending, event.at)
    return Transition([change], stopped=stopped)


#: kind of event -> the pure transition it calls
TABLE: dict[type, Callable[[Run, Any], Transition]] = {
    Accepted: lambda run, e: transitions.accepted(run),
    NotActionable: lambda run, e: Transition([transitions.not_actionable(run, e.reason)]),
    Recovered: lambda run, e: transitions.recovered(run, e.dispatches, e.max_attempts, e.at),
    Unrecoverable: lambda run, e: transitions.unrecoverable(run, e.reason, e.at),
    StepCompleted: lambda run, e: transitions.completed(run, e.step, e.result, e.at),
    StepFailed: lambda run, e: transitions.failed(run, e.step, e.error, e.at),
    StepFailedLate: lambda run, e: transitions.failed_late(run, e.step, e.error, e.at),
    AttemptFailed: lambda run, e: transitions.attempt_failed(
        run, e.step, e.kind, e.error, e.policy, e.at
    ),
    StepAborted: lambda run, e: transitions.aborted(run, e.step, e.result, e.at),
    PauseChanged: lambda run, e: transitions.pause_changed(run, e.at),
    ApprovalRequested: lambda run, e: gates.approval_requested(run, e.step, e.at),
    Approved: lambda run, e: gates.approved(run, e.step, e.edited, e.by, e.comment, e.at),
    Rejected: lambda run, e: gates.rejected(run, e.step, e.reason, e.by, e.at),
    Cancelled: lambda run, e: transitions.cancelled(e.reason, e.compensate),
    Revised: lambda run, e: replanning.revised(run, e.plan, e.added, e.revision, e.at),
    ReplanFailed: lambda run, e: replanning.replan_failed(run, e.reason, e.at),
    Ended: _ended,
}

#: events that end the current attempt of their step (its deadline and its slot are freed)
ENDS_ATTEMPT = frozenset(
    {StepCompleted, StepFailed, AttemptFailed, StepAborted, Approved, Rejected}
)


def apply(run: Run, event: Event) -> Transition:
    """The transition ``event`` calls for: ``run`` changed, the effects returned."""
    return TABLE[type(event)](run, event)
