"""What the LLM planner says to the model: the task, the services, the action, and repairs."""

from __future__ import annotations

import json
from typing import Any

from .base import PlanningRequest
from .validator import PlanError

__all__ = ["PLAN_RESPONSE_SCHEMA", "plan_messages", "repair_message"]

#: ``response_format`` for endpoints with structured output. Not ``strict``: step inputs are
#: free-form objects, which strict mode cannot express.
PLAN_RESPONSE_SCHEMA: dict[str, Any] = {
    "name": "orchestration_plan",
    "strict": False,
    "schema": {
        "type": "object",
        "properties": {
            "steps": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "component": {"type": "string"},
                        "action": {"type": "string"},
                        "input": {"type": "object"},
                        "expectedOutput": {"type": "string"},
                        "dependencies": {"type": "array", "items": {"type": "string"}},
                    },
                    "required": ["id", "component", "input", "dependencies"],
                },
            },
            "notActionable": {"type": "boolean"},
            "reason": {"type": "string"},
        },
        "required": ["steps"],
    },
}

_SYSTEM = """\
You plan work for Orra, an orchestration engine. Services and agents (the components) are \
listed with what they do and their input and output JSON Schemas. Turn the action into a plan: \
a list of steps, each calling one component once.

Answer with one JSON object and nothing else:
{"steps": [{"id": "step1", "component": "<a component's exact name>", \
"action": "<what the step does, a short camelCase phrase>", "input": {"<input field>": <value>}, \
"expectedOutput": "<the output field the plan needs>", "dependencies": ["<step ids>"]}]}

Rules:
- Use only the listed components, with their exact names. Use as few steps as the action needs.
- Give every required input of a component's input schema. A value is a JSON literal that fits \
the schema, or a reference: {{request.action.content}} (the action's text), \
{{request.data.<field>}} (a request data field listed below) or {{stepN.output.<field>}} (a field \
of stepN's output schema). A reference may be the whole value or part of a longer string.
- A step that references stepN must list stepN in its dependencies (directly or through another \
dependency). No cycles. Steps without a data dependency between them run in parallel.
- Step ids are step1, step2, … in order. Every step must use the request or another step's \
output, or be used by another step.
- If the grounding below lists capabilities, the plan must use a component for each, and follow \
its constraints.
- If the action cannot be done with these components, answer \
{"steps": [], "notActionable": true, "reason": "<what is missing>"}."""


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    return "object"


def plan_messages(request: PlanningRequest) -> list[dict[str, str]]:
    """The system and user messages for a first planning round.

    Data values stay out of the prompt (they may be private, and the plan refers to them by
    name); their JSON types are given so the model can match them to schemas.
    """
    components = [
        {
            "name": s.name,
            "description": s.description or "",
            "input": s.input_schema,
            "output": s.output_schema,
        }
        for s in sorted(request.services, key=lambda s: s.name)
    ]
    task: dict[str, Any] = {
        "action": {"type": request.action.get("type", ""), "content": request.action["content"]},
        "data": [{"field": k, "type": _type_of(v)} for k, v in request.data.items()],
        "components": components,
    }
    if request.grounding is not None:
        match = request.grounding
        task["grounding"] = {
            "domain": match.domain,
            "useCase": match.use_case.action,
            "intent": match.use_case.intent,
            "capabilities": match.use_case.capabilities,
            "constraints": match.constraints,
            "params": match.params,
        }
    if request.goal:
        task["remainder"] = {
            "mustProduce": list(request.goal),
            "note": "steps already completed: their outputs are among the data fields; plan "
            "only what is still missing, using those fields instead of recomputing them",
        }
    user = "Plan this action.\n\n" + json.dumps(task, indent=1, ensure_ascii=False)
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": user}]


def repair_message(errors: list[PlanError]) -> dict[str, str]:
    lines = [
        f"- {e.rule}"
        + (f" (step {e.step}" + (f", field {e.field}" if e.field else "") + ")" if e.step else "")
        + f": {e.message}"
        for e in errors
    ]
    return {
        "role": "user",
        "content": "That plan is invalid. The validator found:\n"
        + "\n".join(lines)
        + "\n\nAnswer with the whole corrected plan as one JSON object.",
    }
