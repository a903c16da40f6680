"""Approve: run a step that waits for a person, with its input as shown or as edited (checked
against its service's input schema first)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..engine import Run
from .admission import check_input
from .forwarding import forward, owned_elsewhere
from .gate import StepDecision, decided, waiting_step
from .runtime import Runtime

__all__ = ["Approve", "approve"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Approve(StepDecision):
    #: the input to run the step with instead of the one shown
    input: dict[str, Any] | None = None
    comment: str | None = None


async def approve(runtime: Runtime, command: Approve) -> Run:
    """The run, its step now approved."""
    project_id, orchestration_id, step_id = (
        command.project_id,
        command.orchestration_id,
        command.step_id,
    )
    run, step = waiting_step(runtime, project_id, orchestration_id, step_id)
    if command.input is not None:
        service = runtime.registry.cached(step.service_id or "")
        await check_input(
            command.input,
            (service.input_schema if service else None) or {},
            step_id=step_id,
            component=step.component,
            param="input",
        )
        # the check may have yielded the loop: decide only if the step still waits
        run, step = waiting_step(runtime, project_id, orchestration_id, step_id)
    if owned_elsewhere(runtime, run):
        body = {"step": step_id, "input": command.input, "by": command.by}
        body["comment"] = command.comment
        return await forward(runtime, run, "approve", body, decided(step_id))
    await runtime.engine.approve(run, step, command.input, command.by, command.comment)
    return run
