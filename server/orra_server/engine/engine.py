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
import logging
from collections.abc import Callable
from contextlib import aclosing
from typing import Any

from orra_sdk.vocabulary import ApprovalStatus, StepStatus

from ..core.background import Background
from ..core.ids import now
from ..services.connections import Instance, ServiceHub
from ..settings import Settings
from ..store import Change, StoreBackend
from . import gates, recovery, replanning, table
from .admission_counts import LiveRuns
from .answers import Answers, Reply
from .compensation import Compensator
from .compensation import log_failure as _log_failure
from .dispatch import Dispatcher, Sent
from .endings import Endings
from .finished import FinishedRuns, Summary
from .policy import RetryPolicy, resolve_policy
from .run import TERMINAL, Run, StepState, run_from_rows
from .table import Event
from .transitions import Transition, idempotency_key

__all__ = ["Engine", "idempotency_key", "run_from_rows"]

log = logging.getLogger("orra.engine")


class Engine:
    def __init__(
        self,
        store: StoreBackend,
        hub: ServiceHub,
        settings: Settings,
        *,
        services: Callable[[str], dict[str, Any] | None] | None = None,
        outbox: Any = None,
        compensation_webhooks_of: Callable[[str], list[str]] | None = None,
        replanner: replanning.PlanRemainder | None = None,
    ) -> None:
        self.store = store
        self.hub = hub
        self.settings = settings
        #: service id -> its registration (revertible, policy); None when unknown
        self.services = services or (lambda _id: None)
        self.outbox = outbox
        self.compensation_webhooks_of = compensation_webhooks_of or (lambda _p: [])
        #: plans the remainder of a run whose step failed for good (None: never re-plan)
        self.replanner = replanner
        self.defaults = RetryPolicy.defaults(settings)
        #: unfinished runs, counted per project for admission (admission_counts.py)
        self.runs = LiveRuns()
        #: runs that ended: whole until the store shows their end, then summaries only
        self.finished = FinishedRuns()
        self._background = Background()
        self._spawn = self._background.spawn
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
        self.endings = Endings(
            store,
            self.dispatcher,
            self.compensator,
            outbox,
            self.runs,
            self.finished,
            self.policy_for,
            self._spawn,
        )
        self.answers = Answers(store, hub, self.dispatcher, self.compensator, self.policy_for)
        #: measured step duration per service id (seconds, moving average) for estimates
        self.step_seconds = self.answers.step_seconds
        self.on_task_status = self.answers.task_status  # (they only record)
        self.on_interim_result = self.answers.interim_result
        #: called with each run once its end has committed
        self.on_finished = self.endings.on_finished
        hub.on_instance_lost = self._instance_lost

    def policy_for(self, run: Run, step: StepState) -> RetryPolicy:
        service = self.services(step.service_id) if step.service_id else None
        return resolve_policy(self.defaults, service.policy if service else None, run.options)

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

    async def record_not_actionable(self, run: Run, reason: str, planning=()) -> None:
        """A run for which no plan could be made: it ends as it is recorded."""
        await self.endings.not_actionable(run, reason, list(planning))

    def resume_unfinished(self) -> int:
        """Start every orchestration the store says was in flight (``recovery.py``: each on its
        own; one that cannot be resumed ends FAILED with the reason). Call inside the loop."""
        end = lambda run, reason: self.feed(run, table.Unrecoverable(reason, now()))  # noqa: E731
        count = recovery.resume_all(self.store, self.runs, self.policy_for, self._resumed, end)
        self.compensator.resume()
        return count

    def _resumed(self, run: Run, transition: Transition) -> None:
        self._apply(run, transition)
        for step in run.steps.values():
            if step.status == StepStatus.AWAITING_APPROVAL:
                self._arm_approval_timeout(run, step)  # what is left of it

    # -- answers from services, timers and people ------------------------------------------
    def on_task_result(self, instance: Instance, payload: dict[str, Any]):
        """Record a ``task_result``; returns the commit future to await before the ACK."""
        return self._reply(self.answers.task_result(instance, payload))

    def on_abort_result(self, instance: Instance, payload: dict[str, Any]):
        return self._reply(self.answers.abort_result(instance, payload))

    def answer_too_large(self, instance: Instance, limit: int) -> None:
        """The websocket layer closed ``instance``'s socket for a too-large frame (1009)."""
        self._reply(self.answers.too_large(instance, limit))

    def _instance_lost(self, instance: Instance) -> None:
        for reply in self.answers.lost(instance):
            self._reply(reply)

    def _deadline(self, run: Run, step: StepState, attempt: int) -> None:
        self._reply(self.answers.timed_out(run, step, attempt))

    def _reply(self, reply: Reply) -> asyncio.Future[None] | None:
        return self.feed(*reply) if isinstance(reply, tuple) else reply

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
        for step in transition.forgotten:
            self.dispatcher.stop_attempt(step)
            self.dispatcher.forget(step)
        if transition.ending is None and not run.finishing and not run.replanning:
            transition.changes += self.dispatcher.claim(run, transition.ready)  # in this commit
        if transition.webhook is not None and self.outbox is not None:
            transition.changes[0].deliveries = self.outbox.new(
                run.project_id, run.id, transition.webhook[0], run.webhooks, transition.webhook[1]
            )
        if transition.ending is not None and not run.finishing:
            committed = self.endings.finish(run, transition.ending, transition.changes)
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
            after = committed if step.approval == ApprovalStatus.REQUIRED else None
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
                        self.policy_for(run, step).timeout, self._deadline, run, step, step.attempts
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
        assert self.replanner is not None
        event = await replanning.ask_planner(run, self.replanner, committed)
        if event is not None:
            self.feed(run, event)

    # -- reading and waiting -----------------------------------------------------------------
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

    async def shutdown(self) -> None:
        self._background.cancel()
        for step in (s for run in self.runs.values() for s in run.steps.values() if s.timer):
            step.timer.cancel()  # type: ignore[union-attr]


def _done() -> asyncio.Future[None]:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future
