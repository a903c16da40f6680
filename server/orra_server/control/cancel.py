"""Cancel: stop a run — no new step starts, running ones are told, completed revertible ones
are undone (unless the caller says not to). Only a pending, running or paused run can be."""

from __future__ import annotations

from dataclasses import dataclass

from orra_sdk.vocabulary import TERMINAL

from ..core.errors import Conflict
from ..engine import Run
from .forwarding import forward, owned_elsewhere
from .lookup import orchestration
from .runtime import Runtime

__all__ = ["Cancel", "cancel"]


@dataclass(frozen=True, slots=True)
class Cancel:
    project_id: str
    orchestration_id: str
    reason: str | None = None
    #: undo the completed steps of revertible services (as a failure would)
    compensate: bool = True


async def cancel(runtime: Runtime, command: Cancel) -> Run:
    """The live run, being cancelled (its answer shows CANCELLED)."""
    orchestration_id = command.orchestration_id
    run = orchestration(runtime, command.project_id, orchestration_id)
    live = runtime.engine.runs.get(orchestration_id)
    if live is None and owned_elsewhere(runtime, run):
        body = {"reason": command.reason, "compensate": command.compensate}
        return await forward(runtime, run, "cancel", body, lambda r: r.status in TERMINAL)
    if live is None or live.finishing:
        status = "ending" if live is not None else run.status
        raise Conflict(
            f"orchestration '{orchestration_id}' is already {status}; only a pending, running "
            "or paused orchestration can be cancelled",
            code="orchestration_finished",
        )
    await runtime.engine.cancel(live, command.reason, command.compensate)
    return live
