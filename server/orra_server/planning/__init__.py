"""Planning: turn an action into a validated plan (see README.md beside this file)."""

from .base import Planner, PlanningRequest, PlanOutcome
from .plan import Plan, PlanStep, execution_levels, references_in
from .schema_flow import SchemaFlowPlanner
from .validator import PlanError, validate_plan

__all__ = [
    "Plan",
    "PlanError",
    "PlanOutcome",
    "PlanStep",
    "Planner",
    "PlanningRequest",
    "SchemaFlowPlanner",
    "execution_levels",
    "references_in",
    "validate_plan",
]
