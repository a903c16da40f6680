"""The event-driven scheduler: a step is dispatched the moment its last dependency has completed.

The engine is the driver of the transition table (``table.py``): it turns what services,
timers, people and the dispatcher report into events, applies them, and carries out the
effects they return — records the changes through the group-commit writer, dispatches ready
steps (``dispatch.py``), schedules retries, ends runs, asks the planner. A step result's
dependents are counted (``step_dispatched``) in its commit and sent once it is on disk; the
service's ACK waits for the commit too (the websocket layer awaits the future returned here).
See docs/reliability.md for the failure kinds and what each one does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Any

from ..core.ids import now
from ..core.statuses import OrchestrationStatus, StepStatus
from ..services.connections import Instance, ServiceHub
from ..settings import Settings
from ..store import Change, Store
from . import gates, recovery, replanning, table
from .admission_counts import LiveRuns
from .compensation import Compensator
from .compensation import log_failure as _log_failure
from .dispatch import Dispatcher, Sent
from .finished import FinishedRuns, Summary
from .policy import RetryPolicy, resolve_policy
from .run import TERMINAL, Run, StepState, run_from_rows
from .table import AttemptFailed, Event, StepFailed
from .transitions import NOT_RETRYABLE, Ending, Transition, idempotency_key

__all__ = ["Engine", "idempotency_key", "run_from_rows"]

log = logging.getLogger("orra.engine")

FinishedCallback = Callable[[Run], Awaitable[None]]
ServiceLookup = Callable[[str], dict[str, Any] | None]
#: (run, service ids to leave out) → a RemainderPlan (adaptation.py), or why there is none
Replanner = Callable[[Run, set[str]], Awaitable[Any]]


class Engine:
    def __init__(
        self,
        store: Store,
        hub: ServiceHub,
        settings: Settings,
        *,
        services: ServiceLookup | None = None,
        outbox: Any = None,
        compensation_webhooks_of: Callable[[str], list[str]] | None = None,
        replanner: Replanner | None = None,
    ) -> None:
        self.store = store
        self.hub = hub
        self.settings = settings
        #: service id -> its registration (revertible, policy); None when unknown
        self.services: ServiceLookup = services or (lambda _id: None)
        self.outbox = outbox
        self.compensation_webhooks_of = compensation_webhooks_of or (lambda _p: [])
        #: plans the remainder of a run whose step failed for good (None: never re-plan)
        self.replanner = replanner
        self.defaults = RetryPolicy.defaults(settings)
        #: unfinished runs, counted per project for admission (admission_counts.py)
        self.runs = LiveRuns()
        #: runs that ended: whole until the store shows their end, then summaries only
        self.finished = FinishedRuns()
        self._background: set[asyncio.Task[Any]] = set()
        self.on_finished: list[FinishedCallback] = []
        #: measured step duration per service id (seconds, moving average) for estimates
        self.step_seconds: dict[str | None, float] = {}
        self.dispatcher = Dispatcher(store, hub, settings)
        self.compensator = Compensator(
            store,
            hub,
            settings,
            services=lambda service_id: self.services(service_id),
            retry_policy=self.defaults,
            outbox=outbox,
            compensation_webhooks_of=lambda project_id: self.compensation_webhooks_of(project_id),
            spawn=self._spawn,
        )
        hub.on_instance_lost = self._instance_lost

    def policy_for(self, run: Run, step: StepState) -> RetryPolicy:
        service = self.services(step.service_id) if step.service_id else None
        return resolve_policy(self.defaults, service and service.get("policy"), run.options)

    # -- starting ----------------------------------------------------------------------------
    async def accept(self, run: Run, planning: list[Change] = ()) -> None:  # type: ignore[assignment]
        """Record the run (and how its plan was made) durably, then start it; the first
        steps' dispatches are counted in the same commit."""
        started = table.apply(run, table.Accepted())
        counts = [] if started.ending else self.dispatcher.claim(run, started.ready)
        accepted = self.store.accept(run, list(run.steps.values()), list(planning), counts)
        self.dispatcher.counted(started.ready, accepted)
        try:
            await accepted
        except Exception:
            self.dispatcher.unclaim(started.ready)
            raise
        self.runs[run.id] = run
        self._apply(run, started)

    async def record_not_actionable(
        self,
        run: Run,
        reason: str,
        planning: list[Change] = (),  # type: ignore[assignment]
    ) -> None:
        [change] = table.apply(run, table.NotActionable(reason)).changes
        change.deliveries = deliveries = self._deliveries(run, run.status)
        await self.store.record([*planning, change])
        run.done.set()
        self._remember(run)
        if deliveries:
            self.outbox.schedule(deliveries)
        await self._notify(run)

    def resume_unfinished(self) -> int:
        """Start every orchestration the store says was in flight. Call inside the loop.

        Each run on its own (``recovery.py``): one that cannot be read back or resumed ends
        ``FAILED`` with the reason; it never stops the others, nor the control plane."""
        stored = recovery.read_unfinished(self.store)
        dispatches = recovery.facts_or_empty(self.store.dispatches_of_unfinished, "dispatches")
        waits = recovery.facts_or_empty(
            self.store.approvals_requested_of_unfinished, "approval waits"
        )
        for item in stored:
            run = None
            try:
                run, resumed = recovery.rebuild(
                    self.store, item, dispatches, waits, self.policy_for, now()
                )
                self.runs[run.id] = run
                self._apply(run, resumed)
                for step in run.steps.values():
                    if step.status == StepStatus.AWAITING_APPROVAL:
                        self._arm_approval_timeout(run, step)  # what is left of it
            except Exception as exc:
                if run is not None:  # (whatever of it was started stops)
                    run.finishing = True
                self._unrecoverable(item, exc)
        self.compensator.resume()
        return len(stored)

    def _unrecoverable(self, item: recovery.Stored, exc: Exception) -> None:
        """End a run recovery could not resume: FAILED with the reason, one log line."""
        reason = recovery.describe(exc)
        log.error("orchestration %s could not be resumed (%s): it ends FAILED", item.id, reason)
        log.debug("why %s could not be resumed", item.id, exc_info=exc)
        try:
            run = recovery.salvage(self.store, item)
            if run is not None:
                self.runs[run.id] = run
                self.feed(run, table.Unrecoverable(reason, now()))
        except Exception as again:  # not even that: left as it is, the start goes on
            self.runs.pop(item.id, None)
            log.error("orchestration %s could not be ended: %s", item.id, recovery.describe(again))

    # -- answers from services, timers and people ------------------------------------------
    def on_task_result(self, instance: Instance, payload: dict[str, Any]):
        """Record a ``task_result``; returns the commit future to await before the ACK."""
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
        if payload.get("error"):
            error = str(payload["error"])
            if run.finishing:
                return self.feed(run, table.StepFailedLate(step, error, now()))
            if error.startswith(NOT_RETRYABLE):
                return self.feed(run, StepFailed(step, error, now()))
            return self._attempt_failed(run, step, "service_error", error)
        committed = self.feed(run, table.StepCompleted(step, payload.get("result"), now()))
        if step.start_time is not None and step.end_time is not None:
            took = (step.end_time - step.start_time).total_seconds()
            previous = self.step_seconds.get(step.service_id, took)
            self.step_seconds[step.service_id] = 0.8 * previous + 0.2 * took
        return committed

    def on_task_status(self, instance: Instance, payload: dict[str, Any]) -> None:
        """``in_progress`` for a re-sent task: the service is alive and still working on it."""
        entry = self.dispatcher.pending.get((instance.service_id, payload.get("idempotencyKey")))
        if entry is not None:
            run, step = entry
            status = {"status": payload.get("status"), "instance": instance.number}
            self.store.record_lazy([Change(run.id, "step_status", now(), status, step.id)])

    def on_interim_result(self, instance: Instance, payload: dict[str, Any]):
        entry = self.dispatcher.pending.get((instance.service_id, payload.get("idempotencyKey")))
        if entry is None:
            return None
        run, step = entry
        result = payload.get("result")
        update = result.get("task") if isinstance(result, dict) else result
        return self.store.record([Change(run.id, "step_interim_result", now(), update, step.id)])

    def on_abort_result(self, instance: Instance, payload: dict[str, Any]):
        key = (instance.service_id, payload.get("idempotencyKey"))
        entry = self.dispatcher.pending.pop(key, None)  # type: ignore[arg-type]
        if entry is None:
            return None
        run, step = entry
        return self.feed(run, table.StepAborted(step, payload.get("result"), now()))

    def _instance_lost(self, instance: Instance) -> None:
        """Re-send what a dropped socket held (compensations re-send their own)."""
        for key in list(instance.in_flight):
            if self.compensator.connection_lost(instance, key):
                continue
            lost = self.dispatcher.lost(instance, key)
            if lost is not None:
                self._attempt_failed(*lost[:2], "connection_lost", lost[2])
        instance.in_flight.clear()

    def answer_too_large(self, instance: Instance, limit: int) -> None:
        """The websocket layer closed ``instance``'s socket for a too-large frame (1009)."""
        failed = self.dispatcher.too_large(instance, limit)
        if failed is not None:
            run, step, error = failed
            self.feed(run, StepFailed(step, error, now()))

    def _timed_out(self, run: Run, step: StepState, attempt: int) -> None:
        step.timer = None
        if run.finishing or step.status != StepStatus.RUNNING or step.attempts != attempt:
            return
        timeout = self.policy_for(run, step).timeout
        error = f"no answer within {timeout:g} s (attempt {attempt})"
        self._attempt_failed(run, step, "timeout", error)

    def _attempt_failed(self, run: Run, step: StepState, kind: str, error: str):
        return self.feed(run, AttemptFailed(step, kind, error, self.policy_for(run, step), now()))

    def _arm_approval_timeout(self, run: Run, step: StepState) -> None:
        """Reject the step when no decision comes in time (``gates.seconds_left``)."""
        left = gates.seconds_left(run, step, now())
        if left is None:
            return
        seconds = float(run.options["approvalTimeoutSeconds"])
        step.timer = asyncio.get_running_loop().call_later(
            left,
            lambda: (
                step.status == StepStatus.AWAITING_APPROVAL
                and not run.finishing
                and self.reject(run, step, f"no decision within {seconds:g} s", "timeout")
            ),
        )

    def approve(
        self, run: Run, step: StepState, edited: dict[str, Any] | None, by: str, comment: str | None
    ) -> asyncio.Future[None]:
        """Run a step that waits for approval (with ``edited`` as its input, if given)."""
        return self.feed(run, table.Approved(step, edited, by, comment, now()))

    def reject(self, run: Run, step: StepState, reason: str, by: str) -> asyncio.Future[None]:
        """Fail a step that waits for approval; the run re-plans or fails as for any failure."""
        return self.feed(run, table.Rejected(step, reason, by, now()))

    def cancel(self, run: Run, reason: str | None, compensate: bool = True):
        """Stop ``run`` at the caller's request; returns the commit future."""
        return self.feed(run, table.Cancelled(reason, compensate))

    # -- the driver --------------------------------------------------------------------------
    def feed(self, run: Run, event: Event) -> asyncio.Future[None]:
        """Apply ``event`` to ``run`` (the table) and carry out what it calls for."""
        step: StepState | None = getattr(event, "step", None)
        if step is None:
            return self._apply(run, table.apply(run, event))
        key = (step.service_id or "", step.idempotency_key or "")
        if type(event) in table.ENDS_ATTEMPT:
            self.dispatcher.stop_attempt(step)
        transition = table.apply(run, event)
        if step.status == StepStatus.FAILED or step.idempotency_key != key[1]:
            self.dispatcher.pending.pop(key, None)  # no answer under the old key counts
        if transition.late:
            self.compensator.late_completion(run, step)
        return self._apply(run, transition)

    def _apply(self, run: Run, transition: Transition) -> asyncio.Future[None]:
        """Carry out ``transition``: one commit for its changes (and the run's end, if any)."""
        replanning.settle(run, transition, self.replanner is not None)
        if transition.ending is None and not run.finishing and not run.replanning:
            transition.changes += self.dispatcher.claim(run, transition.ready)  # in this commit
        if transition.webhook is not None and self.outbox is not None:
            transition.changes[0].deliveries = self.outbox.new(
                run.project_id, run.id, transition.webhook[0], run.webhooks, transition.webhook[1]
            )
        if transition.ending is not None and not run.finishing:
            committed = self._finish(run, transition.ending, transition.changes)
        elif transition.changes:
            committed = self.store.record(transition.changes)
        else:
            committed = _done()
        committed.add_done_callback(_log_failure)
        if transition.webhook is not None and transition.changes[0].deliveries:
            deliveries = transition.changes[0].deliveries
            committed.add_done_callback(lambda _f: self.outbox.schedule(deliveries))
        self.dispatcher.counted(transition.ready, committed)
        for step in transition.ready:  # a gated step shows its wait once what readied it is on disk
            after = committed if step.approval == "required" else None
            self._spawn(self._dispatch(run, step, after=after))
        if transition.retry is not None:
            self._spawn(self._dispatch(run, *transition.retry))
        if transition.awaits is not None:
            self._arm_approval_timeout(run, transition.awaits)
        if transition.replan:
            self._replan_when_quiet(run, committed)
        return committed

    async def _dispatch(self, run: Run, step: StepState, delay: float = 0.0, after=None) -> None:
        """Send ``step``, applying what the dispatcher reports as it happens."""
        async with aclosing(self.dispatcher.dispatch(run, step, delay, after)) as outcomes:
            async for outcome in outcomes:
                if isinstance(outcome, Sent):  # the attempt's deadline
                    step.timer = asyncio.get_running_loop().call_later(
                        self.policy_for(run, step).timeout,
                        self._timed_out,
                        run,
                        step,
                        step.attempts,
                    )
                else:
                    self.feed(run, outcome)

    # -- re-planning -------------------------------------------------------------------------
    def _replan_when_quiet(self, run: Run, committed: asyncio.Future[None]) -> None:
        """Plan the remainder once no step is running (their outputs become facts too)."""
        if run.replan_pending or any(s.status == StepStatus.RUNNING for s in run.steps.values()):
            return
        run.replan_pending = True
        self._spawn(self._replan(run, committed))

    async def _replan(self, run: Run, committed: asyncio.Future[None]) -> None:
        # the failure is on disk first: a crash while planning re-plans, never re-runs the step
        with contextlib.suppress(Exception):  # (a failed write is logged where it failed)
            await asyncio.shield(committed)
        failed = [s for s in run.steps.values() if s.status == StepStatus.FAILED]
        assert self.replanner is not None
        try:
            outcome = await self.replanner(run, {s.service_id for s in failed if s.service_id})
        except Exception as exc:  # the planner broke: the run fails as it would have
            log.exception("re-planning %s failed", run.id)
            outcome = f"the planner failed: {type(exc).__name__}: {exc}"
        run.replan_pending = False
        if run.finishing:  # cancelled meanwhile
            return
        if isinstance(outcome, str):
            self.feed(run, table.ReplanFailed(outcome, now()))
            return
        for step in run.steps.values():
            if step.status != StepStatus.COMPLETED:
                self.dispatcher.stop_attempt(step)
                self.dispatcher.forget(step)
        revision = replanning.revision_record(outcome.revision, failed)
        self.feed(run, table.Revised(outcome.plan, outcome.added, revision, now()))

    def _finish(self, run: Run, ending: Ending, first: list[Change]) -> asyncio.Future[None]:
        """End ``run``, with the compensations and webhook deliveries its outcome calls for,
        all in the commit of the change that ended it."""
        end = table.apply(run, table.Ended(ending, now()))
        for step in end.stopped:
            self.dispatcher.stop_attempt(step)
        changes = [*first, *end.changes]
        if ending.compensation is not None:
            run.compensations = self.compensator.plan(run, *ending.compensation)
            if run.compensations:
                changes.append(self.compensator.scheduled(run))
        end.changes[0].deliveries = self._deliveries(run, ending.status)
        committed = self.store.record(changes)
        self._spawn(
            self._finalise(run, ending.status, committed, end.changes[0].deliveries, end.stopped)
        )
        return committed

    def _deliveries(self, run: Run, status: OrchestrationStatus) -> list[Any]:
        if not run.webhooks or self.outbox is None:
            return []
        return self.outbox.new(
            run.project_id, run.id, "orchestration", run.webhooks, run.body(status)
        )

    async def _finalise(
        self,
        run: Run,
        status: OrchestrationStatus,
        committed: asyncio.Future[None],
        deliveries: list[Any],
        stopped: list[StepState],
    ) -> None:
        """The terminal status becomes visible only once it is on disk."""
        try:
            await committed
        except Exception as exc:  # the store refused the end: the next start resumes the run
            log.error("the end of %s (%s) was not recorded (%s)", run.id, status, exc)
            self.runs.pop(run.id, None)  # no longer counted live; waiters read the store
            run.done.set()
            return
        run.status = status
        run.done.set()
        self.runs.pop(run.id, None)
        self._remember(run)
        if deliveries:
            self.outbox.schedule(deliveries)
        for step in stopped:
            reason = f"the orchestration ended {status}"
            await self.dispatcher.tell_to_stop(step, reason, self.policy_for(run, step).timeout)
        if run.compensations:
            self.compensator.start(run)
        await self._notify(run)

    # -- reading and waiting -----------------------------------------------------------------
    def _remember(self, run: Run) -> None:
        """``run``'s end has committed: keep it whole only until reads of the store show it."""
        self.finished.ended(run, self.store.projected())

    def lookup(self, orchestration_id: str) -> Run | None:
        """A run in flight, or one whose end the store cannot show yet (None: read the store)."""
        return self.runs.get(orchestration_id) or self.finished.run(orchestration_id)

    def summary(self, orchestration_id: str) -> Run | Summary | None:
        """Whose it is and its status, from memory when it is live or ended recently (None:
        ask the store); never loads a result."""
        return self.lookup(orchestration_id) or self.finished.summary(orchestration_id)

    async def wait(self, orchestration_id: str, timeout: float) -> None:
        run = self.runs.get(orchestration_id)
        if run is not None and run.status not in TERMINAL:
            try:
                await asyncio.wait_for(run.done.wait(), timeout)
            except TimeoutError:
                pass

    async def _notify(self, run: Run) -> None:
        for callback in self.on_finished:
            try:
                await callback(run)
            except Exception:
                log.exception("finished-callback failed for %s", run.id)

    def _spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def shutdown(self) -> None:
        for task in list(self._background):
            task.cancel()
        for run in self.runs.values():
            for step in run.steps.values():
                if step.timer is not None:
                    step.timer.cancel()


def _done() -> asyncio.Future[None]:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future
