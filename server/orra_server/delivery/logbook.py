"""An orchestration's events as log lines a person reads: what happened, to which step, why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.ids import to_iso
from ..store import StoredEvent

__all__ = ["log_line"]

_WARN = {
    "step_retrying",
    "step_failed_late",
    "compensation_attempt_failed",
    "compensation_expired",
    "orchestration_paused",
}
_ERROR = {
    "step_failed",
    "step_aborted",
    "orchestration_failed",
    "orchestration_aborted",
    "orchestration_cancelled",
    "compensation_failed",
    "plan_failed",
    "recovery_failed",
}


def _p(payload: Any, name: str, default: Any = None) -> Any:
    return payload.get(name, default) if isinstance(payload, dict) else default


_MESSAGES: dict[str, Callable[[str, Any], str]] = {
    "orchestration_accepted": lambda s, p: (
        f"accepted; plan of {len(_p(p, 'steps', []))} step(s) recorded"
    ),
    "orchestration_not_actionable": lambda s, p: f"not actionable: {_p(p, 'reason')}",
    "orchestration_paused": lambda s, p: "paused: a needed service has no connected instance",
    "orchestration_running": lambda s, p: "running again",
    "orchestration_completed": lambda s, p: "completed",
    "orchestration_failed": lambda s, p: f"failed: {_p(p, 'error')}",
    "orchestration_aborted": lambda s, p: f"aborted: {_p(p, 'error')}",
    "orchestration_cancelled": lambda s, p: f"{_p(p, 'error')}",
    "plan_made": lambda s, p: f"plan made by {_p(_p(p, 'provenance', {}), 'source', 'a planner')}",
    "plan_failed": lambda s, p: f"no valid plan: {_p(p, 'reason')}",
    "plan_cache_hit": lambda s, p: "plan taken from the plan cache",
    "plan_cache_miss": lambda s, p: "plan not in the plan cache",
    "llm_call": lambda s, p: (
        f"LLM call to {_p(p, 'model')} (round {_p(p, 'round')}, "
        f"attempt {_p(p, 'attempt')})" + (f": {_p(p, 'error')}" if _p(p, "error") else "")
    ),
    "step_dispatched": lambda s, p: (
        f"{s} sent to instance {_p(p, 'instance')} (attempt {_p(p, 'attempt')})"
    ),
    "step_status": lambda s, p: f"{s} is still {_p(p, 'status')} on instance {_p(p, 'instance')}",
    "step_interim_result": lambda s, p: f"{s} reported progress: {p}",
    "step_retrying": lambda s, p: (
        f"{s} attempt {_p(p, 'attempt')} failed "
        f"({_p(p, 'kind', '').replace('_', ' ')}: {_p(p, 'error')}); retrying in "
        f"{_p(p, 'delay', 0):g} s"
    ),
    "step_completed": lambda s, p: f"{s} completed",
    "step_failed": lambda s, p: f"{s} failed: {_p(p, 'error')}",
    "step_failed_late": lambda s, p: f"{s} failed after the orchestration ended: {_p(p, 'error')}",
    "step_aborted": lambda s, p: f"{s} aborted the orchestration",
    "recovery_failed": lambda s, p: f"the orchestration {_p(p, 'error')}",
    "compensation_scheduled": lambda s, p: (
        "compensation scheduled for " + (", ".join(_p(p, "steps", [])) or "nothing")
    ),
    "compensation_dispatched": lambda s, p: (
        f"compensating {s} (attempt {_p(p, 'attempt')}, instance {_p(p, 'instance')})"
    ),
    "compensation_completed": lambda s, p: f"{s} compensated ({_p(p, 'status')})",
    "compensation_attempt_failed": lambda s, p: (
        f"compensating {s} failed (attempt {_p(p, 'attempt')}): {_p(p, 'error')}"
    ),
    "compensation_expired": lambda s, p: f"{s} not compensated: {_p(p, 'error')}",
    "compensation_failed": lambda s, p: (
        f"compensating {s} failed for good after "
        f"{_p(p, 'attempts')} attempt(s): {_p(p, 'error')} (record {_p(p, 'failureId')})"
    ),
    "compensations_finished": lambda s, p: (
        "compensation finished: " + ", ".join(f"{n} {k}" for k, n in sorted((p or {}).items()))
    ),
    "webhook_attempt": lambda s, p: (
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
    if kind == "webhook_attempt" and _p(payload, "outcome") != "delivered":
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
