"""How many unfinished runs each project holds in memory, and how many bytes of request data.

Every run the engine has accepted stays in memory with its data until it ends; a key that
starts thousands of runs that wait (for approval, for a service that never connects) would
grow the control plane's memory without bound (issue 24). :class:`LiveRuns` is the engine's
``runs`` mapping: it keeps per-project counters as runs enter and leave it (accept, recovery,
end), so the admission check costs a dictionary lookup, and a restart rebuilds the counters
by resuming the runs. A :meth:`LiveRuns.reserve` holds room for a run between the check and
its accept (planning awaits in between), so concurrent requests cannot all slip past a bound.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import orjson

from ..core.errors import TooManyRequests
from .run import Run

__all__ = ["LiveRuns", "Usage", "run_bytes"]

#: seconds a refused caller is told to wait: runs end on their own timescale, not ours
RETRY_AFTER_SECONDS = 30


def run_bytes(run: Run) -> int:
    """The bytes of request data ``run`` holds: its action, data and plan, as JSON."""
    return len(orjson.dumps((run.action, run.data, run.plan), option=orjson.OPT_NON_STR_KEYS))


@dataclass(slots=True)
class Usage:
    """One project's unfinished runs (and reservations) and their request bytes."""

    runs: int = 0
    bytes: int = 0


class LiveRuns(dict[str, Run]):
    """Run id → the run, for runs that have not ended; counts each project's use as it goes."""

    def __init__(self) -> None:
        super().__init__()
        self.usage: dict[str, Usage] = {}
        self._sizes: dict[str, int] = {}
        #: sizes measured by :meth:`reserve`, so accepting the run does not measure it again
        self._known: dict[str, int] = {}

    def __setitem__(self, run_id: str, run: Run) -> None:
        self._forget(run_id)
        super().__setitem__(run_id, run)
        size = self._sizes[run_id] = self._known.pop(run_id, None) or run_bytes(run)
        self._add(run.project_id, 1, size)

    def pop(self, run_id: str, *default: Run | None) -> Run | None:  # type: ignore[override]
        self._forget(run_id)
        return super().pop(run_id, *default)

    def __delitem__(self, run_id: str) -> None:
        self._forget(run_id)
        super().__delitem__(run_id)

    def _forget(self, run_id: str) -> None:
        run = super().get(run_id)
        if run is not None:
            self._add(run.project_id, -1, -self._sizes.pop(run_id, 0))

    def _add(self, project_id: str, runs: int, size: int) -> None:
        usage = self.usage.setdefault(project_id, Usage())
        usage.runs += runs
        usage.bytes += size
        if usage.runs <= 0 and usage.bytes <= 0:
            del self.usage[project_id]

    def check(self, project_id: str, size: int, *, max_runs: int, max_bytes: int) -> None:
        """A 429 ``too_many_unfinished`` unless one more run of ``size`` bytes fits."""
        usage = self.usage.get(project_id) or Usage()
        if usage.runs + 1 > max_runs or usage.bytes + size > max_bytes:
            raise _refusal(usage, size, max_runs, max_bytes)

    @contextlib.contextmanager
    def reserve(self, run: Run, *, max_runs: int, max_bytes: int) -> Iterator[None]:
        """Room for ``run`` while the block accepts it (then the run itself counts); a 429
        ``too_many_unfinished`` when its project is at either bound."""
        size = run_bytes(run)
        self.check(run.project_id, size, max_runs=max_runs, max_bytes=max_bytes)
        self._known[run.id] = size
        self._add(run.project_id, 1, size)
        try:
            yield
        finally:
            self._known.pop(run.id, None)
            self._add(run.project_id, -1, -size)


def _refusal(usage: Usage, size: int, max_runs: int, max_bytes: int) -> TooManyRequests:
    if usage.runs + 1 > max_runs:
        what = f"{usage.runs} unfinished orchestrations, the most it may have ({max_runs})"
    else:
        what = (
            f"{usage.bytes:,} bytes of request data in unfinished orchestrations; this one "
            f"({size:,} bytes) would pass the limit of {max_bytes:,}"
        )
    return TooManyRequests(
        f"the project holds {what}. Wait for some to end, or cancel runs that wait "
        "(POST /orchestrations/{id}/cancel; GET /approvals lists steps that wait for a person), "
        "then try again",
        code="too_many_unfinished",
        retry_after=RETRY_AFTER_SECONDS,
        details={
            "unfinished": usage.runs,
            "maxUnfinished": max_runs,
            "unfinishedBytes": usage.bytes,
            "maxUnfinishedBytes": max_bytes,
            "requestBytes": size,
        },
    )
