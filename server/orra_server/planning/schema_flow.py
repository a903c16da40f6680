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
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..core.jsonschemas import properties_of, required_of
from .base import PlanningRequest, PlanOutcome
from .grounding_spec import best_service_for
from .plan import Plan, PlanStep, execution_levels
from .relevance import ServiceIndex, terms

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


class _SearchTooLarge(Exception):
    """The chain search spent :data:`SEARCH_BUDGET` tries or :data:`SEARCH_SECONDS`."""


class _ChainError(Exception):
    pass


#: the least share of an action's weight (by idf) a service's words must cover to serve it:
#: below this an action is NOT_ACTIONABLE instead of planned on a word or two it shares
MIN_COVERAGE = 0.15
#: words that split an action into several goals ("classify it, route it and …")
_CLAUSE_BREAK = re.compile(r",\s*(?:and\s+|then\s+)?|;\s*|\s+and then\s+|\s+and\s+|\s+then\s+")
#: an action phrased as a question asks for an answer (the words "question" and "answer" are
#: implied, so a service that "answers questions" is a candidate even with no other word shared)
_STEP_NUMBER = re.compile(r"step([0-9]{1,18})", re.ASCII)
_QUESTION = re.compile(
    r"\?\s*$|^\s*(how|what|why|when|where|which|who|can|could|is|are|do|does)\b", re.I
)


#: how many of a goal's best-matching services are tried as its chain's end
_TRIED_GOALS = 6
#: services a chain may try to add (tries included) while one action is planned: the search
#: backtracks, and a catalog whose services all feed each other could otherwise take minutes
SEARCH_BUDGET = 20_000
#: and for at most this long (each try costs more in a larger catalog); a real catalog plans in
#: milliseconds, so only a pathological one meets either bound
SEARCH_SECONDS = 2.0


@dataclass
class _Goal:
    clause: str
    query: list[str]
    ranked: list[tuple[float, _Candidate]]  # passing the threshold, best first


class SchemaFlowPlanner:
    name = "schema-flow"

    def plan_sync(self, request: PlanningRequest) -> PlanOutcome:
        """A plan for ``request``, or why there is none; never more than
        :data:`SEARCH_BUDGET` services tried."""
        try:
            return self._plan(request)
        except _SearchTooLarge:
            return PlanOutcome(
                None,
                f"the offline planner stopped searching ({SEARCH_BUDGET} tries or "
                f"{SEARCH_SECONDS:g} s) for a way to chain this project's "
                f"{len(request.services)} services; post a plan with the request, name a "
                "grounding spec, or plan with an LLM",
            )

    def _plan(self, request: PlanningRequest) -> PlanOutcome:
        if not request.services:
            return PlanOutcome(None, "no services are registered in this project")
        index = ServiceIndex(request.services)
        action_type = str(request.action.get("type", ""))
        content = str(request.action.get("content", ""))
        data_terms = terms(" ".join(request.data))
        everything = [*terms(action_type), *terms(content), *_implied(content)]
        candidates = [self._candidate(s) for s in request.services]
        by_name = {c.service["name"]: c for c in candidates}
        for c in candidates:  # relevance to the whole action: who may help a chain
            name = c.service["name"]
            passes = index.coverage(everything, name) >= MIN_COVERAGE
            c.relevance = index.score(everything, name) if passes else 0.0
        if request.goal:  # a remainder: the services that deliver what is missing come first
            wanted = {_norm(f) for f in request.goal}
            for c in candidates:
                produced = wanted & {_norm(o) for o in c.outputs}
                c.relevance += 10.0 if produced == wanted else 2.0 * len(produced)
        if request.grounding is not None:
            return self._plan_grounded(request, candidates, by_name)
        goals, refusal = self._goals(request, index, candidates, data_terms)
        if refusal is not None:
            return PlanOutcome(None, refusal)
        chain = _Chain(request, candidates)
        for goal in goals:
            chosen, failures = self._best_chain(goal, chain, request)
            if chosen is None:
                why = "; ".join(dict.fromkeys(failures))
                return PlanOutcome(None, f"nothing can do '{goal.clause}': {why}")
            chain = chosen
        steps = chain.steps
        plan = Plan(steps=steps, parallelExecutionGroups=execution_levels(steps))
        return PlanOutcome(
            plan, provenance={"planner": self.name, "goals": [g.clause for g in goals]}
        )

    def _goals(
        self,
        request: PlanningRequest,
        index: ServiceIndex,
        candidates: list[_Candidate],
        data_terms: list[str],
    ) -> tuple[list[_Goal], str | None]:
        """One goal per clause of the action that asks for something; or why none can be met."""
        action_type = str(request.action.get("type", ""))
        content = str(request.action.get("content", ""))
        clauses = [c for c in _CLAUSE_BREAK.split(content) if terms(c)] or [content]
        single = len(clauses) == 1
        takers = Counter(f for c in candidates for f in {_norm(i) for i in c.inputs})
        goals: list[_Goal] = []
        for clause in clauses:
            query = [*terms(clause), *_implied(clause)]
            if single or not query:  # the type is the caller's own label of what is wanted:
                query = [*terms(action_type) * 2, *query]  # it weighs as much as the words
            if request.goal:
                ranked = [(c.relevance, c) for c in candidates if c.relevance > 0]
            else:
                ranked = []
                for c in candidates:
                    name = c.service["name"]
                    if index.coverage(query, name) < MIN_COVERAGE:
                        continue
                    score = index.score(query, name) + 0.3 * index.score(data_terms, name)
                    ranked.append((score + self._structure(c, takers), c))
            ranked.sort(key=lambda item: (-item[0], item[1].service["name"]))
            if ranked:
                goals.append(_Goal(clause, query, ranked))
            elif single or len(set(terms(clause))) > 1:
                # a part that asks for something nothing does: refuse rather than plan the rest
                # and present it as complete
                return [], self._refusal(request, index, query, clause, single)
            # else: a lone word qualifies its neighbour ("between Acme and Globex")
        if not goals:
            return [], self._refusal(request, index, [], content, True)
        return goals, None

    @staticmethod
    def _best_chain(
        goal: _Goal, chain: _Chain, request: PlanningRequest
    ) -> tuple[_Chain | None, list[str]]:
        """Of the few best-matching services for ``goal``, the one whose chain reads the
        request best: its match, plus the share of the request's data the plan then uses (a
        caller sends the fields it sends for a reason), plus how relevant its helpers are."""
        best: tuple[float, _Chain] | None = None
        failures: list[str] = []
        top = goal.ranked[0][0] if goal.ranked else 0.0
        for score, candidate in goal.ranked[:_TRIED_GOALS]:
            trial = chain.copy()
            try:
                trial.try_add(candidate)
            except _ChainError as exc:
                failures.append(str(exc))
                continue
            used = trial.data_used()
            share = len(used) / len(request.data) if request.data else 0.0
            helpers = sum(
                trial.relevance_of(s.component)
                for s in trial.steps[len(chain.steps) :]
                if s.component != candidate.service["name"]
            )
            value = score + 0.5 * top * share + 0.1 * helpers
            if best is None or value > best[0]:
                best = (value, trial)
        return (best[1] if best else None), failures

    @staticmethod
    def _structure(candidate: _Candidate, takers: Counter[str]) -> float:
        """An end of a chain (no other service takes its output) is what actions usually ask
        for; a service that feeds others is usually a means. A small nudge between near ties.
        ``takers``: how many services take each (normalised) input field."""
        own = {_norm(f) for f in candidate.inputs}
        fed = any(takers[_norm(o)] > (_norm(o) in own) for o in candidate.outputs)
        return 0.0 if fed else 0.5

    @staticmethod
    def _refusal(
        request: PlanningRequest, index: ServiceIndex, query: list[str], clause: str, whole: bool
    ) -> str:
        nearest = [
            f"{name} ({index.coverage(query, name):.0%} of its words)"
            for score, name in index.ranked(query)[:3]
            if score > 0
        ]
        what = f"the action '{request.action.get('type', '')}'" if whole else f"the part '{clause}'"
        if nearest:
            return (
                f"no registered service matches {what} well enough; nearest: "
                f"{', '.join(nearest)} (a service must share at least "
                f"{MIN_COVERAGE:.0%} of the action's weighted words)"
            )
        names = ", ".join(sorted(s["name"] for s in request.services))
        return f"no registered service matches {what} (services: {names})"

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
            step = chain.steps[_number(step_id) - 1]
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
    def _candidate(service: dict[str, Any]) -> _Candidate:
        return _Candidate(
            service=service,
            relevance=0.0,
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
        #: tries left, shared by every copy made while one action is planned, and until when
        self.budget = [SEARCH_BUDGET]
        self.deadline = time.monotonic() + SEARCH_SECONDS

    def copy(self) -> _Chain:
        twin = _Chain(self.request, self.candidates)
        twin.steps, twin.step_of = list(self.steps), dict(self.step_of)
        twin.budget, twin.deadline = self.budget, self.deadline
        return twin

    def data_used(self) -> set[str]:
        """The request's data fields the steps read."""
        text = " ".join(str(step.input) for step in self.steps)
        return {field for field in self.request.data if f"request.data.{field}}}" in text}

    def relevance_of(self, name: str) -> float:
        return next((c.relevance for c in self.candidates if c.service["name"] == name), 0.0)

    def try_add(self, goal: _Candidate) -> str:
        """Add ``goal``'s chain; on failure leave the steps as they were."""
        steps, step_of = list(self.steps), dict(self.step_of)
        try:
            return self._add(goal, trail=())
        except _ChainError:
            self.steps, self.step_of = steps, step_of
            raise

    def _add(self, cand: _Candidate, trail: tuple[str, ...]) -> str:
        name = cand.service["name"]
        if name in self.step_of:
            return self.step_of[name]
        self.budget[0] -= 1
        if self.budget[0] < 0 or (self.budget[0] % 64 == 0 and time.monotonic() > self.deadline):
            raise _SearchTooLarge
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


def _implied(text: str) -> list[str]:
    return terms("question answer") if _QUESTION.search(text or "") else []


def _after(earlier: str, later: str) -> bool:
    """Step ids are numbered in creation order, so this ordering can never make a cycle."""
    return _number(earlier) < _number(later)


def _number(step_id: str) -> int:
    """The n of a ``step<n>`` id this planner made (ASCII digits only: ``int('²')`` raises)."""
    match = _STEP_NUMBER.fullmatch(step_id)
    return int(match.group(1)) if match else 0


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
