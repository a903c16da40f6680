"""Re-planning as pure transitions: when a step fails for good, plan the remainder instead.

A failure that would end the run (``Ending.replannable``) starts re-planning when the run may
still be revised (:func:`settle`); once no step runs, the driver asks the planner, and its answer
is either a plan of the remainder (:func:`revised`) or why there is none (:func:`replan_failed`:
the run fails as it would have). Listed in ``table.py``; tested in
``tests/test_transition_table.py``. :func:`ask_planner` is the one part with I/O: it awaits
the planner and hands its answer back as an event (it changes no state of the run's).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from orra_sdk.vocabulary import EventKind, OrchestrationStatus, StepStatus

from ..core.ids import now
from ..store import Change, StoredRevision
from .run import Run, StepState
from .transitions import Ending, Transition

__all__ = [
    "DEFAULT_MAX_REPLANS",
    "PlanRemainder",
    "ask_planner",
    "may_replan",
    "replan_failed",
    "revised",
    "revision_record",
    "settle",
]

log = logging.getLogger("orra.engine")

#: (run, service ids to leave out) → a RemainderPlan (adaptation.py), or why there is none
PlanRemainder = Callable[[Run, set[str]], Awaitable[Any]]

#: re-planning rounds a run may have unless its options say otherwise
DEFAULT_MAX_REPLANS = 2


def may_replan(run: Run, replanner_available: bool) -> bool:
    """Whether a failure of ``run`` may be answered by a plan of the remainder."""
    options = run.options or {}
    if not replanner_available or options.get("replan", "auto") == "off":
        return False
    return len(run.revisions) < int(options.get("maxReplans", DEFAULT_MAX_REPLANS))


def settle(run: Run, transition: Transition, replanner_available: bool) -> Transition:
    """Turn a failure that would end the run into re-planning when it may be revised; while
    re-planning, nothing is dispatched (the remainder's plan decides what runs next)."""
    ending = transition.ending
    if ending is not None and ending.replannable and not run.finishing:
        if may_replan(run, replanner_available):
            run.failures.append(ending.error or "a step failed")
            run.replanning = True
            transition.ending = None
        elif run.revisions:  # re-planned before, not again: say so in the error
            ending.error = "; ".join([*run.failures, ending.error or ""]) + (
                f" (the plan was revised {len(run.revisions)} time(s), the most allowed)"
            )
    if run.replanning:
        transition.ready, transition.retry = [], None
        transition.replan = not run.finishing and transition.ending is None
    return transition


def revision_record(revision: dict[str, Any], failed: list[StepState]) -> dict[str, Any]:
    """The planner's account of a revision, with the failures that called for it."""
    reason = "; ".join(f"{s.id} ({s.component}) failed: {s.error}" for s in failed)
    return {**revision, "reason": reason, "failedStep": failed[0].id if failed else None}


def revised(
    run: Run,
    plan: dict[str, Any],
    added: dict[str, StepState],
    revision: dict[str, Any],
    at: datetime,
) -> Transition:
    """A plan of the remainder replaces every step that has not completed.

    Completed steps stay (their outputs are facts the new steps may reference); the failed
    step and those that never ran move to ``run.replaced``; the new steps are inserted and the
    ones whose dependencies have all completed are ready. One commit records it all.
    """
    replaced = [s for s in run.steps.values() if s.status != StepStatus.COMPLETED]
    number = len(run.revisions) + 1
    for step in replaced:
        if step.status != StepStatus.FAILED:
            step.status = StepStatus.SKIPPED
            step.error = f"replaced by plan revision {number}"
        run.replaced[step.id] = step
        del run.steps[step.id]
    for step in run.steps.values():
        step.dependents = []
    run.steps.update(added)
    for step in added.values():
        step.remaining = 0
        for dependency in step.dependencies:
            run.steps[dependency].dependents.append(step.id)
            if run.steps[dependency].status != StepStatus.COMPLETED:
                step.remaining += 1
    old_plan, run.plan = run.plan, plan
    run.replanning = False
    entry = {
        **revision,
        "revision": number,
        "at": at.isoformat(),
        "replaced": [s.id for s in replaced],
        "added": list(added),
    }
    run.revisions.append(StoredRevision.from_payload(entry))
    payload = {**entry, "oldPlan": old_plan, "newPlan": plan}
    change = Change(
        run.id,
        EventKind.PLAN_REVISED,
        at,
        payload,
        orchestration=run,
        steps=replaced,
        new_steps=list(added.values()),
    )
    ready = [s for s in added.values() if s.remaining == 0]
    answer = Transition([change], ready=ready, forgotten=replaced)
    if run.completed == len(run.steps):  # nothing left to do (the remainder was empty)
        answer.ending = Ending(OrchestrationStatus.COMPLETED)
    return answer


def replan_failed(run: Run, reason: str, at: datetime) -> Transition:
    """No valid plan of the remainder: the run fails as it would have without re-planning,
    with every failure and re-plan attempt in its error."""
    run.replanning = False
    run.failures.append(f"re-planning: {reason}")
    failed_steps = [s for s in run.steps.values() if s.status == StepStatus.FAILED]
    first = failed_steps[0] if failed_steps else None
    context = {"stepId": first.id, "error": first.error} if first else {"error": reason}
    return Transition(
        [Change(run.id, EventKind.REPLAN_FAILED, at, {"reason": reason})],
        ending=Ending(OrchestrationStatus.FAILED, "; ".join(run.failures), ("failed", context)),
    )


async def ask_planner(run: Run, replanner: PlanRemainder, committed: asyncio.Future[None]) -> Any:
    """The planner's answer for ``run`` as an event (:class:`~.table.Revised` or
    :class:`~.table.ReplanFailed`), or None when the run was ended meanwhile."""
    from .table import ReplanFailed, Revised  # (the table lists this module's transitions)

    # the failure is on disk first: a crash while planning re-plans, never re-runs the step
    with contextlib.suppress(Exception):  # (a failed write is logged where it failed)
        await asyncio.shield(committed)
    failed = [s for s in run.steps.values() if s.status == StepStatus.FAILED]
    try:
        outcome = await replanner(run, {s.service_id for s in failed if s.service_id})
    except Exception as exc:  # the planner broke: the run fails as it would have
        log.exception("re-planning %s failed", run.id)
        outcome = f"the planner failed: {type(exc).__name__}: {exc}"
    run.replan_pending = False
    if run.finishing:  # cancelled meanwhile
        return None
    if isinstance(outcome, str):
        return ReplanFailed(outcome, now())
    revision = revision_record(outcome.revision, failed)
    return Revised(outcome.plan, outcome.added, revision, now())
