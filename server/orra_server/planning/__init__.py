"""Planning: turn an action into a validated plan (see README.md beside this file)."""

from .base import PlanningRequest, PlanOutcome
from .grounding_spec import GroundingMatch, GroundingSpec, match_use_case
from .pipeline import PlanMaker, PlanResult
from .plan import Plan, PlanStep, execution_levels, references_in
from .schema_flow import SchemaFlowPlanner
from .service import PlannedService, ServiceSpec
from .validator import RULES, PlanError, validate_plan

__all__ = [
    "RULES",
    "GroundingMatch",
    "GroundingSpec",
    "Plan",
    "PlanMaker",
    "PlanResult",
    "PlanError",
    "PlanOutcome",
    "PlanStep",
    "PlannedService",
    "PlanningRequest",
    "SchemaFlowPlanner",
    "ServiceSpec",
    "execution_levels",
    "match_use_case",
    "references_in",
    "validate_plan",
]
