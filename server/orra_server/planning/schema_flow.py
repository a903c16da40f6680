"""The offline planner: rank services against the action, chain them backwards through schemas.

Deterministic and dependency-free. It picks the *goal* service (the one that answers the action)
by word overlap between the action and each service's name and description, then satisfies each
goal input from the request data, from the action's content (for text inputs such as
``inquiry``), or from another service whose output has a field of that name — recursively.
Plans are ranked by their goal's relevance (bonuses for a description that starts with the
action's verb and for a service whose outputs no other service takes), then by their helpers'
relevance, then by fewer steps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..jsonschemas import properties_of, required_of
from .base import PlanningRequest, PlanOutcome
from .grounding_spec import best_service_for
from .plan import Plan, PlanStep, execution_levels
from .text import leading_word, tokens

__all__ = ["SchemaFlowPlanner"]

#: text inputs that take the action's own words
_CONTENT_FIELDS = {
    "inquiry",
    "enquiry",
    "query",
    "question",
    "message",
    "content",
    "text",
    "prompt",
    "request",
    "task",
    "instruction",
    "instructions",
    "topic",
    "goal",
    "input",
    "ask",
    "claim",
    "statement",
}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


@dataclass
class _Candidate:
    service: dict[str, Any]
    relevance: float
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    required: list[str] = field(default_factory=list)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)


class _ChainError(Exception):
    pass


class SchemaFlowPlanner:
    name = "schema-flow"

    def plan_sync(self, request: PlanningRequest) -> PlanOutcome:
        if not request.services:
            return PlanOutcome(None, "no services are registered in this project")
        type_words = tokens(str(request.action.get("type", "")))
        content_words = tokens(str(request.action.get("content", "")))
        verb = leading_word(str(request.action.get("content", "")))
        candidates = [self._candidate(s, type_words, content_words, verb) for s in request.services]
        by_name = {c.service["name"]: c for c in candidates}
        if request.goal:  # a remainder: the services that deliver what is missing come first
            wanted = {_norm(f) for f in request.goal}
            for c in candidates:
                produced = wanted & {_norm(o) for o in c.outputs}
                c.relevance += 10.0 if produced == wanted else 2.0 * len(produced)
        consumed = {_norm(f) for c in candidates for f in c.inputs}
        for c in candidates:
            if c.relevance and not any(_norm(o) in consumed for o in c.outputs):
                c.relevance += 1.0  # nothing consumes its output: an end of a chain, a goal
        relevant = sorted(
            (c for c in candidates if c.relevance > 0),
            key=lambda c: (-c.relevance, c.service["name"]),
        )
        if not relevant:
            names = ", ".join(sorted(by_name))
            return PlanOutcome(
                None,
                f"no registered service matches the action "
                f"'{request.action.get('type', '')}' (services: {names})",
            )
        if request.grounding is not None:
            return self._plan_grounded(request, candidates, by_name)
        best: tuple[tuple[float, float, int], list[PlanStep]] | None = None
        failures: list[str] = []
        for goal in relevant:
            try:
                steps = _Chain(request, candidates).build(goal)
            except _ChainError as exc:
                failures.append(str(exc))
                continue
            helpers = sum(by_name[s.component].relevance for s in steps[:-1])
            score = (goal.relevance, helpers, -len(steps))
            if best is None or score > best[0]:
                best = (score, steps)
        if best is None:
            return PlanOutcome(None, "; ".join(dict.fromkeys(failures)))
        steps = best[1]
        plan = Plan(steps=steps, parallelExecutionGroups=execution_levels(steps))
        return PlanOutcome(plan, provenance={"planner": self.name, "score": best[0][0]})

    def _plan_grounded(
        self,
        request: PlanningRequest,
        candidates: list[_Candidate],
        by_name: dict[str, _Candidate],
    ) -> PlanOutcome:
        """One goal per capability of the matched use case, run in the order it lists them."""
        assert request.grounding is not None
        chain = _Chain(request, candidates)
        previous: str | None = None
        for capability in request.grounding.use_case.capabilities:
            service, _ = best_service_for(capability, request.services)
            if service is None:
                return PlanOutcome(None, f"no registered service provides '{capability}'")
            try:
                step_id = chain._add(by_name[service["name"]], trail=())
            except _ChainError as exc:
                return PlanOutcome(None, str(exc))
            step = chain.steps[int(step_id[4:]) - 1]
            if (
                previous is not None
                and _after(previous, step_id)
                and previous not in step.dependencies
            ):
                step.dependencies.append(previous)
            previous = step_id
        steps = chain.steps
        plan = Plan(steps=steps, parallelExecutionGroups=execution_levels(steps))
        return PlanOutcome(
            plan, provenance={"planner": self.name, "grounding": request.grounding.spec}
        )

    @staticmethod
    def _candidate(
        service: dict[str, Any], type_words: set[str], content_words: set[str], verb: str | None
    ) -> _Candidate:
        description = service.get("description") or ""
        own = tokens(service["name"]) | tokens(description)
        relevance = 2.0 * len(type_words & own) + 1.0 * len(content_words & own)
        if relevance and verb is not None and verb == leading_word(description):
            relevance += 3.0  # "Summarize this page" → the service that "Summarizes …"
        return _Candidate(
            service=service,
            relevance=relevance,
            inputs=properties_of(service["input_schema"]),
            required=required_of(service["input_schema"]),
            outputs=properties_of(service["output_schema"]),
        )


class _Chain:
    """Builds one plan backwards from a goal; a service appears at most once."""

    def __init__(self, request: PlanningRequest, candidates: list[_Candidate]) -> None:
        self.request = request
        self.candidates = candidates
        self.data_fields = {_norm(k): k for k in request.data}
        self.steps: list[PlanStep] = []
        self.step_of: dict[str, str] = {}  # service name -> step id

    def build(self, goal: _Candidate) -> list[PlanStep]:
        self._add(goal, trail=())
        return self.steps

    def _add(self, cand: _Candidate, trail: tuple[str, ...]) -> str:
        name = cand.service["name"]
        if name in self.step_of:
            return self.step_of[name]
        trail = (*trail, name)
        inputs: dict[str, Any] = {}
        deps: list[str] = []
        if not cand.inputs:  # open schema: hand it every data field and the content
            inputs = {k: f"{{{{request.data.{k}}}}}" for k in self.request.data}
        for field_name, spec in cand.inputs.items():
            required = field_name in cand.required
            source = self._source(field_name, spec, cand, trail, required)
            if source is None:
                if required:
                    known = ", ".join(self.request.data) or "none"
                    raise _ChainError(
                        f"'{name}' needs '{field_name}', which neither the request data "
                        f"(fields: {known}), the action's content nor any service's output provides"
                    )
                continue
            inputs[field_name], dep = source
            if dep and dep not in deps:
                deps.append(dep)
        step_id = f"step{len(self.steps) + 1}"
        outputs = list(cand.outputs)
        expected = outputs[0] if outputs else name
        self.steps.append(
            PlanStep(
                id=step_id,
                component=name,
                action=_action_phrase(cand.service.get("description") or "", expected),
                input=inputs,
                expectedOutput=expected,
                dependencies=deps,
            )
        )
        self.step_of[name] = step_id
        return step_id

    def _source(self, field_name, spec, cand, trail, required) -> tuple[str, str | None] | None:
        key = _norm(field_name)
        if key in self.data_fields:
            return f"{{{{request.data.{self.data_fields[key]}}}}}", None
        is_text = spec.get("type") in (None, "string")
        from_content = is_text and key in _CONTENT_FIELDS
        producers = [
            c
            for c in self.candidates
            if c.service["name"] not in trail
            and any(_norm(o) == key for o in c.outputs)
            and (c.relevance > 0 if from_content or not required else True)
        ]
        producers.sort(key=lambda c: (-c.relevance, c.service["name"]))
        for producer in producers:
            try:
                step_id = self._add(producer, trail)
            except _ChainError:
                continue
            out_name = next(o for o in producer.outputs if _norm(o) == key)
            return f"{{{{{step_id}.output.{out_name}}}}}", step_id
        if from_content:  # no relevant service makes it: the action's own words are the text
            return "{{request.action.content}}", None
        return None


def _after(earlier: str, later: str) -> bool:
    """Step ids are numbered in creation order, so this ordering can never make a cycle."""
    return int(earlier[4:]) < int(later[4:])


def _action_phrase(description: str, expected: str) -> str:
    """``"Retrieves a customer's profile"`` + ``customerProfile`` → ``retrieveCustomerProfile``."""
    words = re.findall(r"[A-Za-z]+", description)
    verb = words[0].lower() if words else "produce"
    if verb.endswith("ies"):
        verb = verb[:-3] + "y"
    elif verb.endswith(("ches", "shes", "sses", "xes")):
        verb = verb[:-2]
    elif verb.endswith("s") and not verb.endswith("ss"):
        verb = verb[:-1]
    return verb + expected[:1].upper() + expected[1:]
