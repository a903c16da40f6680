"""One validator for every plan, whoever wrote it. Errors are data: step, field, rule, message."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import jsonschema

from ..core.jsonschemas import properties_of, required_of
from .grounding_spec import best_service_for
from .plan import Plan, PlanStep, execution_levels, follow_path, references_in
from .service import PlannedService

__all__ = ["RULES", "PlanError", "validate_plan"]


@dataclass(frozen=True, slots=True)
class PlanError:
    step: str | None
    field: str | None
    rule: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


#: every rule, in the order the validator checks them (docs/planner.md explains each)
RULES = (
    "empty_plan",
    "duplicate_step_id",
    "unknown_component",
    "unknown_dependency",
    "missing_required_input",
    "unknown_input_field",
    "invalid_literal_input",
    "cycle",
    "unresolvable_reference",
    "reference_not_dependency",
    "unknown_output_field",
    "dangling_step",
    "missing_capability",
)


def validate_plan(
    plan: Plan,
    services: Mapping[str, PlannedService],
    *,
    action: dict[str, Any],
    data: dict[str, Any],
    capabilities: list[str] | tuple[str, ...] = (),
) -> list[PlanError]:
    """``services`` maps component name → service row (with ``input_schema``/``output_schema``).

    ``capabilities`` are those of the grounding use case the action matched: each must be
    provided by a step's service.
    """
    errors: list[PlanError] = []
    if not plan.steps:
        return [PlanError(None, None, "empty_plan", "the plan has no steps")]
    ids = [s.id for s in plan.steps]
    seen: set[str] = set()
    for sid in ids:
        if sid in seen:
            errors.append(PlanError(sid, None, "duplicate_step_id", f"step id '{sid}' repeats"))
        seen.add(sid)
    steps = plan.by_id()

    for step in plan.steps:
        service = services.get(step.component)
        if service is None:
            known = ", ".join(sorted(services)) or "none"
            errors.append(
                PlanError(
                    step.id,
                    None,
                    "unknown_component",
                    f"no registered service is called '{step.component}' (registered: {known})",
                )
            )
        for dep in step.dependencies:
            if dep not in steps:
                errors.append(
                    PlanError(
                        step.id, None, "unknown_dependency", f"depends on unknown step '{dep}'"
                    )
                )
        if service is not None:
            errors += _check_inputs(step, service)

    levels = execution_levels(plan.steps)
    placed = {sid for level in levels for sid in level}
    cyclic = [s.id for s in plan.steps if s.id not in placed]
    if cyclic and not any(e.rule == "unknown_dependency" for e in errors):
        errors.append(
            PlanError(
                None, None, "cycle", f"steps {', '.join(cyclic)} depend on each other in a cycle"
            )
        )

    ancestors = _ancestors(plan)
    for step in plan.steps:
        for field, value in step.input.items():
            for ref in references_in(value):
                error = _check_reference(
                    ref, step.id, field, steps, ancestors, services, action, data
                )
                if error is not None:
                    errors.append(error)
    errors += _dangling_steps(plan)
    errors += _missing_capabilities(plan, services, capabilities)
    return errors


def _check_inputs(step: PlanStep, service: PlannedService) -> list[PlanError]:
    schema = service.input_schema
    errors = [
        PlanError(
            step.id,
            name,
            "missing_required_input",
            f"'{step.component}' requires input '{name}'",
        )
        for name in required_of(schema)
        if name not in step.input
    ]
    known = properties_of(schema)
    if known and schema.get("additionalProperties") is False:
        for name in step.input:
            if name not in known:
                errors.append(
                    PlanError(
                        step.id,
                        name,
                        "unknown_input_field",
                        f"'{step.component}' takes no input '{name}' (inputs: {', '.join(known)})",
                    )
                )
    literals = {k: v for k, v in step.input.items() if k in known and not references_in(v)}
    if literals:
        validator_cls = jsonschema.validators.validator_for(
            schema, default=jsonschema.Draft202012Validator
        )
        for problem in validator_cls(schema).iter_errors(literals):
            if not problem.path:  # e.g. "required": reported above, by name
                continue
            name = str(problem.path[0])
            errors.append(
                PlanError(
                    step.id,
                    name,
                    "invalid_literal_input",
                    f"input '{name}' of '{step.component}' is {problem.instance!r}, which does "
                    f"not fit its schema: {problem.message}",
                )
            )
    return errors


def _dangling_steps(plan: Plan) -> list[PlanError]:
    """A step that uses nothing from the request or another step, and that nothing uses.

    Its output would land in the result without the action asking for it: the typical invented
    step. A single-step plan, or a step that reads the request, is never dangling.
    """
    if len(plan.steps) < 2:
        return []
    used = {dep for step in plan.steps for dep in step.dependencies}
    used |= {ref.root for step in plan.steps for ref in references_in(step.input)}
    errors = []
    for step in plan.steps:
        if step.id in used or step.dependencies or references_in(step.input):
            continue
        errors.append(
            PlanError(
                step.id,
                None,
                "dangling_step",
                f"step '{step.id}' ({step.component}) takes nothing from the request or another "
                "step and nothing uses its output; remove it or wire it into the plan",
            )
        )
    return errors


def _missing_capabilities(
    plan: Plan, services: Mapping[str, PlannedService], capabilities: list[str] | tuple[str, ...]
) -> list[PlanError]:
    used = [services[s.component] for s in plan.steps if s.component in services]
    errors = []
    for capability in capabilities:
        provider, _ = best_service_for(capability, used)
        if provider is None:
            errors.append(
                PlanError(
                    None,
                    None,
                    "missing_capability",
                    f"the grounding use case needs the capability '{capability}', and no step's "
                    "service provides it",
                )
            )
    return errors


def _ancestors(plan: Plan) -> dict[str, set[str]]:
    steps = plan.by_id()
    memo: dict[str, set[str]] = {}

    def visit(sid: str, trail: frozenset[str]) -> set[str]:
        if sid in memo:
            return memo[sid]
        result: set[str] = set()
        for dep in steps[sid].dependencies if sid in steps else []:
            if dep in steps and dep not in trail:
                result.add(dep)
                result |= visit(dep, trail | {dep})
        memo[sid] = result
        return result

    for sid in steps:
        visit(sid, frozenset({sid}))
    return memo


def _check_reference(ref, step_id, field, steps, ancestors, services, action, data):
    if ref.root == "request":
        head = ref.path[0]
        if head == "action" and len(ref.path) == 2 and ref.path[1] in ("content", "type"):
            return None
        if head == "data" and len(ref.path) >= 2:
            if ref.path[1] in data:
                _, missing = follow_path(data[ref.path[1]], ref.path[2:])
                if missing is None:
                    return None
                return PlanError(
                    step_id,
                    field,
                    "unresolvable_reference",
                    f"{ref.text}: the request's data has no '{missing}' there (a list index is "
                    "written with the ASCII digits 0-9)",
                )
            known = ", ".join(sorted(data)) or "none"
            return PlanError(
                step_id,
                field,
                "unresolvable_reference",
                f"{ref.text}: the request has no data field '{ref.path[1]}' (fields: {known})",
            )
        return PlanError(
            step_id,
            field,
            "unresolvable_reference",
            f"{ref.text}: use request.action.content, request.action.type or request.data.<field>",
        )
    if ref.root not in steps:
        return PlanError(
            step_id, field, "unresolvable_reference", f"{ref.text}: no step '{ref.root}'"
        )
    if ref.root not in ancestors.get(step_id, set()):
        return PlanError(
            step_id,
            field,
            "reference_not_dependency",
            f"{ref.text}: '{ref.root}' must be listed in this step's dependencies (directly or "
            "through another dependency)",
        )
    if ref.path[0] != "output" or len(ref.path) < 2:
        return PlanError(
            step_id, field, "unresolvable_reference", f"{ref.text}: use {ref.root}.output.<field>"
        )
    service = services.get(steps[ref.root].component)
    if service is not None:
        outputs = properties_of(service.output_schema)
        if outputs and ref.path[1] not in outputs:
            return PlanError(
                step_id,
                field,
                "unknown_output_field",
                f"{ref.text}: '{service.name}' has no output field '{ref.path[1]}' "
                f"(outputs: {', '.join(outputs)})",
            )
    return None
