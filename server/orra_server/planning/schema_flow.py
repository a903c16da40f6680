"""The offline planner: rank services against the action, chain them backwards through schemas.

Deterministic and offline. The action's content is read in clauses (:mod:`.clauses`): each
request clause that a service matches well enough (BM25 and coverage, :mod:`.relevance`) is a
goal; context clauses only tell which sense is meant. Each goal input is satisfied from the
request data, from the action's content (for text inputs such as ``inquiry``), or from another
service whose output has a field of that name — recursively (:mod:`.chain`). The data and the
catalog weigh in too (:mod:`.evidence`): data that fits one service exactly, a clear winner
just under the bar, and a refusal that names the closest service.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from ..core.jsonschemas import properties_of, required_of
from .base import PlanningRequest, PlanOutcome
from .chain import SEARCH_BUDGET, SEARCH_SECONDS, Candidate, Chain, ChainError, SearchTooLarge, norm
from .clauses import pointer
from .evidence import (
    QUESTION_TO_ACTOR,
    acts,
    closest,
    exact_fit,
    specific,
)
from .grounding_spec import best_service_for
from .indexes import index_for
from .plan import Plan, execution_levels
from .reading import Reading
from .relevance import ServiceIndex, terms
from .rescue import rescue
from .service import PlannedService

__all__ = ["SchemaFlowPlanner"]

#: the least share of an action's weight (by idf) a service's words must cover to serve it:
#: below this an action is NOT_ACTIONABLE instead of planned on a word or two it shares
MIN_COVERAGE = 0.15
CONTEXT_WEIGHT = 0.5
ANSWER_WEIGHT = 1.0


_STEP_NUMBER = re.compile(r"step([0-9]{1,18})", re.ASCII)
#: how many of a goal's best-matching services are tried as its chain's end
_TRIED_GOALS = 6


@dataclass
class _Goal:
    clause: str
    query: list[str]
    ranked: list[tuple[float, Candidate]]  # passing the threshold, best first
    #: from a request clause (a context clause tried when no request matched is no veto)
    request: bool = True
    #: the clause's own words (not the action type's): what a person asked for here
    words: frozenset[str] = frozenset()
    question: bool = False
    #: what a clause that points at a record through another asks about ("the machine" of
    #: "the machine that made lot L-3"); empty when it points at none
    about: frozenset[str] = frozenset()


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
        index = index_for(request.services)
        reading = Reading.of(request, index)
        candidates = [self._candidate(s) for s in request.services]
        by_name = {c.service.name: c for c in candidates}
        everything = reading.everything
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
        goals = self._goals(request, index, candidates, reading)
        chain: Chain | None = Chain(request, candidates)
        failures: list[str] = []
        unmet: list[_Goal] = []
        for goal in goals:
            if goal.question and _answered(index, goal, chain):
                continue  # "where did lot L-4 come from? which machine?": the trace says
            chosen, failed = self._best_chain(goal, chain, request, index)
            if chosen is None:
                failures += failed
                if goal.request:
                    unmet.append(goal)
            else:
                chain = chosen
        # a part that cannot be planned does not veto the rest (its provenance says so)
        if not chain.steps:
            asks = [c for c in reading.clauses if c.request and not c.fine]
            questions = bool(asks) and all(c.question for c in asks)
            question = " ".join(c.text for c in asks) if questions else ""
            chain, failed = rescue(
                request, candidates, index, reading.everything, reading.asked, question
            )
            failures += failed
        if chain is None and unmet:  # the parts asked for cannot be planned: say why
            first = unmet[0]
            tried = [c for _, c in first.ranked]
            near = closest(tried, index, first.query, request.data, MIN_COVERAGE, failures)
            return PlanOutcome(None, f"nothing can do '{_quoted(first.clause)}'; {near}")
        if chain is None:
            return PlanOutcome(None, self._refusal(request, index, candidates, reading, failures))
        steps = chain.steps
        plan = Plan(steps=steps, parallelExecutionGroups=execution_levels(steps))
        planned = {g.clause for g in goals}
        return PlanOutcome(
            plan,
            provenance={
                "planner": self.name,
                "goals": [g.clause for g in goals],
                # what was read as context: the situation, or a part no service matched
                "context": [c.text for c in reading.clauses if c.text not in planned],
            },
        )

    def _goals(
        self,
        request: PlanningRequest,
        index: ServiceIndex,
        candidates: list[Candidate],
        reading: Reading,
    ) -> list[_Goal]:
        """One goal per request clause that some service matches well enough. A clause that
        matches nothing is context, never a veto; context clauses are goals only when no
        request clause matches anything."""
        takers = Counter(f for c in candidates for f in {norm(i) for i in c.inputs})
        data_terms = terms(" ".join(request.data))
        implied = set(terms("question answer"))
        fitting = {
            c.service.name
            for c in candidates
            if exact_fit(c, request.data) and specific(c, request.data, candidates)
        }
        # the services the data reaches through one that it fits: "how healthy is Northwind"
        # with a company name for the account lookup is about the account's health
        given = {norm(k) for k in request.data}
        supplies = [
            (f, given | {norm(o) for o in f.outputs})
            for f in candidates
            if f.service.name in fitting
        ]
        reached = {
            c.service.name
            for c in candidates
            if any(c is not f and {norm(r) for r in c.required} <= supply for f, supply in supplies)
        }
        unknown = False
        taken = {t for c in candidates for t in terms(" ".join(c.required))}
        for wanted in (True, False):
            clauses = [c for c in reading.clauses if c.request == wanted and not c.fine]
            goals: list[_Goal] = []
            for clause in clauses:
                query = reading.query(clause, single=len(clauses) == 1)
                pointing = reading.expand(terms(pointer(clause.text)))
                said = reading.expand(terms(clause.text))  # the clause's own words
                own = frozenset(said)
                about = own - set(pointing)
                if reading.asks_unknown(clause, index):
                    # it asks for an act no service does ("shut down staging", "I want
                    # compensation"): not planned, and the situation around it is no request
                    unknown = True
                    continue
                if request.goal:
                    ranked = [(c.relevance, c) for c in candidates if c.relevance > 0]
                else:
                    ranked = []
                    for c in candidates:
                        if pointing and about & set(terms(" ".join(c.outputs))) & taken:
                            continue  # it finds "the machine that made L-3": a helper
                        name = c.service.name
                        if clause.question and not _answers(index, c, own):
                            continue  # "how much does U-22 owe?" asks no lock cut
                        fits = name in fitting  # data meant for this service lowers the bar
                        bar = MIN_COVERAGE * (0.5 if fits or name in reached else 1.0)
                        if index.coverage(query, name) < bar:
                            continue
                        asked = [t for t in query if t not in implied]  # not "quiz questions"
                        score = 2 * index.score(asked, name) + CONTEXT_WEIGHT * index.score(
                            reading.context, name
                        )
                        score -= index.score(pointing, name)  # "the machine | that made L-3"
                        score += 0.3 * index.score(data_terms, name)
                        if clause.question:  # a fact is asked for: the answer is an output
                            score += ANSWER_WEIGHT * index.answers(said, name)
                            score *= QUESTION_TO_ACTOR if acts(c.service) else 1.0
                        if fits:
                            score += 1.0
                        ranked.append((score + self._structure(c, takers), c))
                ranked.sort(key=lambda item: (-item[0], item[1].service.name))
                if ranked:
                    about = about if pointing else frozenset()
                    goals.append(
                        _Goal(
                            clause.text, query, ranked, clause.request, own, clause.question, about
                        )
                    )
            if goals or unknown:
                return goals
        return []

    @staticmethod
    def _best_chain(
        goal: _Goal, chain: Chain, request: PlanningRequest, index: ServiceIndex
    ) -> tuple[Chain | None, list[str]]:
        """Of the few best-matching services for ``goal``, the one whose chain reads the
        request best: its match, plus the share of the request's data the plan then uses (a
        caller sends the fields it sends for a reason), plus how relevant its helpers are. A
        goal that adds nothing the request asks for beyond what its helpers do ("scan this
        receipt" → not the policy check that reads the scan) is a step too many, unless the
        action's words are its input (a reply to the message); one with a word of its own
        asked for gains half the matches of the helpers it takes in ("isolate the host alert
        A fired on": the isolation after the alert's triage, not the triage alone)."""
        best: tuple[float, Chain] | None = None
        failures: list[str] = []
        top = goal.ranked[0][0] if goal.ranked else 0.0
        matched = {c.service.name: score for score, c in goal.ranked}
        for score, candidate in goal.ranked[:_TRIED_GOALS]:
            trial = chain.copy()
            try:
                trial.try_add(candidate)
            except ChainError as exc:
                failures.append(str(exc))
                continue
            used = trial.data_used()
            share = len(used) / len(request.data) if request.data else 0.0
            added = [
                s.component
                for s in trial.steps[len(chain.steps) :]
                if s.component != candidate.service.name
            ]
            helpers = sum(trial.relevance_of(name) for name in added)
            value = score + 0.5 * top * share + 0.1 * helpers
            reads_request = "request.action.content" in str(trial.steps[-1].input)
            asked = bool(added) and (
                _asked_for(index, goal, candidate, added) or _takes(goal, candidate)
            )
            if added and not asked and not reads_request:
                value -= top
            elif asked and _named(index, goal, candidate, added, own=True):
                # a word of its own is asked for, and it takes in the matches it needs: the
                # fuller reading of the request
                value += 0.5 * sum(matched.get(name, 0.0) for name in added)
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
        request: PlanningRequest,
        index: ServiceIndex,
        candidates: list[Candidate],
        reading: Reading,
        failures: list[str],
    ) -> str:
        what = f"the action '{request.action.get('type', '')}'"
        near = closest(candidates, index, reading.everything, request.data, MIN_COVERAGE, failures)
        for clause in reading.clauses:  # "send a technician": say what no service does
            if unknown := reading.asks_unknown(clause, index):
                return f"nothing can do '{_quoted(clause.text)}': no service here {unknown}; {near}"
        return f"no registered service does what {what} asks; {near}"

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


def _answered(index: ServiceIndex, goal: _Goal, chain: Chain) -> bool:
    """Every word the question asks names an output of a step already planned."""
    planned = [step.component for step in chain.steps]
    return bool(planned) and all(
        any(index.answers([word], name) > 0 for name in planned) for word in goal.words
    )


def _asked_for(index: ServiceIndex, goal: _Goal, candidate: Candidate, helpers: list[str]) -> bool:
    """The request asks for what ``candidate`` does: its own act (the verb its description
    opens with: "email everyone…" asks a sender to send) or a word its helpers lack."""
    verb = terms((candidate.service.description or "").split(" ", 1)[0])
    return bool(set(verb) & set(goal.query)) or _named(index, goal, candidate, helpers)


def _answers(index: ServiceIndex, candidate: Candidate, words: set[str]) -> bool:
    """A question in ``words`` may be answered by the service: it reports, or the question
    names the act it does (the verb its description opens with), or what it tells."""
    if not acts(candidate.service):
        return True
    act = terms((candidate.service.description or "").split(" ", 1)[0])
    return bool(set(act) & words) or index.answers(words, candidate.service.name) > 0


def _quoted(text: str, limit: int = 200) -> str:
    """A part of the action, short enough for a message (an action may be 100,000 chars)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _takes(goal: _Goal, candidate: Candidate) -> bool:
    """The candidate takes the thing the clause asks about through another record ("the
    machine that made lot L-3": a machine status takes a ``machineId``)."""
    return bool(goal.about & set(terms(" ".join(candidate.required))))


def _named(
    index: ServiceIndex, goal: _Goal, candidate: Candidate, helpers: list[str], own: bool = False
) -> bool:
    """The request (``own``: the clause's own words, not the action type) has a word of
    ``candidate``'s that none of its helpers has."""
    theirs = set().union(*(index.words_of(h) for h in helpers))
    asked = goal.words if own else set(goal.query)
    return bool((index.words_of(candidate.service.name) - theirs) & asked)


def _after(earlier: str, later: str) -> bool:
    """Step ids are numbered in creation order, so this ordering can never make a cycle."""
    return _number(earlier) < _number(later)


def _number(step_id: str) -> int:
    """The n of a ``step<n>`` id this planner made (ASCII digits only: ``int('²')`` raises)."""
    match = _STEP_NUMBER.fullmatch(step_id)
    return int(match.group(1)) if match else 0
