"""When no part of the action matched a service well enough: the plan the data and the
catalog still point to, or none.

- **Data that fits.** A caller sends the fields it sends for a reason: a service whose inputs
  the data holds exactly is planned, whatever words the action uses ("S-80", "in dollars?").
- **A clear winner.** The best service under the bar is still planned when it stands clearly
  ahead of the rest of this catalog and its plan uses the request's data.
- **A question about a record.** "has 7731 been delivered yet?" asks about the record the data
  names: the service that reports on it answers, when nothing else does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .base import PlanningRequest
from .chain import CONTENT_FIELDS, Candidate, Chain, ChainError, norm
from .evidence import QUESTION_TO_ACTOR, acts, exact_fit
from .relevance import ServiceIndex

__all__ = ["RESCUE_COVERAGE", "RESCUE_MARGIN", "rescue"]

#: the least share of the action's weighted words the clear winner of a catalog must cover
RESCUE_COVERAGE = 0.05
#: and by how much its score must lead the runner-up's
RESCUE_MARGIN = 1.5


def rescue(
    request: PlanningRequest,
    candidates: list[Candidate],
    index: ServiceIndex,
    query: list[str],
    asked: Mapping[str, str] | None = None,
    question: str = "",
) -> tuple[Chain | None, list[str]]:
    """When no part of the action matched a service well enough: a plan for the service the
    data fits exactly (when it fits several, the one the words favour), else for the catalog's
    clear winner if its plan uses the request's data; or why not. Never a service that does
    not do an act the request ``asked`` for (stem → word) (a rescue reads a vague request, not a
    different one), unless several fields of the data fit it exactly. A ``question`` prefers
    services that report over those that act; when nothing else answers it, the record the
    data names is what it asks about (``question``: the text of the questions)."""
    data = request.data
    failures: list[str] = []

    def score(c: Candidate) -> float:  # a question asks for a fact, not for an act
        weight = QUESTION_TO_ACTOR if question and acts(c.service) else 1.0
        return weight * index.score(query, c.service.name)

    fits = sorted(
        (c for c in candidates if exact_fit(c, data)), key=lambda c: (-score(c), c.service.name)
    )
    # the data fits one service, or the words favour one of those it fits
    order = [c for c in fits[:1] if len(fits) == 1 or score(c) > score(fits[1])]
    ranked = index.ranked(query)
    if ranked and ranked[0][0] > 0:
        best, name = ranked[0]
        runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
        if best >= RESCUE_MARGIN * runner_up and index.coverage(query, name) >= RESCUE_COVERAGE:
            order.append(next(c for c in candidates if c.service.name == name))
    if question:  # "has 7731 been delivered yet?": the tracking of 7731
        order += [c for c in _reporter(candidates, data, question, score) if c not in order]
    asked = asked or {}

    def does_what_is_asked(candidate: Candidate, sure: bool) -> bool:
        name = candidate.service.name
        absent = {stem for stem in asked if not index.does(stem, name)}
        missing = sorted(asked[stem] for stem in absent)
        if asked and len(missing) == len(asked) and not sure:
            acts_asked = ", ".join(f"'{w}'" for w in missing)
            failures.append(f"'{name}' does not do what is asked ({acts_asked})")
            return False
        return True

    def chain_to(candidate: Candidate) -> Chain | None:
        trial = Chain(request, candidates)
        try:
            trial.try_add(candidate)
        except ChainError as exc:
            failures.append(str(exc))
            return None
        return trial

    for candidate in order:
        fit = candidate in fits
        # fields that say it all ("move D-19 to …") need no verb of the service's
        if not does_what_is_asked(candidate, sure=fit and len(data) > 1):
            continue
        if fit:  # the words may favour a service the fitting one feeds ("when does the
            # branch of booking RZ-7 close": the lookup, then the branch's hours)
            for goal in _fed_by(candidate, candidates, score)[:_FED_TRIED]:
                trial = chain_to(goal) if does_what_is_asked(goal, sure=False) else None
                if trial and candidate.service.name in {s.component for s in trial.steps}:
                    return trial, failures
        trial = chain_to(candidate)
        if trial and (fit or trial.data_used()):
            return trial, failures
    return None, failures


def _reporter(
    candidates: list[Candidate],
    data: dict[str, Any],
    question: str,
    score: Callable[[Candidate], float],
) -> list[Candidate]:
    """The service that reports on the record a question names: it does not act, the data
    holds every input it requires, one of them the record the question names (its value is in
    the question, or it is the data's only field); of several, the one the words favour, or
    else the one that tells the most (a record answers a vague question). None if still tied."""
    given = {norm(k) for k in data}
    named = {
        norm(k)
        for k, v in data.items()
        if isinstance(v, str | int) and str(v) and str(v).lower() in question.lower()
    }
    named = named or (given if len(given) == 1 else set())
    found = []
    for c in candidates:
        required = {norm(f) for f in c.required} - CONTENT_FIELDS
        if not acts(c.service) and required and required <= given and required & named:
            found.append(((score(c), len(c.outputs)), c))
    found.sort(key=lambda sc: (sc[0][0], sc[0][1]), reverse=True)
    if len(found) > 1 and found[0][0] == found[1][0]:
        return []
    return [c for _, c in found[:1]]


#: how many of the services a rescued one feeds are tried as the chain's end
_FED_TRIED = 3


def _fed_by(
    source: Candidate, candidates: list[Candidate], score: Callable[[Candidate], float]
) -> list[Candidate]:
    """The services that take an output of ``source`` and that the words favour over it, the
    most favoured first."""
    outputs = {norm(o) for o in source.outputs}
    own = score(source)
    fed = [
        (score(c), c)
        for c in candidates
        if c is not source and outputs & {norm(f) for f in c.required}
    ]
    return [c for s, c in sorted(fed, key=lambda sc: (-sc[0], sc[1].service.name)) if s > own]
