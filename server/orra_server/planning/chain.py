"""One plan of the offline planner, built backwards from its goal service through schemas.

Separate from :mod:`.schema_flow` (which ranks services and chooses goals) because building a
chain is its own search: each input is filled from the request data, the action's content, or
another service's output, recursively, within a budget of tries and time.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .base import PlanningRequest
from .plan import PlanStep
from .service import PlannedService

__all__ = [
    "CONTENT_FIELDS",
    "SEARCH_BUDGET",
    "SEARCH_SECONDS",
    "Candidate",
    "Chain",
    "ChainError",
    "SearchTooLarge",
    "action_phrase",
    "norm",
]

#: text inputs that take the action's own words
CONTENT_FIELDS = {
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
    # what a person says of the situation: the request's words describe it
    "description",
    "reason",
    "notes",
    "note",
    "details",
    "comment",
    "comments",
    "body",
}


@lru_cache(maxsize=8192)
def norm(name: str) -> str:
    """A field name as chains match it: ``customer_id`` and ``customerId`` are one field."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


@dataclass
class Candidate:
    """A service as a chain may use it: its relevance to the action, its schemas' fields."""

    service: PlannedService
    relevance: float
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    required: list[str] = field(default_factory=list)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)


class SearchTooLarge(Exception):
    """The chain search spent :data:`SEARCH_BUDGET` tries or :data:`SEARCH_SECONDS`."""


class ChainError(Exception):
    pass


#: services a chain may try to add (tries included) while one action is planned: the search
#: backtracks, and a catalog whose services all feed each other could otherwise take minutes
SEARCH_BUDGET = 20_000
#: and for at most this long (each try costs more in a larger catalog); a real catalog plans in
#: milliseconds, so only a pathological one meets either bound
SEARCH_SECONDS = 2.0


class Chain:
    """Builds one plan backwards from a goal; a service appears at most once."""

    def __init__(self, request: PlanningRequest, candidates: list[Candidate]) -> None:
        self.request = request
        self.candidates = candidates
        self.data_fields = {norm(k): k for k in request.data}
        self.steps: list[PlanStep] = []
        self.step_of: dict[str, str] = {}  # service name -> step id
        #: tries left, shared by every copy made while one action is planned, and until when
        self.budget = [SEARCH_BUDGET]
        self.deadline = time.monotonic() + SEARCH_SECONDS

    def copy(self) -> Chain:
        twin = Chain(self.request, self.candidates)
        twin.steps, twin.step_of = list(self.steps), dict(self.step_of)
        twin.budget, twin.deadline = self.budget, self.deadline
        return twin

    def data_used(self) -> set[str]:
        """The request's data fields the steps read."""
        text = " ".join(str(step.input) for step in self.steps)
        return {field for field in self.request.data if f"request.data.{field}}}" in text}

    def relevance_of(self, name: str) -> float:
        return next((c.relevance for c in self.candidates if c.service.name == name), 0.0)

    def try_add(self, goal: Candidate) -> str:
        """Add ``goal``'s chain; on failure leave the steps as they were."""
        steps, step_of = list(self.steps), dict(self.step_of)
        try:
            return self._add(goal, trail=())
        except ChainError:
            self.steps, self.step_of = steps, step_of
            raise

    def _add(self, cand: Candidate, trail: tuple[str, ...]) -> str:
        name = cand.service.name
        if name in self.step_of:
            return self.step_of[name]
        self.budget[0] -= 1
        if self.budget[0] < 0 or (self.budget[0] % 64 == 0 and time.monotonic() > self.deadline):
            raise SearchTooLarge
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
                    raise ChainError(
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
                action=action_phrase(cand.service.description or "", expected),
                input=inputs,
                expectedOutput=expected,
                dependencies=deps,
            )
        )
        self.step_of[name] = step_id
        return step_id

    def _fed(self, cand: Candidate) -> bool:
        """The request's data holds every input ``cand`` requires: the caller sent it for this
        (a ``url`` with "the gist of this post" is the text to fetch, not the action's words)."""
        required = {norm(f) for f in cand.required}
        return bool(required) and required <= set(self.data_fields)

    def _source(self, field_name, spec, cand, trail, required) -> tuple[str, str | None] | None:
        key = norm(field_name)
        if key in self.data_fields:
            return f"{{{{request.data.{self.data_fields[key]}}}}}", None
        is_text = spec.get("type") in (None, "string")
        from_content = is_text and key in CONTENT_FIELDS
        producers = [
            c
            for c in self.candidates
            if c.service.name not in trail
            and any(norm(o) == key for o in c.outputs)
            and (c.relevance > 0 or self._fed(c) if from_content or not required else True)
        ]
        # a producer the plan already runs first ("open a claim and get an adjuster on it":
        # the new claim's id, not a search for another)
        producers.sort(
            key=lambda c: (c.service.name not in self.step_of, -c.relevance, c.service.name)
        )
        for producer in producers:
            try:
                step_id = self._add(producer, trail)
            except ChainError:
                continue
            out_name = next(o for o in producer.outputs if norm(o) == key)
            return f"{{{{{step_id}.output.{out_name}}}}}", step_id
        if from_content:  # no relevant service makes it: the action's own words are the text
            return "{{request.action.content}}", None
        return None


def action_phrase(description: str, expected: str) -> str:
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
