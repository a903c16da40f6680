"""The action as the planner reads it: its clauses, and the words of each kind.

The content's clauses (:mod:`.clauses`) say which parts ask for something; this module turns
them into the words each part weighs with (the type's, the context's, a clause's own) and the
acts asked for (:mod:`.evidence`), which a service must do to be planned for them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from .base import PlanningRequest
from .clauses import Clause, clauses_of
from .evidence import LIGHT_VERBS, asked_act, asked_thing, handing, told
from .relevance import ServiceIndex, terms

__all__ = ["Reading"]


@dataclass(frozen=True)
class Reading:
    """The action as the planner reads it: its clauses, and the words of each kind."""

    clauses: list[Clause]
    #: the type's words: the caller's own label of what is wanted
    label: list[str]
    #: the context clauses' words: they tell which sense is meant, they ask for nothing (and
    #: a clause saying something is fine tells nothing of what is wanted)
    context: list[str]
    #: every word of the action: who may help a chain, and the rescue's and refusal's query
    everything: list[str]
    expand: Callable[[list[str]], list[str]]
    #: the acts the request clauses ask for ("pay", "cancel"): what a rescue must do
    asked: dict[str, str] = field(default_factory=dict)
    #: the data's text values in lower case: words of the action that are data, not wishes
    given: str = ""

    @classmethod
    def of(cls, request: PlanningRequest, index: ServiceIndex) -> Reading:
        content = str(request.action.get("content", ""))
        given = " ".join(v for v in request.data.values() if isinstance(v, str)).lower()
        clauses = clauses_of(content)
        expand = partial(index.expand, names=_names(content))
        label = [t for t in expand(terms(str(request.action.get("type", "")))) if t not in _GENERIC]
        words = expand(terms(content))
        implied = [t for c in clauses for t in terms(" ".join(c.implied))]
        context = [
            t for c in clauses if not c.request and not c.fine for t in expand(terms(c.text))
        ]
        asked = dict(
            act for c in clauses if c.request and not c.question if (act := asked_act(c.text))
        )
        for c in clauses:  # "I want compensation", "send a technician": a thing no service
            # names is what must be done, whatever the act
            if thing := _unknown_thing(c, index, given):
                act = asked_act(c.text)
                if act and not _strange(act, index):  # done here, but not to this thing
                    asked.pop(act[0])
                asked.update(thing)
        return cls(clauses, label, context, [*label, *words, *implied], expand, asked, given)

    def query(self, clause: Clause, single: bool) -> list[str]:
        """A clause's own words; the type's too when it is the only one (the type is the
        caller's own label of what is wanted: it weighs as much as the words)."""
        query = self.expand(terms(told(clause.text)))
        if (handed := handing(clause.text)) in query:  # "send me the bill": the bill is asked for
            query.remove(handed)
        query += terms(" ".join(clause.implied))
        if single or not query:
            query = [*self.label, *query]
        return query

    def asks_unknown(self, clause: Clause, index: ServiceIndex) -> str:
        """What the clause asks for that no service does ("shut down staging": "does 'shut'")
        or names ("I want compensation", "send a technician": "names 'technician'"); empty
        when it asks for nothing so."""
        act = None if clause.question else asked_act(clause.text)
        if act and _strange(act, index):
            return f"does '{act[1]}'"
        if thing := _unknown_thing(clause, index, self.given):
            return "names " + ", ".join(f"'{word[:40]}'" for _, word in thing[:5])
        return ""


#: action types that say only that something is asked ("request", "question"): no label
_GENERIC = frozenset(terms("request question task action ask query general misc other inquiry"))
#: a capitalised word after a word that is not (not the first of a sentence): a name, which
#: no slip of spelling made ("who shoes Monty?")
_NAME = re.compile(r"(?<=[a-z0-9,]\s)(?-i:[A-Z][a-z]+)\b")


def _names(content: str) -> frozenset[str]:
    """The stems of the names in ``content``: words to leave as they are, not to correct."""
    return frozenset(t for name in _NAME.findall(content) for t in terms(name))


def _strange(act: tuple[str, str], index: ServiceIndex) -> bool:
    """No service of the catalog does the act (a light verb's object is the act)."""
    return act[0] not in LIGHT_VERBS and not index.does(act[0])


def _unknown_thing(clause: Clause, index: ServiceIndex, given: str) -> list[tuple[str, str]]:
    """The thing a request clause asks for, when no service names any word of it."""
    if not clause.request or clause.question:
        return []
    thing = asked_thing(clause.text, given)
    if thing and not any(index.known(t) for t in index.expand([s for s, _ in thing])):
        return thing
    return []
