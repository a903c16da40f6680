"""The one vocabulary of Orra Studio: every status, event kind and websocket frame type.

The control plane (``orra_server``), this SDK and the client (``orra_studio``) all import these
names from here, never write the strings themselves. It lives in the SDK because the SDK may
import neither of the other packages, and all three ship in one distribution, so this is the one
module all three can reach. Importing it loads nothing but the standard library.

Every name is a ``StrEnum``: a member is its own string (``StepStatus.FAILED == "FAILED"``), so
it is stored and sent as that text and rows read back compare equal. The TypeScript SDK's copy,
``sdk/typescript/src/vocabulary.ts``, is generated from this module
(``python -m orra_sdk.vocabulary --typescript``); ``tests/test_vocabulary.py`` fails when the
committed file differs, and when product code spells a status or an event kind as a bare string.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ATTEMPT_ENDINGS",
    "ENDING_EVENTS",
    "ORCHESTRATION_EVENT",
    "ORCHESTRATION_STATUS_OF",
    "PONG_MESSAGE_ID",
    "SETTLED_EVENT",
    "STEP_STATUS_OF",
    "TERMINAL",
    "ApprovalStatus",
    "CompensationFailureStatus",
    "CompensationReason",
    "CompensationStatus",
    "ControlFrame",
    "DeliveryStatus",
    "DrawnState",
    "EventKind",
    "OrchestrationStatus",
    "ServiceFrame",
    "StepStatus",
    "SubmissionStatus",
    "TaskProgress",
    "typescript",
]


# -- statuses ------------------------------------------------------------------------------
# OrchestrationStatus and StepStatus have no docstring: /openapi.json publishes them, and a
# docstring would become their schema's description
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


class SubmissionStatus(StrEnum):
    """What ``POST /orchestrations`` (and a re-run) answers besides ``NOT_ACTIONABLE``."""

    ACCEPTED = "ACCEPTED"  # the run is recorded and starts
    PREVIEW = "PREVIEW"  # a dry run: the plan only, nothing ran


class DrawnState(StrEnum):
    """States only the client draws; the server never sends them."""

    INVALID = "INVALID"  # a step the validator refused, in a plan being edited
    TIMEOUT = "TIMEOUT"  # an attempt that ran out of time, on the timeline
    ERROR = "ERROR"  # a preview the server could not answer


# Each of these is named once, its wire value the name in lower case (``StrEnum``'s rule):
# ``DeliveryStatus.DELIVERED == "delivered"``.

#: where a step that needs a person's approval stands (``step.approval``)
ApprovalStatus = StrEnum("ApprovalStatus", "REQUIRED APPROVED REJECTED")
#: undoing one completed step: PARTIAL, the service undid part of it; EXPIRED, its time to live
#: ran out first
CompensationStatus = StrEnum(
    "CompensationStatus", "PENDING RUNNING COMPLETED PARTIAL FAILED EXPIRED"
)
#: why completed steps are undone (``compensationContext.reason``)
CompensationReason = StrEnum("CompensationReason", "FAILED ABORTED CANCELLED")
#: a compensation that failed for good, as a person settles it
CompensationFailureStatus = StrEnum("CompensationFailureStatus", "PENDING RESOLVED IGNORED")
#: a webhook delivery
DeliveryStatus = StrEnum("DeliveryStatus", "PENDING DELIVERED FAILED")


# -- events --------------------------------------------------------------------------------
class EventKind(StrEnum):
    """The ``type`` of every event in an orchestration's history (``/events``, ``/logs``)."""

    ORCHESTRATION_ACCEPTED = "orchestration_accepted"
    ORCHESTRATION_RUNNING = "orchestration_running"
    ORCHESTRATION_PAUSED = "orchestration_paused"
    ORCHESTRATION_AWAITING_APPROVAL = "orchestration_awaiting_approval"
    ORCHESTRATION_COMPLETED = "orchestration_completed"
    ORCHESTRATION_FAILED = "orchestration_failed"
    ORCHESTRATION_ABORTED = "orchestration_aborted"
    ORCHESTRATION_CANCELLED = "orchestration_cancelled"
    ORCHESTRATION_NOT_ACTIONABLE = "orchestration_not_actionable"
    RECOVERY_FAILED = "recovery_failed"
    RERUN_OF = "rerun_of"
    LLM_CALL = "llm_call"
    PLAN_CACHE_HIT = "plan_cache_hit"
    PLAN_CACHE_MISS = "plan_cache_miss"
    PLAN_MADE = "plan_made"
    PLAN_FAILED = "plan_failed"
    PLAN_REVISED = "plan_revised"
    REPLAN_FAILED = "replan_failed"
    STEP_DISPATCHED = "step_dispatched"
    STEP_STATUS = "step_status"
    STEP_INTERIM_RESULT = "step_interim_result"
    STEP_RETRYING = "step_retrying"
    STEP_COMPLETED = "step_completed"
    STEP_FAILED = "step_failed"
    STEP_FAILED_LATE = "step_failed_late"
    STEP_ABORTED = "step_aborted"
    STEP_REUSED = "step_reused"
    APPROVAL_REQUESTED = "approval_requested"
    STEP_APPROVED = "step_approved"
    STEP_REJECTED = "step_rejected"
    COMPENSATION_SCHEDULED = "compensation_scheduled"
    COMPENSATION_DISPATCHED = "compensation_dispatched"
    COMPENSATION_COMPLETED = "compensation_completed"
    COMPENSATION_ATTEMPT_FAILED = "compensation_attempt_failed"
    COMPENSATION_EXPIRED = "compensation_expired"
    COMPENSATION_FAILED = "compensation_failed"
    COMPENSATIONS_FINISHED = "compensations_finished"
    COMPENSATION_FAILURE_RESOLVED = "compensation_failure_resolved"
    COMPENSATION_FAILURE_IGNORED = "compensation_failure_ignored"
    WEBHOOK_ATTEMPT = "webhook_attempt"


#: the event that records an orchestration's change to each status it can change to
ORCHESTRATION_EVENT: dict[OrchestrationStatus, EventKind] = {
    OrchestrationStatus.RUNNING: EventKind.ORCHESTRATION_RUNNING,
    OrchestrationStatus.PAUSED: EventKind.ORCHESTRATION_PAUSED,
    OrchestrationStatus.AWAITING_APPROVAL: EventKind.ORCHESTRATION_AWAITING_APPROVAL,
    OrchestrationStatus.COMPLETED: EventKind.ORCHESTRATION_COMPLETED,
    OrchestrationStatus.FAILED: EventKind.ORCHESTRATION_FAILED,
    OrchestrationStatus.ABORTED: EventKind.ORCHESTRATION_ABORTED,
    OrchestrationStatus.CANCELLED: EventKind.ORCHESTRATION_CANCELLED,
    OrchestrationStatus.NOT_ACTIONABLE: EventKind.ORCHESTRATION_NOT_ACTIONABLE,
}
#: the orchestration's status after each of those events
ORCHESTRATION_STATUS_OF: dict[EventKind, OrchestrationStatus] = {
    event: status for status, event in ORCHESTRATION_EVENT.items()
}
#: the events that end an orchestration
ENDING_EVENTS = frozenset(ORCHESTRATION_EVENT[status] for status in TERMINAL)
#: a step's status after each event that changes it
STEP_STATUS_OF: dict[EventKind, StepStatus] = {
    EventKind.APPROVAL_REQUESTED: StepStatus.AWAITING_APPROVAL,
    EventKind.STEP_APPROVED: StepStatus.PENDING,
    EventKind.STEP_DISPATCHED: StepStatus.RUNNING,
    EventKind.STEP_RETRYING: StepStatus.RETRYING,
    EventKind.STEP_COMPLETED: StepStatus.COMPLETED,
    EventKind.STEP_FAILED: StepStatus.FAILED,
    EventKind.STEP_ABORTED: StepStatus.ABORTED,
}
#: the event that records a person settling a compensation failure
SETTLED_EVENT: dict[CompensationFailureStatus, EventKind] = {
    CompensationFailureStatus.RESOLVED: EventKind.COMPENSATION_FAILURE_RESOLVED,
    CompensationFailureStatus.IGNORED: EventKind.COMPENSATION_FAILURE_IGNORED,
}
#: the events that end one attempt of a step
ATTEMPT_ENDINGS = frozenset(
    {
        EventKind.STEP_COMPLETED,
        EventKind.STEP_RETRYING,
        EventKind.STEP_FAILED,
        EventKind.STEP_ABORTED,
    }
)


# -- websocket frames (docs/protocol.md) ---------------------------------------------------
class ControlFrame(StrEnum):
    """The ``type`` of a frame the control plane sends to a service."""

    TASK_REQUEST = "task_request"
    TASK_CANCEL = "task_cancel"  # an Orra Studio extension; the orra SDKs ignore it
    COMPENSATION_REQUEST = "compensation_request"
    PING = "ping"
    ACK = "ACK"


#: the ``type`` of a frame a service sends to the control plane
ServiceFrame = StrEnum(
    "ServiceFrame", "PONG TASK_RESULT TASK_INTERIM_RESULT TASK_ABORT_RESULT TASK_STATUS"
)
#: the ``status`` of a ``task_status`` frame: a re-sent task is still being worked on
TaskProgress = StrEnum("TaskProgress", "IN_PROGRESS")

#: the message id of a pong's envelope (the orra SDKs send it; it is never ACKed)
PONG_MESSAGE_ID = "pong"


# -- the TypeScript SDK's copy -------------------------------------------------------------
#: the order of the TypeScript copy: the long ones first, then the short ones (one line each)
_ENUMS: tuple[type[StrEnum], ...] = (
    OrchestrationStatus,
    StepStatus,
    EventKind,
    SubmissionStatus,
    ControlFrame,
    DrawnState,
    ServiceFrame,
    ApprovalStatus,
    CompensationStatus,
    CompensationReason,
    TaskProgress,
    CompensationFailureStatus,
    DeliveryStatus,
)
#: an enum with more members than this is written one member a line
_ONE_LINE = 10


def typescript() -> str:
    """This vocabulary as a TypeScript module: each enum a frozen object and a union type."""
    lines = [
        "// Generated from sdk/python/orra_sdk/vocabulary.py by",
        "// `python -m orra_sdk.vocabulary --typescript`: do not edit by hand.",
        "",
    ]
    for enum in _ENUMS:
        if enum.__doc__ and enum.__doc__ != StrEnum.__doc__:
            lines.append(f"/** {enum.__doc__.strip().replace('``', '`')} */")
        members = [f'{m.name}: "{m.value}"' for m in enum]
        if len(members) > _ONE_LINE:
            lines += [f"export const {enum.__name__} = {{", *(f"  {m}," for m in members)]
            lines.append("} as const;")
        else:
            lines.append(f"export const {enum.__name__} = {{ {', '.join(members)} }} as const;")
        lines.append(
            f"export type {enum.__name__} = (typeof {enum.__name__})[keyof typeof {enum.__name__}];"
        )
    lines.append(f'export const PONG_MESSAGE_ID = "{PONG_MESSAGE_ID}";')
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--typescript"]:
        sys.exit("usage: python -m orra_sdk.vocabulary --typescript > src/vocabulary.ts")
    sys.stdout.write(typescript())
