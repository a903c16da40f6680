"""A re-run's start: the steps it reuses take the recorded outputs of the run it forks.

A pure transition like those of :mod:`.transitions` (state in, the changes to record out);
kept apart while that module is restructured into one table.
"""

from __future__ import annotations

from datetime import datetime

from orra_sdk.vocabulary import EventKind, StepStatus

from ..store import Change
from .run import Run, StepState

__all__ = ["forked"]


def forked(
    run: Run,
    parent: Run,
    from_step: str | None,
    reused: list[str],
    recorded: dict[str, StepState],
    at: datetime,
) -> list[Change]:
    """Mark each of ``reused`` COMPLETED with its ``recorded`` input and output; the events
    that say so (``rerun_of``, then a ``step_reused`` a step), to accept the run with."""
    events = [
        Change(
            run.id,
            EventKind.RERUN_OF,
            at,
            {"parentId": parent.id, "fromStep": from_step, "reused": reused},
        )
    ]
    for step_id in reused:
        step, old = run.steps[step_id], recorded[step_id]
        step.status = StepStatus.COMPLETED
        step.input, step.output = old.input, old.output
        step.start_time = step.end_time = at
        step.approval = None  # decided in the run it comes from
        events.append(
            Change(
                run.id,
                EventKind.STEP_REUSED,
                at,
                {"from": parent.id, "output": old.output},
                step_id,
            )
        )
    return events
