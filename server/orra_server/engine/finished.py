"""What the engine keeps of runs that ended: small summaries, never their data.

A run's inputs, outputs and result can be megabytes each; keeping thousands of finished runs
whole made the control plane's memory follow the size of results (issue 24). So a finished
run stays whole only until the store's current-state tables show its end (the next
projection batch, ≤ 200 ms: ``Store.projected()``); reads in that window get the run itself,
later ones read the store. After that only a :class:`Summary` is kept, enough to say whose
it is and how it ended without touching the disk.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from dataclasses import dataclass
from datetime import datetime

from orra_sdk.vocabulary import OrchestrationStatus

from .run import Run

__all__ = ["FinishedRuns", "Summary"]


@dataclass(frozen=True, slots=True)
class Summary:
    """A finished run without its data (ids, status, times, counts)."""

    id: str
    project_id: str
    status: OrchestrationStatus
    created_at: datetime
    start_time: datetime | None
    end_time: datetime | None
    steps: int
    completed: int

    @classmethod
    def of(cls, run: Run) -> Summary:
        return cls(
            id=run.id,
            project_id=run.project_id,
            status=OrchestrationStatus(run.status),
            created_at=run.created_at,
            start_time=run.start_time,
            end_time=run.end_time,
            steps=len(run.steps),
            completed=run.completed,
        )


class FinishedRuns:
    """Runs that ended: whole until their end is readable from the store, then summaries (the
    ``limit`` most recent; older ones only in the store)."""

    def __init__(self, limit: int = 20_000) -> None:
        self.limit = limit
        #: ended and committed, not yet in the current-state tables: reads need the run itself
        self._unprojected: dict[str, Run] = {}
        self._summaries: collections.OrderedDict[str, Summary] = collections.OrderedDict()

    def ended(self, run: Run, projected: asyncio.Future[None]) -> None:
        """``run``'s end has committed; ``projected`` resolves once reads of the store show it."""
        self._unprojected[run.id] = run
        self._summaries[run.id] = Summary.of(run)
        self._summaries.move_to_end(run.id)
        while len(self._summaries) > self.limit:
            self._summaries.popitem(last=False)
        projected.add_done_callback(lambda future: self._projected(run, future))

    def _projected(self, run: Run, future: asyncio.Future[None]) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            future.exception()  # retrieved: a failed write is logged where it failed
        if self._unprojected.get(run.id) is run:
            del self._unprojected[run.id]

    def run(self, orchestration_id: str) -> Run | None:
        """The whole run while the store cannot show its end yet (None: read the store)."""
        return self._unprojected.get(orchestration_id)

    def summary(self, orchestration_id: str) -> Summary | None:
        return self._summaries.get(orchestration_id)

    def __len__(self) -> int:
        return len(self._summaries)
