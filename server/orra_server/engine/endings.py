"""How a run ends, carried out: the effect of an :class:`~.transitions.Ending`.

The change that ends a run, the compensations its outcome calls for and its webhook
deliveries go in one commit; the terminal status becomes visible only once that commit is on
disk, then the run leaves the live runs (kept by ``finished.py`` until the store shows its
end), its stopped steps' services are told, its compensations start and the finished
callbacks run. Part of the engine's driver; the state change itself is ``transitions.ended``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from orra_sdk.vocabulary import OrchestrationStatus

from ..core.ids import now
from ..store import Change, StoreBackend
from . import table
from .admission_counts import LiveRuns
from .compensation import Compensator
from .dispatch import Dispatcher
from .finished import FinishedRuns
from .policy import RetryPolicy
from .run import Run, StepState
from .transitions import Ending

__all__ = ["Endings", "FinishedCallback"]

log = logging.getLogger("orra.engine")

FinishedCallback = Callable[[Run], Awaitable[None]]


@dataclass(eq=False)
class Endings:
    """Ends runs; what it needs is passed in, not the whole engine."""

    store: StoreBackend
    dispatcher: Dispatcher
    compensator: Compensator
    outbox: Any
    runs: LiveRuns
    finished: FinishedRuns
    policy_for: Callable[[Run, StepState], RetryPolicy]
    spawn: Callable[[Coroutine[Any, Any, Any]], None]
    #: called with each run once its end has committed
    on_finished: list[FinishedCallback] = field(default_factory=list)

    def finish(self, run: Run, ending: Ending, first: list[Change]) -> asyncio.Future[None]:
        """End ``run``, with the compensations and webhook deliveries its outcome calls for,
        all in the commit of the change that ended it (``first`` rides in it too)."""
        end = table.apply(run, table.Ended(ending, now()))
        for step in end.stopped:
            self.dispatcher.stop_attempt(step)
        changes = [*first, *end.changes]
        if ending.compensation is not None:
            run.compensations = self.compensator.plan(run, *ending.compensation)
            if run.compensations:
                changes.append(self.compensator.scheduled(run))
        deliveries = end.changes[0].deliveries = self.deliveries(run, ending.status)
        committed = self.store.record(changes)
        self.spawn(self._finalise(run, ending.status, committed, deliveries, end.stopped))
        return committed

    async def not_actionable(self, run: Run, reason: str, planning: list[Change]) -> None:
        """Record a run that ends as it is recorded (no plan could be made)."""
        [change] = table.apply(run, table.NotActionable(reason)).changes
        change.deliveries = deliveries = self.deliveries(run, run.status)
        await self.store.record([*planning, change])
        run.done.set()
        self.finished.ended(run, self.store.projected())
        if deliveries:
            self.outbox.schedule(deliveries)
        await self._notify(run)

    def deliveries(self, run: Run, status: OrchestrationStatus) -> list[Any]:
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
        self.finished.ended(run, self.store.projected())  # whole until the store shows it
        if deliveries:
            self.outbox.schedule(deliveries)
        for step in stopped:
            reason = f"the orchestration ended {status}"
            await self.dispatcher.tell_to_stop(step, reason, self.policy_for(run, step).timeout)
        if run.compensations:
            self.compensator.start(run)
        await self._notify(run)

    async def _notify(self, run: Run) -> None:
        for callback in self.on_finished:
            try:
                await callback(run)
            except Exception:
                log.exception("finished-callback failed for %s", run.id)
