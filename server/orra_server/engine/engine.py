"""The event-driven scheduler: a step is dispatched the moment its last dependency has completed.

The engine is the shell around ``transitions.py``: it turns what services send into calls of
those pure functions and carries out what they return — records the changes through the
group-commit writer, dispatches ready steps (``dispatch.py``), schedules retries, ends runs.
A step result's dependents are counted (``step_dispatched``) in its commit and sent once it is
on disk; the service's ACK waits for the commit too (the websocket layer awaits the future
returned here). See
docs/reliability.md for the failure kinds and what each one does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..core.ids import now
from ..core.statuses import OrchestrationStatus, StepStatus
from ..services.connections import Instance, ServiceHub
from ..settings import Settings
from ..store import Change, StoreBackend, StoredService
from . import recovery, transitions
from .admission_counts import LiveRuns
from .compensation import Compensator
from .compensation import log_failure as _log_failure
from .dispatch import Dispatcher
from .finished import FinishedRuns, Summary
from .policy import RetryPolicy, resolve_policy
from .run import TERMINAL, Run, StepState, run_from_rows
from .transitions import Ending, Transition, idempotency_key

__all__ = ["Engine", "idempotency_key", "run_from_rows"]

log = logging.getLogger("orra.engine")

FinishedCallback = Callable[[Run], Awaitable[None]]
ServiceLookup = Callable[[str], StoredService | None]
#: (run, service ids to leave out) → a RemainderPlan (adaptation.py), or why there is none
Replanner = Callable[[Run, set[str]], Awaitable[Any]]

#: re-planning rounds a run may have unless its options say otherwise
DEFAULT_MAX_REPLANS = 2


class Engine:
    def __init__(
        self,
        store: StoreBackend,
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
        self.dispatcher = Dispatcher(
            store,
            hub,
            settings,
            policy_for=self.policy_for,
            fail=self._fail_step,
            attempt_failed=self._attempt_failed,
            pause_changed=lambda run: self._apply(run, transitions.pause_changed(run, now())),
            await_approval=self._await_approval,
            compensation_lost=lambda instance, key: self.compensator.connection_lost(instance, key),
        )
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
        hub.on_instance_lost = self.dispatcher.instance_lost
        #: the websocket layer calls it when it closed a socket for a too-large frame (1009)
        self.answer_too_large = self.dispatcher.answer_too_large

    def policy_for(self, run: Run, step: StepState) -> RetryPolicy:
        service = self.services(step.service_id) if step.service_id else None
        return resolve_policy(self.defaults, service.policy if service else None, run.options)

    # -- starting ----------------------------------------------------------------------------
    async def accept(self, run: Run, planning: list[Change] = ()) -> None:  # type: ignore[assignment]
        """Record the run (and how its plan was made) durably, then start it; the first
        steps' dispatches are counted in the same commit."""
        started = transitions.accepted(run)
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
        change = transitions.not_actionable(run, reason)
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
                self._apply(run, transitions.unrecoverable(run, reason, now()))
        except Exception as again:  # not even that: left as it is, the start goes on
            self.runs.pop(item.id, None)
            log.error("orchestration %s could not be ended: %s", item.id, recovery.describe(again))

    # -- answers from services ---------------------------------------------------------------
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
        self.dispatcher.stop_attempt(step)
        if payload.get("error"):
            error = str(payload["error"])
            if run.finishing:
                late = Change(run.id, "step_failed_late", now(), {"error": error}, step.id)
                return self.store.record([late])
            if error.startswith(transitions.NOT_RETRYABLE):
                return self._fail_step(run, step, error)
            return self._attempt_failed(run, step, "service_error", error)
        done = transitions.completed(run, step, payload.get("result"), now())
        if step.start_time is not None and step.end_time is not None:
            took = (step.end_time - step.start_time).total_seconds()
            previous = self.step_seconds.get(step.service_id, took)
            self.step_seconds[step.service_id] = 0.8 * previous + 0.2 * took
        if done.late:
            self.compensator.late_completion(run, step)
        return self._apply(run, done)

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
        entry = self.dispatcher.pending.pop(
            (instance.service_id, payload.get("idempotencyKey")), None
        )
        if entry is None:
            return None
        run, step = entry
        self.dispatcher.stop_attempt(step)
        return self._apply(run, transitions.aborted(run, step, payload.get("result"), now()))

    # -- approvals ---------------------------------------------------------------------------
    def _await_approval(self, run: Run, step: StepState) -> None:
        transition = transitions.approval_requested(run, step, now())
        request = transition.changes[0]
        if run.webhooks and self.outbox is not None:
            body = {
                "type": "approval_requested",
                "executionId": run.id,
                "stepId": step.id,
                "component": step.component,
                "input": step.input,
                "action": run.action,
                "requestedAt": request.at.isoformat(),
            }
            request.deliveries = self.outbox.new(
                run.project_id, run.id, "approval_requested", run.webhooks, body
            )
        committed = self._apply(run, transition)
        if request.deliveries:
            committed.add_done_callback(lambda _f: self.outbox.schedule(request.deliveries))
        self._arm_approval_timeout(run, step)

    def _arm_approval_timeout(self, run: Run, step: StepState) -> None:
        """Reject the step when no decision comes in time, counted from when its wait began
        (so a restart neither restarts nor forgets the clock)."""
        seconds = (run.options or {}).get("approvalTimeoutSeconds")
        if seconds is None:
            return
        waited = (now() - step.waiting_since).total_seconds() if step.waiting_since else 0.0
        step.timer = asyncio.get_running_loop().call_later(
            max(0.0, float(seconds) - waited),
            lambda: (
                step.status == StepStatus.AWAITING_APPROVAL
                and not run.finishing
                and self.reject(run, step, f"no decision within {float(seconds):g} s", "timeout")
            ),
        )

    def approve(
        self, run: Run, step: StepState, edited: dict[str, Any] | None, by: str, comment: str | None
    ) -> asyncio.Future[None]:
        """Run a step that waits for approval (with ``edited`` as its input, if given)."""
        self.dispatcher.stop_attempt(step)  # its approval timeout
        return self._apply(run, transitions.approved(run, step, edited, by, comment, now()))

    def reject(self, run: Run, step: StepState, reason: str, by: str) -> asyncio.Future[None]:
        """Fail a step that waits for approval; the run re-plans or fails as for any failure."""
        self.dispatcher.stop_attempt(step)
        return self._apply(run, transitions.rejected(run, step, reason, by, now()))

    # -- failures and endings ----------------------------------------------------------------
    def _attempt_failed(self, run: Run, step: StepState, kind: str, error: str):
        self.dispatcher.stop_attempt(step)
        old_key = (step.service_id or "", step.idempotency_key or "")
        transition = transitions.attempt_failed(
            run, step, kind, error, self.policy_for(run, step), now()
        )
        if step.status == StepStatus.FAILED or step.idempotency_key != old_key[1]:
            self.dispatcher.pending.pop(old_key, None)  # no answer under the old key counts
        return self._apply(run, transition)

    def _fail_step(self, run: Run, step: StepState, error: str):
        self.dispatcher.stop_attempt(step)
        self.dispatcher.forget(step)
        return self._apply(run, transitions.failed(run, step, error, now()))

    def cancel(self, run: Run, reason: str | None, compensate: bool = True):
        """Stop ``run`` at the caller's request; returns the commit future."""
        return self._apply(run, transitions.cancelled(reason, compensate))

    def _apply(self, run: Run, transition: Transition) -> asyncio.Future[None]:
        """Carry out ``transition``: one commit for its changes (and the run's end, if any)."""
        ending = transition.ending
        if ending is not None and ending.replannable and not run.finishing:
            if self._may_replan(run):
                run.failures.append(ending.error or "a step failed")
                run.replanning = True
                transition.ending = None
            elif run.revisions:  # re-planned before, not again: say so in the error
                ending.error = "; ".join([*run.failures, ending.error or ""]) + (
                    f" (the plan was revised {len(run.revisions)} time(s), the most allowed)"
                )
        if run.replanning:  # the remainder's plan decides what runs next
            transition.ready, transition.retry = [], None
        elif transition.ending is None and not run.finishing:  # counted in this commit
            transition.changes += self.dispatcher.claim(run, transition.ready)
        if transition.ending is not None and not run.finishing:
            committed = self._finish(run, transition.ending, transition.changes)
        elif transition.changes:
            committed = self.store.record(transition.changes)
        else:
            committed = _done()
        committed.add_done_callback(_log_failure)
        self.dispatcher.counted(transition.ready, committed)
        for step in transition.ready:  # a gated step shows its wait once what readied it is on disk
            after = committed if step.approval == "required" else None
            self._spawn(self.dispatcher.dispatch(run, step, after=after))
        if transition.retry is not None:
            self._spawn(self.dispatcher.dispatch(run, *transition.retry))
        if run.replanning and not run.finishing:
            self._replan_when_quiet(run, committed)
        return committed

    # -- re-planning -------------------------------------------------------------------------
    def _may_replan(self, run: Run) -> bool:
        options = run.options or {}
        if self.replanner is None or options.get("replan", "auto") == "off":
            return False
        return len(run.revisions) < int(options.get("maxReplans", DEFAULT_MAX_REPLANS))

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
        excluded = {s.service_id for s in failed if s.service_id}
        assert self.replanner is not None
        try:
            outcome = await self.replanner(run, excluded)
        except Exception as exc:  # the planner broke: the run fails as it would have
            log.exception("re-planning %s failed", run.id)
            outcome = f"the planner failed: {type(exc).__name__}: {exc}"
        run.replan_pending = False
        if run.finishing:  # cancelled meanwhile
            return
        if isinstance(outcome, str):
            self._apply(run, transitions.replan_failed(run, outcome, now()))
            return
        for step in run.steps.values():
            if step.status != StepStatus.COMPLETED:
                self.dispatcher.stop_attempt(step)
                self.dispatcher.forget(step)
        reason = "; ".join(f"{s.id} ({s.component}) failed: {s.error}" for s in failed)
        first = failed[0] if failed else None
        revision = {
            **outcome.revision,
            "reason": reason,
            "failedStep": first.id if first else None,
        }
        self._apply(run, transitions.revised(run, outcome.plan, outcome.added, revision, now()))

    def _finish(self, run: Run, ending: Ending, first: list[Change]) -> asyncio.Future[None]:
        """End ``run``, with the compensations and webhook deliveries its outcome calls for,
        all in the commit of the change that ended it."""
        change, stopped = transitions.ended(run, ending, now())
        for step in stopped:
            self.dispatcher.stop_attempt(step)
        changes = [*first, change]
        if ending.compensation is not None:
            run.compensations = self.compensator.plan(run, *ending.compensation)
            if run.compensations:
                changes.append(self.compensator.scheduled(run))
        change.deliveries = self._deliveries(run, ending.status)
        committed = self.store.record(changes)
        self._spawn(self._finalise(run, ending.status, committed, change.deliveries, stopped))
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
            await self.dispatcher.tell_to_stop(run, step, f"the orchestration ended {status}")
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
