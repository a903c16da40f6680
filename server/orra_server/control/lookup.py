"""Get: one orchestration of a project, live from the engine or rebuilt from the store, and its
plan's story (who made it, the repair rounds, the LLM calls).

Tenancy is checked here once for every use case that names an orchestration: another
project's orchestration is a 404 like a missing one (ids are not secrets, keys are).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import Any

from orra_sdk.vocabulary import ENDING_EVENTS, EventKind, OrchestrationStatus

from ..core.errors import NotFound
from ..engine import TERMINAL, Run, run_from_rows
from .runtime import Runtime

log = logging.getLogger("orra.api")

__all__ = [
    "GetOrchestration",
    "check_orchestration",
    "get_orchestration",
    "orchestration",
    "plan_of",
    "owned_elsewhere",
]


@dataclass(frozen=True, slots=True)
class GetOrchestration:
    project_id: str
    orchestration_id: str
    #: seconds to wait for it to end (0: answer now)
    wait: float = 0


def orchestration(
    runtime: Runtime, project_id: str, orchestration_id: str, *, encoded: bool = False
) -> Run:
    """The project's orchestration, live or from the store; 404 when it has none by that
    id (another project's orchestration included: ids are not secrets, keys are).
    ``encoded``: for a response only — a stored run's large result, inputs and outputs
    stay JSON (``orjson.Fragment``)."""
    run = runtime.engine.lookup(orchestration_id)
    if run is None:
        try:
            run = _stored(runtime, orchestration_id, encoded=encoded)
        except Exception as exc:  # rows an older version wrote that today's rules refuse
            noted = runtime.salvage_noted
            if orchestration_id not in noted and len(noted) < 1000:
                noted.add(orchestration_id)  # once per run, not per read
                log.warning(
                    "orchestration %s is shown as far as its rows can be read (%s: %s)",
                    orchestration_id,
                    type(exc).__name__,
                    str(exc)[:200],
                )
            run = _salvaged(runtime, orchestration_id)
    if run is None or run.project_id != project_id:
        raise NotFound(
            f"no orchestration '{orchestration_id}' in this project",
            code="orchestration_not_found",
        )
    return run


def _stored(runtime: Runtime, orchestration_id: str, *, encoded: bool) -> Run | None:
    store = runtime.store
    row = store.orchestration(orchestration_id, encoded=encoded)
    if row is None:
        return None
    run = run_from_rows(
        row,
        store.steps_of(orchestration_id, encoded=encoded),
        store.compensations_of(orchestration_id),
    )
    if run.replaced:
        run.revisions = store.revisions_of(orchestration_id)
    return run


def _salvaged(runtime: Runtime, orchestration_id: str) -> Run | None:
    """What can be read of a run whose rows do not rebuild: JSON that does not decode is
    None, a dependency on a missing step is left out; failing that, the run without
    steps. A read never answers 500 for what is on disk."""
    row, steps = runtime.store.salvage(orchestration_id)
    if row is None:
        return None
    try:
        compensations = runtime.store.compensations_of(orchestration_id)
        return run_from_rows(row, steps, compensations, strict=False)
    except Exception:
        return run_from_rows(replace(row, plan=None), [], strict=False)


def check_orchestration(runtime: Runtime, project_id: str, orchestration_id: str) -> None:
    """404 as :func:`orchestration` does, without loading a finished run's data when the
    engine still has its summary."""
    known = runtime.engine.summary(orchestration_id)
    if known is None or known.project_id != project_id:
        orchestration(runtime, project_id, orchestration_id)


async def get_orchestration(runtime: Runtime, command: GetOrchestration) -> Run:
    """The orchestration for an answer (large stored values stay encoded), after waiting up
    to ``command.wait`` seconds for it to end."""
    project_id, orchestration_id = command.project_id, command.orchestration_id
    run = orchestration(runtime, project_id, orchestration_id, encoded=True)
    if command.wait and run.status not in TERMINAL:
        if owned_elsewhere(runtime, run):
            await _end_elsewhere(runtime, run, command.wait)
        else:
            await runtime.engine.wait(orchestration_id, command.wait)
        run = orchestration(runtime, project_id, orchestration_id, encoded=True)
    return run


def owned_elsewhere(runtime: Runtime, run: Run) -> bool:
    """Whether ``run`` is unfinished and live on another replica, not here."""
    return (
        runtime.cluster is not None
        and run.id not in runtime.engine.runs
        and run.status not in TERMINAL
    )


async def _end_elsewhere(runtime: Runtime, run: Run, timeout: float) -> None:
    """Until a run another replica owns ends (its events reach this replica as they commit),
    or ``timeout`` seconds: a long poll that reaches any replica waits like one at the owner."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    with runtime.events.watch(run.id) as committed:
        # it may have ended between the read above and the watch: read once more
        if orchestration(runtime, run.project_id, run.id).status in TERMINAL:
            return
        while (left := deadline - loop.time()) > 0:
            try:
                event = await asyncio.wait_for(committed.get(), left)
            except TimeoutError:
                return
            if event.type in ENDING_EVENTS:
                return


async def plan_of(runtime: Runtime, project_id: str, orchestration_id: str) -> dict[str, Any]:
    """The plan, who made it, each repair round's errors and reasoning, and the LLM calls."""
    run = orchestration(runtime, project_id, orchestration_id)
    provenance = run.provenance
    calls: list[dict[str, Any]] = []
    cache: str | None = None
    for event in await asyncio.to_thread(runtime.store.events_of, orchestration_id):
        kind = event.type
        if kind == EventKind.LLM_CALL:
            calls.append(event.payload)
        elif kind.startswith("plan_cache_"):
            cache = kind.removeprefix("plan_cache_")
        elif kind in (EventKind.PLAN_MADE, EventKind.PLAN_FAILED) and provenance is None:
            provenance = event.payload["provenance"]
    provenance = provenance or {}
    return {
        "executionId": run.id,
        "status": run.status,
        "plan": run.plan,
        "source": provenance.get("source"),
        "model": provenance.get("model"),
        "repairRounds": provenance.get("repairRounds", 0),
        "cache": cache or provenance.get("cache"),
        "provenance": provenance,
        "llmCalls": calls,
        "error": run.error if run.status == OrchestrationStatus.NOT_ACTIONABLE else None,
    }
