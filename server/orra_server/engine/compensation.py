"""Undoing completed steps of revertible services after an orchestration fails, aborts or is
cancelled, as protocol.md's ``compensation_request`` describes.

Compensations of one orchestration run one at a time, newest completion first. Each is retried
(``compensation_attempts``, backoff) when the service answers ``failed``, errs, times out or
loses its connection; one that still fails becomes a *compensation failure* record for a person
to resolve or ignore, POSTed to the project's compensation-failure webhooks. Data past its TTL
(counted from the step's completion) is never sent: the compensation is recorded ``expired``.
The rows are written in the same commit as the outcome that calls for them, so a restart
resumes whatever was pending.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from orra_sdk.vocabulary import CompensationStatus, EventKind

from ..core.ids import new_id, now, to_iso
from ..services import frames
from ..services.connections import ServiceHub
from ..settings import Settings
from ..store import Change, StoreBackend, StoredCompensationFailure, StoredService
from .compensation_body import failure_body
from .compensation_plan import compensation_key, compensation_of, compensations
from .policy import RetryPolicy
from .run import CompensationState, Run, StepState

__all__ = ["Compensator", "compensation_key", "failure_body"]


log = logging.getLogger("orra.compensation")

#: what a compensation can end as
FINAL = frozenset(CompensationStatus) - {CompensationStatus.PENDING, CompensationStatus.RUNNING}


@dataclass(eq=False)
class _Job:
    """The compensations of one orchestration, run in order by one task."""

    orchestration_id: str
    project_id: str
    items: list[CompensationState]
    running: bool = False
    steps_end: dict[str, Any] = field(default_factory=dict)


class Compensator:
    """Undoes completed steps: what it needs is passed in, not the whole engine."""

    def __init__(
        self,
        store: StoreBackend,
        hub: ServiceHub,
        settings: Settings,
        *,
        services: Callable[[str], StoredService | None],
        retry_policy: RetryPolicy,
        outbox: Any,
        compensation_webhooks_of: Callable[[str], list[str]],
        spawn: Callable[[Coroutine[Any, Any, Any]], None],
    ) -> None:
        self.store = store
        self.hub = hub
        self.settings = settings
        self.services = services
        self.retry_policy = retry_policy
        self.outbox = outbox
        self.compensation_webhooks_of = compensation_webhooks_of
        self._spawn = spawn
        #: (service id, key) -> the future an answer resolves
        self._waiting: dict[tuple[str, str], asyncio.Future[tuple[str, Any]]] = {}
        self._jobs: dict[str, _Job] = {}

    # -- planning ----------------------------------------------------------------------------
    def _revertible(self, step: StepState) -> bool:
        service = self.services(step.service_id) if step.service_id else None
        return bool(service and service.revertible)

    def plan(
        self, run: Run, reason: str, context: dict[str, Any] | None
    ) -> list[CompensationState]:
        """What ``run``'s ending undoes (``compensation_plan.py``)."""
        return compensations(run, reason, context, self._revertible, now())

    def scheduled(self, run: Run) -> Change:
        """The record of ``run.compensations``, for the commit of the outcome that planned them."""
        return Change(
            run.id,
            EventKind.COMPENSATION_SCHEDULED,
            now(),
            {"steps": [c.step_id for c in run.compensations]},
            compensations=run.compensations,
            new_compensations=True,
        )

    def start(self, run: Run) -> None:
        job = _Job(run.id, run.project_id, list(run.compensations))
        self._jobs[run.id] = job
        self._launch(job)

    def late_completion(self, run: Run, step: StepState) -> None:
        """A step that finished after its run ended is undone too, if the run is being undone."""
        if not run.compensations or not isinstance(step.compensation, dict):
            return
        if not self._revertible(step) or any(c.step_id == step.id for c in run.compensations):
            return
        first = run.compensations[0]
        position = len(run.compensations)
        state = compensation_of(run, step, first.reason, first.context, position, now())
        run.compensations.append(state)
        scheduled = Change(
            run.id,
            EventKind.COMPENSATION_SCHEDULED,
            now(),
            {"steps": [step.id]},
            step.id,
            compensations=[state],
            new_compensations=True,
        )
        self.store.record([scheduled]).add_done_callback(log_failure)
        job = self._jobs.get(run.id)
        if job is None:
            job = self._jobs[run.id] = _Job(run.id, run.project_id, [])
        job.items.append(state)
        self._launch(job)

    def resume(self) -> int:
        """Compensations a stop interrupted; call inside the loop at start-up."""
        store = self.store
        jobs: dict[str, _Job] = {}
        for stored in store.unfinished_compensations():
            if stored.orchestration_id in self._jobs:
                continue  # under way here already (a replica resumes again after a takeover)
            job = jobs.get(stored.orchestration_id)
            if job is None:
                job = jobs[stored.orchestration_id] = _Job(
                    stored.orchestration_id, stored.project_id or "", []
                )
                job.steps_end = {
                    s.step_id: s.end_time for s in store.steps_of(job.orchestration_id)
                }
            state = CompensationState.from_stored(stored)
            state.step_end = job.steps_end.get(state.step_id)
            state.status = CompensationStatus.PENDING
            job.items.append(state)
        for job in jobs.values():
            self._jobs[job.orchestration_id] = job
            self._launch(job)
        return len(jobs)

    def _launch(self, job: _Job) -> None:
        if not job.running:
            job.running = True
            self._spawn(self._run(job))

    # -- running -----------------------------------------------------------------------------
    async def _run(self, job: _Job) -> None:
        try:
            while True:
                todo = [c for c in job.items if c.status not in FINAL]
                if not todo:
                    break
                await self._compensate(job, min(todo, key=lambda c: c.position))
            counts: dict[str, int] = {}
            for item in job.items:
                counts[item.status] = counts.get(item.status, 0) + 1
            await self.store.record(
                [Change(job.orchestration_id, EventKind.COMPENSATIONS_FINISHED, now(), counts)]
            )
        finally:
            job.running = False
            if not any(c.status not in FINAL for c in job.items):
                self._jobs.pop(job.orchestration_id, None)

    async def _compensate(self, job: _Job, item: CompensationState) -> None:
        settings = self.settings
        if item.ttl_ms is not None and item.step_end is not None:
            expires = item.step_end + timedelta(milliseconds=item.ttl_ms)
            if now() > expires:
                item.error = (
                    f"the compensation data expired at {to_iso(expires)} "
                    f"({item.ttl_ms} ms after the step completed) and was not sent"
                )
                await self._record(item, CompensationStatus.EXPIRED, EventKind.COMPENSATION_EXPIRED)
                return
        failure = "no attempt was made"
        while item.attempts < settings.compensation_attempts:
            if item.attempts:
                await asyncio.sleep(self.retry_policy.delay(item.attempts))
            service_id = item.service_id or ""
            instance = self.hub.pick(service_id)
            if instance is None and self.hub.is_online(service_id):
                await self.hub.wait_room(service_id)  # every instance is full
                continue
            if instance is None:
                grace = self.settings.offline_grace_seconds
                if not await self.hub.wait_online(service_id, grace):
                    item.attempts += 1
                    failure = f"'{item.component}' had no connected instance for {grace:g} s"
                    await self._attempt_failed(item, failure)
                    continue
                instance = self.hub.pick(service_id)
                if instance is None:
                    continue
            item.attempts += 1
            item.status = CompensationStatus.RUNNING
            item.start_time = item.start_time or now()
            kind, answer = await self._send(item, instance)
            if kind == "result":
                error = answer.get("error")
                result = answer.get("result")
                status = result.get("status") if isinstance(result, dict) else None
                if not error and status in (
                    None,
                    CompensationStatus.COMPLETED,
                    CompensationStatus.PARTIAL,
                ):
                    item.result = result
                    item.error = None
                    await self._record(
                        item,
                        status or CompensationStatus.COMPLETED,
                        EventKind.COMPENSATION_COMPLETED,
                    )
                    return
                failure = str(
                    error
                    or (result.get("error") if isinstance(result, dict) else None)
                    or f"the service answered '{status}'"
                )
                item.result = result
                # a caching SDK would answer the same failure again under the same key
                item.idempotency_key = compensation_key(
                    item.orchestration_id, item.step_id, item.attempts
                )
                if (
                    status == CompensationStatus.EXPIRED
                ):  # the service can no longer undo it: retrying won't help
                    item.error = failure
                    await self._give_up(job, item, failure)
                    return
            elif kind == "lost":
                failure = f"the connection to '{item.component}' was lost"
            else:
                failure = f"no answer within {settings.compensation_timeout_seconds:g} s"
            await self._attempt_failed(item, failure)
        await self._give_up(job, item, failure)

    async def _send(self, item: CompensationState, instance) -> tuple[str, Any]:
        loop = asyncio.get_running_loop()
        key = item.idempotency_key
        waiter: asyncio.Future[tuple[str, Any]] = loop.create_future()
        slot = (item.service_id or "", key)
        self._waiting[slot] = waiter
        instance.in_flight.add(key)
        message = frames.compensation_request(
            item.step_id,
            item.input,
            orchestration_id=item.orchestration_id,
            reason=item.reason,
            payload=item.context,
            timestamp=to_iso(now()) or "",
            attempt_id=new_id("e_", 12),
            idempotency_key=key,
            service_id=item.service_id,
        )
        dispatched = {"attempt": item.attempts, "instance": instance.number}
        self.store.record_lazy(
            [
                Change(
                    item.orchestration_id,
                    EventKind.COMPENSATION_DISPATCHED,
                    now(),
                    dispatched,
                    item.step_id,
                )
            ]
        )
        try:
            await instance.send(message)
            timeout = self.settings.compensation_timeout_seconds
            return await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            return ("timeout", None)
        except Exception:
            return ("lost", None)
        finally:
            self._waiting.pop(slot, None)
            instance.release(key)

    async def _attempt_failed(self, item: CompensationState, failure: str) -> None:
        item.error = failure
        payload = {"attempt": item.attempts, "error": failure}
        await self._write(item, EventKind.COMPENSATION_ATTEMPT_FAILED, payload)

    async def _record(self, item: CompensationState, status: str, event: str) -> None:
        item.status = status
        item.end_time = now()
        await self._write(
            item, event, {"status": status, "result": item.result, "error": item.error}
        )

    def _write(self, item: CompensationState, event: str, payload: Any):
        change = Change(
            item.orchestration_id, event, now(), payload, item.step_id, compensations=[item]
        )
        return self.store.record([change])

    async def _give_up(self, job: _Job, item: CompensationState, failure: str) -> None:
        """The compensation failed for good: a record for a person, and its webhooks."""
        # the live state says "failed" only once the failure record has committed, so whoever
        # sees it can also read the record
        failed = dataclasses.replace(
            item, status=CompensationStatus.FAILED, error=failure, end_time=now()
        )
        record = StoredCompensationFailure(
            id=new_id("cf_", 20),
            project_id=job.project_id,
            orchestration_id=item.orchestration_id,
            step_id=item.step_id,
            service_id=item.service_id,
            component=item.component,
            failure=failure,
            attempts=item.attempts,
            compensation={"input": item.input, "ttl": item.ttl_ms},
            context={"reason": item.reason, "payload": item.context},
            created_at=failed.end_time,
        )
        urls = self.compensation_webhooks_of(job.project_id)
        deliveries = []
        if urls and self.outbox is not None:
            body = {"type": "compensation_failure", **failure_body(record)}
            deliveries = self.outbox.new(
                job.project_id, item.orchestration_id, "compensation_failure", urls, body
            )
        payload = {"error": failure, "attempts": item.attempts, "failureId": record.id}
        change = Change(
            item.orchestration_id,
            EventKind.COMPENSATION_FAILED,
            failed.end_time,
            payload,
            item.step_id,
            compensations=[failed],
            deliveries=deliveries,
            failure=record,
        )
        await self.store.record([change])
        item.status, item.error, item.end_time = failed.status, failed.error, failed.end_time
        if deliveries:
            self.outbox.schedule(deliveries)
        log.warning(
            "compensation of %s/%s failed for good: %s",
            item.orchestration_id,
            item.step_id,
            failure,
        )

    # -- answers from services ---------------------------------------------------------------
    def is_waiting(self, service_id: str, key: str) -> bool:
        return (service_id, key) in self._waiting

    def on_result(self, service_id: str, key: str, payload: dict[str, Any]):
        waiter = self._waiting.get((service_id, key))
        if waiter is not None and not waiter.done():
            waiter.set_result(("result", payload))
        return None  # recorded by the compensating task; a lost record is re-sent on resume

    def connection_lost(self, instance, key: str) -> bool:
        waiter = self._waiting.get((instance.service_id, key))
        if waiter is None:
            return False
        if not waiter.done():
            waiter.set_result(("lost", None))
        return True


def log_failure(future: asyncio.Future[None]) -> None:
    """For writes nobody awaits: a failure is logged, never lost silently."""
    if not future.cancelled() and future.exception() is not None:
        log.error("background write failed: %s", future.exception())
