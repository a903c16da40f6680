"""What every planner receives and returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .grounding_spec import GroundingMatch
from .plan import Plan
from .service import PlannedService

__all__ = ["PlanOutcome", "PlanningRequest"]


@dataclass(slots=True)
class PlanningRequest:
    action: dict[str, Any]  # {"type": ..., "content": ...}
    data: dict[str, Any]  # field -> value
    services: Sequence[PlannedService]
    #: the grounding use case the action matched, if any
    grounding: GroundingMatch | None = None
    #: output fields the plan must produce (re-planning a remainder: what the unfinished
    #: ends of the old plan were to deliver); empty for a fresh plan
    goal: tuple[str, ...] = ()


@dataclass(slots=True)
class PlanOutcome:
    plan: Plan | None
    #: why no plan could be made (the orchestration ends NOT_ACTIONABLE with this reason)
    reason: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
