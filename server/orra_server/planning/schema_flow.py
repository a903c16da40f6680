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
from collections import Counter
from dataclasses import dataclass

from ..core.jsonschemas import properties_of, required_of
from .base import PlanningRequest, PlanOutcome
from .chain import SEARCH_BUDGET, SEARCH_SECONDS, Candidate, Chain, ChainError, SearchTooLarge, norm
from .grounding_spec import best_service_for
from .plan import Plan, execution_levels
from .relevance import ServiceIndex, terms
from .service import PlannedService

__all__ = ["SchemaFlowPlanner"]

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


@dataclass
class _Goal:
    clause: str
    query: list[str]
    ranked: list[tuple[float, Candidate]]  # passing the threshold, best first


class SchemaFlowPlanner:
    name = "schema-flow"

    def plan_sync(self, request: PlanningRequest) -> PlanOutcome:
        """A plan for ``request``, or why there is none; never more than
        :data:`SEARCH_BUDGET` services tried."""
        try:
            return self._plan(request)
        except SearchTooLarge:
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
        by_name = {c.service.name: c for c in candidates}
        for c in candidates:  # relevance to the whole action: who may help a chain
            name = c.service.name
            passes = index.coverage(everything, name) >= MIN_COVERAGE
            c.relevance = index.score(everything, name) if passes else 0.0
        if request.goal:  # a remainder: the services that deliver what is missing come first
            wanted = {norm(f) for f in request.goal}
            for c in candidates:
                produced = wanted & {norm(o) for o in c.outputs}
                c.relevance += 10.0 if produced == wanted else 2.0 * len(produced)
        if request.grounding is not None:
            return self._plan_grounded(request, candidates, by_name)
        goals, refusal = self._goals(request, index, candidates, data_terms)
        if refusal is not None:
            return PlanOutcome(None, refusal)
        chain = Chain(request, candidates)
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
        candidates: list[Candidate],
        data_terms: list[str],
    ) -> tuple[list[_Goal], str | None]:
        """One goal per clause of the action that asks for something; or why none can be met."""
        action_type = str(request.action.get("type", ""))
        content = str(request.action.get("content", ""))
        clauses = [c for c in _CLAUSE_BREAK.split(content) if terms(c)] or [content]
        single = len(clauses) == 1
        takers = Counter(f for c in candidates for f in {norm(i) for i in c.inputs})
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
                    name = c.service.name
                    if index.coverage(query, name) < MIN_COVERAGE:
                        continue
                    score = index.score(query, name) + 0.3 * index.score(data_terms, name)
                    ranked.append((score + self._structure(c, takers), c))
            ranked.sort(key=lambda item: (-item[0], item[1].service.name))
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
        goal: _Goal, chain: Chain, request: PlanningRequest
    ) -> tuple[Chain | None, list[str]]:
        """Of the few best-matching services for ``goal``, the one whose chain reads the
        request best: its match, plus the share of the request's data the plan then uses (a
        caller sends the fields it sends for a reason), plus how relevant its helpers are."""
        best: tuple[float, Chain] | None = None
        failures: list[str] = []
        top = goal.ranked[0][0] if goal.ranked else 0.0
        for score, candidate in goal.ranked[:_TRIED_GOALS]:
            trial = chain.copy()
            try:
                trial.try_add(candidate)
            except ChainError as exc:
                failures.append(str(exc))
                continue
            used = trial.data_used()
            share = len(used) / len(request.data) if request.data else 0.0
            helpers = sum(
                trial.relevance_of(s.component)
                for s in trial.steps[len(chain.steps) :]
                if s.component != candidate.service.name
            )
            value = score + 0.5 * top * share + 0.1 * helpers
            if best is None or value > best[0]:
                best = (value, trial)
        return (best[1] if best else None), failures

    @staticmethod
    def _structure(candidate: Candidate, takers: Counter[str]) -> float:
        """An end of a chain (no other service takes its output) is what actions usually ask
        for; a service that feeds others is usually a means. A small nudge between near ties.
        ``takers``: how many services take each (normalised) input field."""
        own = {norm(f) for f in candidate.inputs}
        fed = any(takers[norm(o)] > (norm(o) in own) for o in candidate.outputs)
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
        names = ", ".join(sorted(s.name for s in request.services))
        return f"no registered service matches {what} (services: {names})"

    def _plan_grounded(
        self,
        request: PlanningRequest,
        candidates: list[Candidate],
        by_name: dict[str, Candidate],
    ) -> PlanOutcome:
        """One goal per capability of the matched use case, run in the order it lists them."""
        assert request.grounding is not None
        chain = Chain(request, candidates)
        previous: str | None = None
        for capability in request.grounding.use_case.capabilities:
            service, _ = best_service_for(capability, request.services)
            if service is None:
                return PlanOutcome(None, f"no registered service provides '{capability}'")
            try:
                step_id = chain._add(by_name[service.name], trail=())
            except ChainError as exc:
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
    def _candidate(service: PlannedService) -> Candidate:
        return Candidate(
            service=service,
            relevance=0.0,
            inputs=properties_of(service.input_schema),
            required=required_of(service.input_schema),
            outputs=properties_of(service.output_schema),
        )


def _implied(text: str) -> list[str]:
    return terms("question answer") if _QUESTION.search(text or "") else []


def _after(earlier: str, later: str) -> bool:
    """Step ids are numbered in creation order, so this ordering can never make a cycle."""
    return _number(earlier) < _number(later)


def _number(step_id: str) -> int:
    """The n of a ``step<n>`` id this planner made (ASCII digits only: ``int('²')`` raises)."""
    match = _STEP_NUMBER.fullmatch(step_id)
    return int(match.group(1)) if match else 0
