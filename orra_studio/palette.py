"""The colour of each status, shared by the notebook's HTML and the web studio."""

from __future__ import annotations

from orra_sdk.vocabulary import DrawnState, OrchestrationStatus, StepStatus

__all__ = ["NEUTRAL", "colour_of"]

#: anything not listed: pending, skipped, unknown
NEUTRAL = "#6e7781"

_COLOURS: dict[str, str] = {
    OrchestrationStatus.COMPLETED: "#1a7f37",
    OrchestrationStatus.FAILED: "#cf222e",
    OrchestrationStatus.ABORTED: "#82071e",  # stopped by the engine: a darker red
    OrchestrationStatus.CANCELLED: "#bc4c00",
    OrchestrationStatus.NOT_ACTIONABLE: "#bf3989",  # nothing ran: not a failure's red
    OrchestrationStatus.RUNNING: "#0969da",
    OrchestrationStatus.PAUSED: "#8250df",
    StepStatus.RETRYING: "#8250df",
    StepStatus.AWAITING_APPROVAL: "#9a6700",  # (also the orchestration's)
    DrawnState.INVALID: "#cf222e",  # a step the validator refused, in a plan being edited
    "online": "#1a7f37",  # a service with an instance connected (offline: neutral)
}


def colour_of(status: str | None) -> str:
    return _COLOURS.get(status or "", NEUTRAL)
