"""Planning the rest of a run whose step failed for good (re-planning).

The planners know how to plan from an action and its data; they need no special mode for a
remainder. The outputs of the completed steps become extra data fields ("facts": each output
field under its own name), the failed and offline services are left out of the services
offered, and the plan that comes back is rewritten into the run's terms:

- a reference to a fact, ``{{request.data.customerProfile}}``, becomes the reference to the
  completed step that produced it, ``{{step1.output.customerProfile}}`` (and a dependency on
  it, satisfied already), so recorded outputs are used, never recomputed;
- its steps get fresh ids after every id the run has used (``step5``…), so the old ids in
  events and in the replaced steps keep meaning what they meant.

The merged plan (the completed steps, then the new ones) is what the validator checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .plan import REFERENCE, Plan, PlanStep, execution_levels

__all__ = ["Facts", "Remainder", "facts_of", "merge_remainder", "next_step_number"]

#: ``step<n>`` with ASCII digits only (``\d`` would match ``²``, on which ``int`` raises)
_NUMBERED = re.compile(r"step([0-9]{1,18})", re.ASCII)


@dataclass(slots=True)
class Facts:
    """Completed outputs offered to the planner as data: field → (step id, output field)."""

    sources: dict[str, tuple[str, str]] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)


def facts_of(completed: list[tuple[str, Any]], data: dict[str, Any]) -> Facts:
    """Each top-level field of each completed output (in step order), unless the request's
    data or an earlier step already offers one by that name."""
    facts = Facts()
    for step_id, output in completed:
        if not isinstance(output, dict):
            continue
        for name, value in output.items():
            if name in data or name in facts.sources:
                continue
            facts.sources[name] = (step_id, name)
            facts.values[name] = value
    return facts


def next_step_number(used: list[str]) -> int:
    numbers = [int(m.group(1)) for m in map(_NUMBERED.fullmatch, used) if m]
    return max(numbers, default=0) + 1


@dataclass(slots=True)
class Remainder:
    """The merged plan and the ids of the steps that are new in it."""

    plan: Plan
    added: list[str]


def merge_remainder(
    completed: list[PlanStep], remainder: Plan, facts: Facts, used_ids: list[str]
) -> Remainder:
    """``remainder`` (planned over ``facts``) renumbered and rewritten, after ``completed``."""
    first = next_step_number(used_ids)
    renamed = {step.id: f"step{first + i}" for i, step in enumerate(remainder.steps)}

    def rewrite(value: Any, needs: set[str]) -> Any:
        if isinstance(value, str):

            def substitute(match: re.Match[str]) -> str:
                root, path = match.group(1), match.group(2)
                parts = path[1:].split(".")
                if root == "request" and parts[0] == "data" and len(parts) > 1:
                    source = facts.sources.get(parts[1])
                    if source is not None:
                        needs.add(source[0])
                        rest = "".join(f".{p}" for p in parts[2:])
                        return f"{{{{{source[0]}.output.{source[1]}{rest}}}}}"
                if root in renamed:
                    return f"{{{{{renamed[root]}{path}}}}}"
                return match.group(0)

            return REFERENCE.sub(substitute, value)
        if isinstance(value, dict):
            return {k: rewrite(v, needs) for k, v in value.items()}
        if isinstance(value, list):
            return [rewrite(v, needs) for v in value]
        return value

    added: list[PlanStep] = []
    for step in remainder.steps:
        needs: set[str] = set()
        new_input = rewrite(step.input, needs)
        dependencies = [renamed.get(d, d) for d in step.dependencies]
        dependencies += sorted(needs - set(dependencies))
        added.append(
            step.model_copy(
                update={"id": renamed[step.id], "input": new_input, "dependencies": dependencies}
            )
        )
    steps = [*completed, *added]
    plan = Plan(steps=steps, parallelExecutionGroups=execution_levels(steps))
    return Remainder(plan, [s.id for s in added])
