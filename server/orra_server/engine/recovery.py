"""Reading back the runs that were in flight when the control plane stopped, one run at a time.

A run that cannot be read or resumed — a row an older version wrote, a plan that no longer
builds, a value nothing expected — must never keep the control plane from starting or the other
runs from resuming. Everything that may raise for one run happens here, before anything of it
starts; a run that fails here ends ``FAILED`` with the reason (``transitions.unrecoverable``),
logged in one line. :func:`resume_all` drives it; the engine applies what it hands back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orra_sdk.vocabulary import OrchestrationStatus, StepStatus

from ..core.ids import now
from ..store import StoreBackend, StoredOrchestration, StoredStep
from . import table
from .policy import RetryPolicy
from .run import Run, StepState, run_from_rows
from .transitions import Transition

__all__ = ["Stored", "describe", "read_unfinished", "rebuild", "resume_all", "salvage"]

log = logging.getLogger("orra.engine")

#: how much of an error's message a run's recorded reason keeps
REASON_LIMIT = 300


@dataclass(slots=True)
class Stored:
    """One unfinished run as read from the store, or the error reading it raised."""

    id: str
    row: StoredOrchestration | None = None
    steps: list[StoredStep] = field(default_factory=list)
    error: Exception | None = None


def resume_all(
    store: StoreBackend,
    runs: dict[str, Run],
    policy_for: Callable[[Run, StepState], RetryPolicy],
    start: Callable[[Run, Transition], Any],
    end: Callable[[Run, str], Any],
) -> int:
    """Resume every orchestration the store says was in flight, each on its own: ``start``
    applies what resuming a run does; a run that cannot be read back or resumed is handed to
    ``end`` with the reason (it ends ``FAILED``). Neither stops the others, nor the start."""
    stored = [item for item in read_unfinished(store) if item.id not in runs]  # (resumed)
    dispatches = facts_or_empty(store.dispatches_of_unfinished, "dispatches")
    waits = facts_or_empty(store.approvals_requested_of_unfinished, "approval waits")
    for item in stored:
        run = None
        try:
            run, resumed = rebuild(store, item, dispatches, waits, policy_for, now())
            runs[run.id] = run
            start(run, resumed)
        except Exception as exc:
            if run is not None:  # (whatever of it was started stops)
                run.finishing = True
            _unrecoverable(store, runs, item, exc, end)
    return len(stored)


def _unrecoverable(
    store: StoreBackend,
    runs: dict[str, Run],
    item: Stored,
    exc: Exception,
    end: Callable[[Run, str], Any],
) -> None:
    """End a run recovery could not resume: FAILED with the reason, one log line."""
    reason = describe(exc)
    log.error("orchestration %s could not be resumed (%s): it ends FAILED", item.id, reason)
    log.debug("why %s could not be resumed", item.id, exc_info=exc)
    try:
        run = salvage(store, item)
        if run is not None:
            runs[run.id] = run
            end(run, reason)
    except Exception as again:  # not even that: left as it is, the start goes on
        runs.pop(item.id, None)
        log.error("orchestration %s could not be ended: %s", item.id, describe(again))


def read_unfinished(store: StoreBackend) -> list[Stored]:
    """Every unfinished run, in one query when that works, else one run at a time (so one
    unreadable row costs only its own run)."""
    try:
        rows = store.unfinished_orchestrations()
        steps = store.steps_of_unfinished()
        return [Stored(row.id, row, steps.get(row.id, [])) for row in rows]
    except Exception as exc:
        log.warning(
            "reading the unfinished orchestrations at once failed (%s); reading them one by one",
            describe(exc),
        )
    answer = []
    for orchestration_id in store.unfinished_orchestration_ids():
        try:
            row = store.orchestration(orchestration_id)
            answer.append(Stored(orchestration_id, row, store.steps_of(orchestration_id)))
        except Exception as exc:
            answer.append(Stored(orchestration_id, error=exc))
    return answer


def facts_or_empty(read: Callable[[], dict[Any, Any]], what: str) -> dict[Any, Any]:
    """A recovery read whose loss only costs precision (attempt counts, approval clocks)."""
    try:
        return read()
    except Exception as exc:
        log.warning("recovery could not read %s (%s); going on without", what, describe(exc))
        return {}


def rebuild(
    store: StoreBackend,
    stored: Stored,
    dispatches: dict[tuple[str, str], int],
    waits: dict[tuple[str, str], datetime],
    policy_for: Callable[[Run, StepState], RetryPolicy],
    at: datetime,
) -> tuple[Run, Transition]:
    """The run and what resuming it does; raises whatever stops it from being resumed."""
    if stored.error is not None:
        raise stored.error
    if stored.row is None:
        raise LookupError("its row is gone")
    run = run_from_rows(stored.row, stored.steps)
    if run.replaced:
        run.revisions = store.revisions_of(run.id)
    max_attempts = lambda step: policy_for(run, step).max_attempts  # noqa: E731
    transition = table.apply(run, table.Recovered(dispatches, max_attempts, at))
    for step in run.steps.values():
        if step.status == StepStatus.AWAITING_APPROVAL:
            step.waiting_since = waits.get((run.id, step.id))
    seconds = (run.options or {}).get("approvalTimeoutSeconds")
    if seconds is not None:
        float(seconds)  # the approval timers read it once the run has started
    return run, transition


def describe(exc: BaseException) -> str:
    """``KeyError: 'ghost'``: the error's class and the start of its message, on one line."""
    message = " ".join(str(exc).split())
    if len(message) > REASON_LIMIT:
        message = message[:REASON_LIMIT] + "…"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def salvage(store: StoreBackend, stored: Stored) -> Run | None:
    """What can be read of a run that could not be resumed: enough to end it, with its
    webhooks and its completed steps' compensation data (None: not even its row reads)."""
    row, step_rows = stored.row, stored.steps
    if row is None:
        try:
            row, step_rows = store.salvage(stored.id)
        except Exception as exc:
            log.error("orchestration %s cannot be read at all: %s", stored.id, describe(exc))
            return None
    if row is None:
        return None
    run = Run(
        id=stored.id,
        project_id=str(row.project_id or ""),
        action=_of(row.action, dict, {}),
        data=[d for d in _of(row.data, list, []) if isinstance(d, dict)],
        plan=_of(row.plan, dict, None),
        status=OrchestrationStatus.RUNNING,
        created_at=_of(row.created_at, datetime, None) or now(),
        webhooks=[w for w in _of(row.webhooks, list, []) if isinstance(w, str)],
        start_time=_of(row.start_time, datetime, None),
        options=_of(row.options, dict, None),
        parent_id=_of(row.parent_id, str, None),
    )
    for item in step_rows:
        step = _step(item)
        if step is not None:
            run.steps[step.id] = step
    return run


def _step(stored: StoredStep) -> StepState | None:
    if not isinstance(stored.step_id, str):
        return None
    step = StepState(
        id=stored.step_id,
        component=str(stored.component or ""),
        service_id=_of(stored.service_id, str, None),
        template={},
        dependencies=[],
    )
    try:
        step.status = StepStatus(stored.status)
    except ValueError:
        step.status = StepStatus.PENDING
    step.input = _of(stored.input, dict, None)
    step.output = stored.output
    step.error = _of(stored.error, str, None)
    step.attempts = _of(stored.attempts, int, 0)
    step.idempotency_key = _of(stored.idempotency_key, str, None)
    step.start_time = _of(stored.start_time, datetime, None)
    step.end_time = _of(stored.end_time, datetime, None)
    step.compensation = _of(stored.compensation, dict, None)
    return step


def _of(value: Any, kind: type, default: Any) -> Any:
    return value if isinstance(value, kind) else default
