"""The state transitions of a run, as pure functions: no sockets, timers, database or loop.

Each takes the run's state and what happened (a result arrived, an attempt failed, the run
ends) with the time it happened, changes the state, and returns a :class:`Transition`: the
effects, as plain data, that the engine (``engine.py``, the driver) carries out — facts to
record (store :class:`~orra_server.store.Change` objects, committed together), steps to
dispatch, a retry to schedule, an ending. ``table.py`` lists every transition against the event
that triggers it (approvals are in ``gates.py``, re-planning in ``replanning.py``);
``tests/test_transitions.py`` and ``tests/test_transition_table.py`` test them on their own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from orra_sdk.vocabulary import (
    ORCHESTRATION_EVENT,
    ApprovalStatus,
    EventKind,
    OrchestrationStatus,
    StepStatus,
)

from ..store import Change
from .policy import RetryPolicy
from .run import Run, StepState, combine_result

__all__ = [
    "NOT_RETRYABLE",
    "WAITING",
    "Ending",
    "Transition",
    "aborted",
    "accepted",
    "attempt_failed",
    "cancelled",
    "canonical",
    "completed",
    "ended",
    "failed",
    "failed_late",
    "idempotency_key",
    "not_actionable",
    "pause_changed",
    "recovered",
    "step_change",
    "unrecoverable",
]

#: step statuses of a step that is waiting to be (re-)dispatched
WAITING = frozenset({StepStatus.PENDING, StepStatus.RETRYING})

#: errors that will come back the same however often the task is sent
NOT_RETRYABLE = ("Input validation failed",)


@dataclass(slots=True)
class Ending:
    """The run ends: with what status, why, and whether completed steps are to be undone."""

    status: OrchestrationStatus
    error: str | None = None
    #: (reason, compensationContext payload) when completed revertible steps are undone
    compensation: tuple[str, dict[str, Any]] | None = None
    #: a step failed for good: re-planning the remainder may avert this ending
    replannable: bool = False


@dataclass(slots=True)
class Transition:
    """What a transition asks the driver to do: every effect is plain data."""

    #: facts to record, in one commit
    changes: list[Change] = field(default_factory=list)
    #: steps whose last dependency just completed: dispatch them now
    ready: list[StepState] = field(default_factory=list)
    #: a step to dispatch again after a delay (seconds)
    retry: tuple[StepState, float] | None = None
    ending: Ending | None = None
    #: the step completed after its run had ended (undo it too, if the run is being undone)
    late: bool = False
    #: steps whose attempt the run's end stopped: tell their services to stop
    stopped: list[StepState] = field(default_factory=list)
    #: (kind, body) of a webhook for the run's webhooks, delivered once the changes commit
    webhook: tuple[str, dict[str, Any]] | None = None
    #: a step now waiting for a person: arm its approval timeout
    awaits: StepState | None = None
    #: the run is being re-planned: ask the planner once no step runs
    replan: bool = False
    #: steps taken out of the run: no deadline, and no answer for them counts any more
    forgotten: list[StepState] = field(default_factory=list)


def canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def idempotency_key(
    orchestration_id: str, step_id: str, canonical_input: bytes, generation: int = 0
) -> str:
    """Same orchestration, step, input and retry generation → same key, across restarts."""
    salt = f"{orchestration_id}\x00{step_id}\x00".encode()
    if generation:
        salt += f"retry{generation}\x00".encode()
    return hashlib.sha256(salt + canonical_input).hexdigest()[:40]


def step_change(run: Run, step: StepState, kind: str, at: datetime, payload: Any) -> Change:
    return Change(run.id, kind, at, payload, step.id, steps=[step])


def accepted(run: Run) -> Transition:
    """A run the store has just accepted starts: its steps without dependencies are ready.

    A re-run's reused steps arrive completed: they count as done and free their dependents.
    """
    run.status = OrchestrationStatus.RUNNING
    run.start_time = run.created_at
    for step in run.steps.values():
        if step.status == StepStatus.COMPLETED:
            run.completed += 1
            for dependent in step.dependents:
                run.steps[dependent].remaining -= 1
    answer = Transition(
        ready=[s for s in run.steps.values() if s.status == StepStatus.PENDING and s.remaining == 0]
    )
    if run.completed == len(run.steps):
        answer.ending = Ending(OrchestrationStatus.COMPLETED)
    return answer


def not_actionable(run: Run, reason: str) -> Change:
    """No plan could be made: the run ends as it is recorded, and nothing runs."""
    run.status = OrchestrationStatus.NOT_ACTIONABLE
    run.error = reason
    run.end_time = run.created_at
    return Change(
        run.id,
        EventKind.ORCHESTRATION_NOT_ACTIONABLE,
        run.created_at,
        {"reason": reason},
        orchestration=run,
        new=True,
    )


def recovered(
    run: Run,
    dispatches: dict[tuple[str, str], int],
    max_attempts: Callable[[StepState], int] | None = None,
    at: datetime | None = None,
) -> Transition:
    """A run that was in flight when the control plane stopped, rebuilt from the store.

    Completed steps stay completed; every other step waits to be re-dispatched with the key it
    last had; the attempts count includes dispatches the store saw but the step row missed
    (each is on disk before its task is sent). A step whose attempts are spent that way —
    its service never answered before one crash after another — fails instead of being sent
    once more (``max_attempts``: the step's ``maxAttempts``).
    """
    run.status = OrchestrationStatus.RUNNING
    spent: StepState | None = None
    for step in run.steps.values():
        step.attempts = max(step.attempts, dispatches.get((run.id, step.id), 0))
        if step.status == StepStatus.COMPLETED:
            run.completed += 1
            for dependent in step.dependents:
                run.steps[dependent].remaining -= 1
        elif step.status == StepStatus.AWAITING_APPROVAL:
            continue  # still waiting for its person: the wait survives a restart
        elif step.status == StepStatus.FAILED:
            # it failed for good and the run was being re-planned when the control plane
            # stopped: re-plan again rather than run the failed step once more
            run.replanning = True
            run.failures.append(f"{step.id} ({step.component}) failed: {step.error}")
        else:
            step.status = StepStatus.PENDING
            if (
                spent is None
                and max_attempts is not None
                and step.attempts >= max_attempts(step)
                and step.approval != ApprovalStatus.REQUIRED  # (never sent: its wait comes first)
            ):
                spent = step
    if any(s.status == StepStatus.AWAITING_APPROVAL for s in run.steps.values()):
        run.status = OrchestrationStatus.AWAITING_APPROVAL
    if spent is not None and not run.replanning:
        error = (
            f"its attempts (maxAttempts {max_attempts(spent)}) were spent across restarts of "
            "the control plane: the last one got no answer before the restart"
        )
        return failed(run, spent, error, at or run.created_at)
    ready = [s for s in run.steps.values() if s.status == StepStatus.PENDING and s.remaining == 0]
    answer = Transition(ready=[] if run.replanning else ready)
    if run.completed == len(run.steps):
        answer.ending = Ending(OrchestrationStatus.COMPLETED)
    return answer


def unrecoverable(run: Run, reason: str, at: datetime) -> Transition:
    """The run could not be read back or resumed after a restart: it ends ``FAILED`` with the
    reason, its completed revertible steps undone, as any failed run (never re-planned: its
    plan is what could not be read)."""
    run.status = OrchestrationStatus.RUNNING
    for step in run.steps.values():
        if step.status == StepStatus.AWAITING_APPROVAL:
            step.status = StepStatus.PENDING  # skipped when the run ends, as never started
    error = f"could not be resumed after a restart: {reason}"
    return Transition(
        [Change(run.id, EventKind.RECOVERY_FAILED, at, {"error": error})],
        ending=Ending(OrchestrationStatus.FAILED, error, ("failed", {"error": error})),
    )


def completed(run: Run, step: StepState, result: Any, attempt_end: datetime) -> Transition:
    """A step's ``task_result`` without an error: record it, ready its dependents."""
    output = result.get("task") if isinstance(result, dict) and "task" in result else result
    step.end_time = attempt_end
    step.status = StepStatus.COMPLETED
    step.output = output
    step.error = None
    compensation = result.get("compensation") if isinstance(result, dict) else None
    if isinstance(compensation, dict) and "data" in compensation:
        step.compensation = compensation
    payload = {"output": output, "compensation": compensation, "attempt": step.attempts}
    answer = Transition([step_change(run, step, EventKind.STEP_COMPLETED, attempt_end, payload)])
    run.completed += 1
    if run.finishing:
        answer.late = True
        return answer
    for dependent_id in step.dependents:
        dependent = run.steps[dependent_id]
        dependent.remaining -= 1
        if dependent.remaining == 0:
            answer.ready.append(dependent)
    if run.completed == len(run.steps):
        answer.ending = Ending(OrchestrationStatus.COMPLETED)
    return answer


def failed(run: Run, step: StepState, error: str, at: datetime) -> Transition:
    """The step failed for good, and with it the run (its completed steps are undone)."""
    step.status = StepStatus.FAILED
    step.error = error
    step.end_time = at
    payload = {"error": error, "attempts": step.attempts}
    tries = f" after {step.attempts} attempts" if step.attempts > 1 else ""
    return Transition(
        [step_change(run, step, EventKind.STEP_FAILED, at, payload)],
        ending=Ending(
            OrchestrationStatus.FAILED,
            f"{step.id} ({step.component}) failed{tries}: {error}",
            ("failed", {"stepId": step.id, "error": error}),
            replannable=True,
        ),
    )


def failed_late(run: Run, step: StepState, error: str, at: datetime) -> Transition:
    """An error answer after the run had ended: recorded, and nothing else changes."""
    return Transition([Change(run.id, EventKind.STEP_FAILED_LATE, at, {"error": error}, step.id)])


def attempt_failed(
    run: Run, step: StepState, kind: str, error: str, policy: RetryPolicy, at: datetime
) -> Transition:
    """An attempt failed (``service_error``, ``timeout``, ``connection_lost``): retry or fail.

    A service error is retried under a new key, because the service may have cached the error
    under the old one; a timeout or a lost connection re-sends under the same key, so a service
    that did the work answers from its cache. A lost connection is retried at once.
    """
    if step.attempts >= policy.max_attempts:
        return failed(run, step, error, at)
    delay = 0.0 if kind == "connection_lost" else policy.delay(step.attempts)
    if kind == "service_error":
        step.generation += 1
        step.idempotency_key = idempotency_key(
            run.id, step.id, canonical(step.input), step.generation
        )
    step.status = StepStatus.RETRYING
    step.error = error
    payload = {"attempt": step.attempts, "kind": kind, "error": error, "delay": round(delay, 3)}
    return Transition(
        [step_change(run, step, EventKind.STEP_RETRYING, at, payload)], retry=(step, delay)
    )


def aborted(run: Run, step: StepState, result: Any, at: datetime) -> Transition:
    """The service answered ``{abort: payload}``: the run ends ABORTED and is undone."""
    payload = result.get("task") if isinstance(result, dict) else result
    step.status = StepStatus.ABORTED
    step.end_time = at
    step.error = "aborted by the service"
    context = payload if isinstance(payload, dict) else {"payload": payload}
    return Transition(
        [step_change(run, step, EventKind.STEP_ABORTED, at, payload)],
        ending=Ending(
            OrchestrationStatus.ABORTED,
            f"{step.id} ({step.component}) aborted the orchestration",
            ("aborted", context),
        ),
    )


def cancelled(reason: str | None, compensate: bool) -> Transition:
    """The caller stops the run; its completed revertible steps are undone unless told not to."""
    why = reason or "no reason given"
    return Transition(
        ending=Ending(
            OrchestrationStatus.CANCELLED,
            f"cancelled by the caller: {why}",
            ("cancelled", {"reason": why}) if compensate else None,
        )
    )


def pause_changed(run: Run, at: datetime) -> Transition:
    """AWAITING_APPROVAL while any step waits for a person, else PAUSED while any waits for an
    instance of its service, else RUNNING (other branches run on in both)."""
    if run.finishing:
        return Transition()
    paused = any(s.paused for s in run.steps.values())
    awaiting = any(s.status == StepStatus.AWAITING_APPROVAL for s in run.steps.values())
    if awaiting:
        status = OrchestrationStatus.AWAITING_APPROVAL
    else:
        status = OrchestrationStatus.PAUSED if paused else OrchestrationStatus.RUNNING
    if status == run.status:
        return Transition()
    run.status = status
    payload = _paused_for(run) if status == OrchestrationStatus.PAUSED else None
    return Transition([Change(run.id, ORCHESTRATION_EVENT[status], at, payload, orchestration=run)])


def _paused_for(run: Run) -> dict[str, Any]:
    """Which services a paused run waits for, and what a person can do about it."""
    services = sorted({s.component for s in run.steps.values() if s.paused})
    named = ", ".join(f"'{name}'" for name in services)
    return {
        "services": services,
        "reason": f"waiting for an instance of {named}: none is connected that takes new tasks "
        "(start one; the run goes on when it connects)",
    }


def ended(run: Run, ending: Ending, at: datetime) -> tuple[Change, list[StepState]]:
    """The run ends: the change that records it, and the steps that were running.

    Running steps become ``CANCELLED`` (a late answer is still recorded), steps never started
    ``SKIPPED``. The run's own status changes only once this has committed, so the change
    carries the new status instead.
    """
    run.finishing = True
    run.end_time = at
    run.error = ending.error
    status = ending.status
    if status == OrchestrationStatus.COMPLETED:
        run.result = combine_result(run)
    stopped: list[StepState] = []
    changed: list[StepState] = []
    if status != OrchestrationStatus.COMPLETED:
        for step in run.steps.values():
            if step.status == StepStatus.RUNNING:
                step.status = StepStatus.CANCELLED
                step.error = f"stopped: the orchestration ended {status}"
                step.end_time = at
                stopped.append(step)
            elif step.status in WAITING:
                step.status = StepStatus.SKIPPED
            else:
                continue
            changed.append(step)
    change = Change(
        run.id,
        ORCHESTRATION_EVENT[status],
        at,
        {"error": ending.error} if ending.error else None,
        orchestration=run,
        status=status,
        steps=changed,
    )
    return change, stopped
