"""One validator for every plan, whoever wrote it. Errors are data: step, field, rule, message."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..jsonschemas import properties_of, required_of
from .plan import Plan, execution_levels, references_in

__all__ = ["PlanError", "validate_plan"]


@dataclass(frozen=True, slots=True)
class PlanError:
    step: str | None
    field: str | None
    rule: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def validate_plan(
    plan: Plan,
    services: dict[str, dict[str, Any]],
    *,
    action: dict[str, Any],
    data: dict[str, Any],
) -> list[PlanError]:
    """``services`` maps component name → service row (with ``input_schema``/``output_schema``)."""
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
            for name in required_of(service["input_schema"]):
                if name not in step.input:
                    errors.append(
                        PlanError(
                            step.id,
                            name,
                            "missing_required_input",
                            f"'{step.component}' requires input '{name}'",
                        )
                    )

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
                return None
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
        outputs = properties_of(service["output_schema"])
        if outputs and ref.path[1] not in outputs:
            return PlanError(
                step_id,
                field,
                "unknown_output_field",
                f"{ref.text}: '{service['name']}' has no output field '{ref.path[1]}' "
                f"(outputs: {', '.join(outputs)})",
            )
    return None
