"""Answers from services — and their absence: lost sockets, passed deadlines — as events.

Each frame a service sends is matched to the step it belongs to (the dispatcher's map from
(service id, idempotency key) to the step) and turned into an event of the transition table
(``table.py``), which the driver (``engine.py``) applies; frames that change no state
(``in_progress``, interim results) are only recorded. Compensation answers go to the
compensator. Nothing here decides what an answer means for the run: the table does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from orra_sdk.vocabulary import EventKind, StepStatus

from ..core.ids import now
from ..services.connections import Instance, ServiceHub
from ..store import Change, StoreBackend
from .compensation import Compensator
from .dispatch import Dispatcher
from .policy import RetryPolicy
from .run import Run, StepState
from .table import AttemptFailed, Event, StepAborted, StepCompleted, StepFailed, StepFailedLate
from .transitions import NOT_RETRYABLE

__all__ = ["Answers", "Reply"]

#: an event for the driver to apply to a run, a commit to await before the ACK, or nothing
Reply = tuple[Run, Event] | asyncio.Future[None] | None


@dataclass(eq=False)
class Answers:
    """Turns what services send into events; what it needs is passed in, not the engine."""

    store: StoreBackend
    hub: ServiceHub
    dispatcher: Dispatcher
    compensator: Compensator
    policy_for: Callable[[Run, StepState], RetryPolicy]
    #: measured step duration per service id (seconds, moving average) for estimates
    step_seconds: dict[str | None, float] = field(default_factory=dict)

    def attempt_failed(self, run: Run, step: StepState, kind: str, error: str) -> Reply:
        return run, AttemptFailed(step, kind, error, self.policy_for(run, step), now())

    def task_result(self, instance: Instance, payload: dict[str, Any]) -> Reply:
        key = payload.get("idempotencyKey")
        if not key:
            return None
        if self.compensator.is_waiting(instance.service_id, key):
            return self.compensator.on_result(instance.service_id, key, payload)
        entry = self.dispatcher.pending.pop((instance.service_id, key), None)
        if entry is None:
            return None  # a duplicate or a late answer: already recorded, just ACK it
        run, step = entry
        for other in self.hub.instances(instance.service_id):
            other.release(key)
        at = now()
        if payload.get("error"):
            error = str(payload["error"])
            if run.finishing:
                return run, StepFailedLate(step, error, at)
            if error.startswith(NOT_RETRYABLE):
                return run, StepFailed(step, error, at)
            return self.attempt_failed(run, step, "service_error", error)
        if step.start_time is not None:
            took = (at - step.start_time).total_seconds()
            previous = self.step_seconds.get(step.service_id, took)
            self.step_seconds[step.service_id] = 0.8 * previous + 0.2 * took
        return run, StepCompleted(step, payload.get("result"), at)

    def task_status(self, instance: Instance, payload: dict[str, Any]) -> None:
        """``in_progress`` for a re-sent task: the service is alive and still working on it."""
        entry = self.dispatcher.pending.get((instance.service_id, payload.get("idempotencyKey")))
        if entry is not None:
            run, step = entry
            status = {"status": payload.get("status"), "instance": instance.number}
            self.store.record_lazy([Change(run.id, EventKind.STEP_STATUS, now(), status, step.id)])

    def interim_result(self, instance: Instance, payload: dict[str, Any]) -> Reply:
        entry = self.dispatcher.pending.get((instance.service_id, payload.get("idempotencyKey")))
        if entry is None:
            return None
        run, step = entry
        result = payload.get("result")
        update = result.get("task") if isinstance(result, dict) else result
        return self.store.record(
            [Change(run.id, EventKind.STEP_INTERIM_RESULT, now(), update, step.id)]
        )

    def abort_result(self, instance: Instance, payload: dict[str, Any]) -> Reply:
        key = (instance.service_id, payload.get("idempotencyKey") or "")
        entry = self.dispatcher.pending.pop(key, None)
        if entry is None:
            return None
        run, step = entry
        return run, StepAborted(step, payload.get("result"), now())

    def lost(self, instance: Instance) -> Iterator[Reply]:
        """What a dropped socket held, one attempt at a time (each is applied before the next
        is looked at: a run the previous one ended retries nothing); the same key makes the
        re-send a cache hit. Compensations re-send their own."""
        for key in list(instance.in_flight):
            if self.compensator.connection_lost(instance, key):
                continue
            entry = self.dispatcher.pending.get((instance.service_id, key))
            if entry is None:
                continue
            run, step = entry
            if run.finishing or step.status != StepStatus.RUNNING or step.instance is not instance:
                continue
            error = f"the connection to instance {instance.number} of '{step.component}' was lost"
            yield self.attempt_failed(run, step, "connection_lost", error)
        instance.in_flight.clear()

    def too_large(self, instance: Instance, limit: int) -> Reply:
        """The socket was closed because a frame from it passed ``limit`` bytes (close 1009).

        With one task in flight the answer was that task's: re-sending the task would only
        bring the same answer back, so the step fails now (an orra SDK that escapes non-ASCII
        text can triple a result's size). With several, which one is unknown: the socket's
        loss retries them as usual.
        """
        if len(instance.in_flight) != 1:
            return None
        key = next(iter(instance.in_flight))
        entry = self.dispatcher.pending.get((instance.service_id, key))
        if entry is None:
            return None
        run, step = entry
        instance.release(key)
        error = (
            f"the answer of '{step.component}' was larger than {limit} bytes, the most one "
            "websocket message may carry; make the service return less"
        )
        return run, StepFailed(step, error, now())

    def timed_out(self, run: Run, step: StepState, attempt: int) -> Reply:
        """The attempt's deadline passed (unless it ended, or another began, meanwhile)."""
        step.timer = None
        if run.finishing or step.status != StepStatus.RUNNING or step.attempts != attempt:
            return None
        timeout = self.policy_for(run, step).timeout
        error = f"no answer within {timeout:g} s (attempt {attempt})"
        return self.attempt_failed(run, step, "timeout", error)
