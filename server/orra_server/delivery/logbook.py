"""An orchestration's events as log lines a person reads: what happened, to which step, why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orra_sdk.vocabulary import DeliveryStatus, EventKind

from ..core.ids import to_iso
from ..store import StoredEvent

__all__ = ["log_line"]

_WARN = {
    EventKind.STEP_RETRYING,
    EventKind.STEP_FAILED_LATE,
    EventKind.COMPENSATION_ATTEMPT_FAILED,
    EventKind.COMPENSATION_EXPIRED,
    EventKind.ORCHESTRATION_PAUSED,
}
_ERROR = {
    EventKind.STEP_FAILED,
    EventKind.STEP_ABORTED,
    EventKind.ORCHESTRATION_FAILED,
    EventKind.ORCHESTRATION_ABORTED,
    EventKind.ORCHESTRATION_CANCELLED,
    EventKind.COMPENSATION_FAILED,
    EventKind.PLAN_FAILED,
    EventKind.RECOVERY_FAILED,
}


def _p(payload: Any, name: str, default: Any = None) -> Any:
    return payload.get(name, default) if isinstance(payload, dict) else default


#: short, so that each event and its message stay on one line
_E = EventKind

_MESSAGES: dict[str, Callable[[str, Any], str]] = {
    _E.ORCHESTRATION_ACCEPTED: lambda s, p: (
        f"accepted; plan of {len(_p(p, 'steps', []))} step(s) recorded"
    ),
    _E.ORCHESTRATION_NOT_ACTIONABLE: lambda s, p: f"not actionable: {_p(p, 'reason')}",
    _E.ORCHESTRATION_PAUSED: lambda s, p: (
        f"paused: {_p(p, 'reason', 'a needed service has no connected instance')}"
    ),
    _E.ORCHESTRATION_RUNNING: lambda s, p: "running again",
    _E.ORCHESTRATION_COMPLETED: lambda s, p: "completed",
    _E.ORCHESTRATION_FAILED: lambda s, p: f"failed: {_p(p, 'error')}",
    _E.ORCHESTRATION_ABORTED: lambda s, p: f"aborted: {_p(p, 'error')}",
    _E.ORCHESTRATION_CANCELLED: lambda s, p: f"{_p(p, 'error')}",
    _E.PLAN_MADE: lambda s, p: f"plan made by {_p(_p(p, 'provenance', {}), 'source', 'a planner')}",
    _E.PLAN_FAILED: lambda s, p: f"no valid plan: {_p(p, 'reason')}",
    _E.PLAN_CACHE_HIT: lambda s, p: "plan taken from the plan cache",
    _E.PLAN_CACHE_MISS: lambda s, p: "plan not in the plan cache",
    _E.LLM_CALL: lambda s, p: (
        f"LLM call to {_p(p, 'model')} (round {_p(p, 'round')}, "
        f"attempt {_p(p, 'attempt')})" + (f": {_p(p, 'error')}" if _p(p, "error") else "")
    ),
    _E.STEP_DISPATCHED: lambda s, p: (
        f"{s} sent to instance {_p(p, 'instance')} (attempt {_p(p, 'attempt')})"
    ),
    _E.STEP_STATUS: lambda s, p: f"{s} is still {_p(p, 'status')} on instance {_p(p, 'instance')}",
    _E.STEP_INTERIM_RESULT: lambda s, p: f"{s} reported progress: {p}",
    _E.STEP_RETRYING: lambda s, p: (
        f"{s} attempt {_p(p, 'attempt')} failed "
        f"({_p(p, 'kind', '').replace('_', ' ')}: {_p(p, 'error')}); retrying in "
        f"{_p(p, 'delay', 0):g} s"
    ),
    _E.STEP_COMPLETED: lambda s, p: f"{s} completed",
    _E.STEP_FAILED: lambda s, p: f"{s} failed: {_p(p, 'error')}",
    _E.STEP_FAILED_LATE: lambda s, p: f"{s} failed after the orchestration ended: {_p(p, 'error')}",
    _E.STEP_ABORTED: lambda s, p: f"{s} aborted the orchestration",
    _E.RECOVERY_FAILED: lambda s, p: f"the orchestration {_p(p, 'error')}",
    _E.COMPENSATION_SCHEDULED: lambda s, p: (
        "compensation scheduled for " + (", ".join(_p(p, "steps", [])) or "nothing")
    ),
    _E.COMPENSATION_DISPATCHED: lambda s, p: (
        f"compensating {s} (attempt {_p(p, 'attempt')}, instance {_p(p, 'instance')})"
    ),
    _E.COMPENSATION_COMPLETED: lambda s, p: f"{s} compensated ({_p(p, 'status')})",
    _E.COMPENSATION_ATTEMPT_FAILED: lambda s, p: (
        f"compensating {s} failed (attempt {_p(p, 'attempt')}): {_p(p, 'error')}"
    ),
    _E.COMPENSATION_EXPIRED: lambda s, p: f"{s} not compensated: {_p(p, 'error')}",
    _E.COMPENSATION_FAILED: lambda s, p: (
        f"compensating {s} failed for good after "
        f"{_p(p, 'attempts')} attempt(s): {_p(p, 'error')} (record {_p(p, 'failureId')})"
    ),
    _E.COMPENSATIONS_FINISHED: lambda s, p: (
        "compensation finished: " + ", ".join(f"{n} {k}" for k, n in sorted((p or {}).items()))
    ),
    _E.WEBHOOK_ATTEMPT: lambda s, p: (
        f"webhook {_p(p, 'kind')} to {_p(p, 'url')}: attempt "
        f"{_p(p, 'attempt')} → "
        + (str(_p(p, "status")) if _p(p, "status") is not None else str(_p(p, "error")))
        + f" ({_p(p, 'outcome')})"
    ),
}


def log_line(event: StoredEvent, components: dict[str, str]) -> dict[str, Any]:
    """One stored event as a line; its ``seq`` is the event's number within the run."""
    kind = event.type
    step_id = event.step_id
    subject = f"{step_id} ({components[step_id]})" if step_id in components else step_id or ""
    payload = event.payload
    describe = _MESSAGES.get(kind)
    try:
        message = describe(subject, payload) if describe else kind.replace("_", " ")
    except Exception:  # an odd payload must not break the log
        message = kind.replace("_", " ")
    level = "error" if kind in _ERROR else "warning" if kind in _WARN else "info"
    if kind == EventKind.WEBHOOK_ATTEMPT and _p(payload, "outcome") != DeliveryStatus.DELIVERED:
        level = "warning"
    return {
        "seq": event.number,
        "time": to_iso(event.occurred_at),
        "level": level,
        "event": kind,
        "stepId": step_id,
        "message": message,
        "payload": payload,
    }
