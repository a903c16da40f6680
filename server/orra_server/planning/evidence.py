"""What besides the action's words says which service is meant: the data, and the catalog.

- **Data that fits.** A caller sends the fields it sends for a reason: when the data holds
  exactly the inputs one service needs (an ``orderId`` for an order lookup), that is strong
  evidence for it, whatever words the action uses ("S-80", "in dollars?").
- **What is asked.** The act a request asks for ("cancel", "get it cancelled") and the thing
  ("I want compensation"): a service must do and name them to be planned for them.
- **Refusals that say why.** When nothing is planned, the message names the closest service
  and what kept it out. (When nothing matched well enough, :mod:`.rescue` looks for a plan
  the data and the catalog still point to.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .chain import CONTENT_FIELDS, Candidate, norm
from .clauses import POLITE_OPENING
from .relevance import ServiceIndex, spelled, terms
from .service import PlannedService

__all__ = [
    "LIGHT_VERBS",
    "QUESTION_TO_ACTOR",
    "acts",
    "asked_act",
    "asked_thing",
    "closest",
    "exact_fit",
    "handing",
    "specific",
    "told",
]


#: what a question weighs for a service that acts (sends, starts, files…) rather than reports: a
#: question asks for a fact ("is P-8 still running?" is not "start a run of P-8")
QUESTION_TO_ACTOR = 0.7
#: the stems of verbs by which a description says its service changes the world
_ACTING = frozenset(
    terms(
        "send sends emails notifies starts triggers submits files creates books schedules "
        "cancels approves rejects deletes removes updates assigns opens issues refunds pays "
        "posts publishes locks unlocks resets wipes shifts moves enrols grants revokes runs "
        "reruns pages alerts prints sets turns switches charges orders transfers arranges "
        "registers records extends erases buys redirects renews requests asks adds marks "
        "replaces repairs installs ships delivers reserves releases closes suspends disables "
        "enables activates deactivates blocks"
    )
)


#: the stems of verbs by which a request asks for something done, not told: a request whose
#: verb is one of these is not rescued by a service whose words lack it ("pay the guest's fare
#: for EP-4" is not a lookup of EP-4). Not "get", "set" or "stop" ("get 2 kilos in", "set it
#: up", "stop emailing me"): the words after them say what is wanted
_ASKED_ACTS = (
    _ACTING
    | frozenset(
        terms(
            "pay cancel order print post shut start make build buy book reserve renew "
            "replace repair fix install ship deliver drill plant harvest upgrade downgrade "
            "change add delete remove move transfer refund return swap extend mark approve sign "
            "register enrol enroll subscribe unsubscribe hire fire invite deploy restart reboot "
            "lower raise increase decrease reduce waive design translate refill fill proofread cut "
            "wire ban restore rewrite redo "
            "wash cook bake decorate"
        )
    )
) - frozenset(terms("get set"))


#: verbs whose object says what is wanted ("run a scan", "turn notes into an invoice", "add a
#: correction", "sign me up"): the act is not the verb, so no service need name it
LIGHT_VERBS = frozenset(terms("run rerun turn make put give take do add sign start set get have"))


#: how a wish opens: "I want …", "we'd like to …", "I need …"
_WISH = re.compile(
    r"^\s*(?:i|we)(?:\s+(?:really|just|also|would|do))?(?:'d)?\s+(?:want|need|like|wanna|love)"
    r"\b\s*(?P<to>to\b)?\s*",
    re.IGNORECASE,
)
#: a word written with a capital and then small letters: a name
_NAMED = re.compile(r"[A-Z][a-z]").match
#: what ends the thing a wish names: "a partial refund | on TP-2999"
_THING_END = re.compile(
    r"\s(?:on|for|to|from|with|at|by|in|into|onto|of|about|before|after|because|as|so|please|who"
    r"|that|which|whose)\b|[,.;:!?]"
)


#: verbs that hand the asker what they ask for: "send me X" asks for X
_HANDING = frozenset(terms("send email mail text forward give show bring"))


#: the act a "get it …" or "have it …" asks for: "get the parking fine cancelled"
_DONE = re.compile(r"\s(\w+(?:ed|en))\W*$", re.IGNORECASE)


def _verb_phrase(text: str) -> str | None:
    """The clause from its verb on, after a wish's "I want to" and any politeness; None for a
    wish for a thing ("I want compensation")."""
    wish = _WISH.match(text)
    if wish and not wish.group("to"):
        return None
    return POLITE_OPENING.sub("", text[wish.end() :] if wish else text)


def asked_act(text: str) -> tuple[str, str] | None:
    """The act an imperative clause or a wish asks for: the stem of its verb, the first word
    after any politeness ("can you print my tickets", "I want to print them" →
    ``("print", "print")``), when it is a verb of doing; with the word as written, for
    messages."""
    opening = _verb_phrase(text)
    if opening is None or handing(text):
        return None  # a wish for a thing; "send me the final bill" asks for the bill
    word = opening.split(" ", 1)[0].lower()
    verb = terms(spelled(word))  # "cancle it" asks to cancel
    if verb and verb[0] in ("get", "have") and (done := _DONE.search(opening)):
        word, verb = done.group(1).lower(), terms(done.group(1))  # "get the fine cancelled"
    return (verb[0], word) if verb and verb[0] in _ASKED_ACTS else None


#: a verb of telling, then what is told: "message them that calls are 10-1", "give her a
#: heads-up she's nervous", "let them know someone will be there by 4"
_TELLING = re.compile(
    r"\b(?:send|sends|message|tell|email|text|notify|remind|warn|know|heads[- ]up|line)\b"
    r"[^.?!]*?\s(?:that|saying)\s"
    r"|\b(?:know|heads[- ]up)\s+(?=(?:she|he|they|we|i|it|someone|there|the|his|her|their|our"
    r"|your)\b)"
    # "tell CU-3 their order has shipped": whom, then what they are told
    r"|\b(?:tell|remind|message|text|email)\s+(?!me\b|us\b)(?:[\w-]+\s+){1,2}?"
    r"(?=(?:their|his|her|its|it|we|they|she|he|our|your)\b[^.?!]*?"
    r"\b(?:is|are|was|were|has|have|had|will|can|won't)\b)",
    re.IGNORECASE,
)


def told(text: str) -> str:
    """The clause without what it asks to be told ("message them that calls are 10-1" →
    "message them that"): the words of a message say nothing of who sends it."""
    telling = _TELLING.search(text)
    return text[: telling.end()] if telling else text


def handing(text: str) -> str | None:
    """The stem of the verb by which a clause asks to be handed something ("send me the
    final bill", "email us a copy", "send over the code"): it names no act, the thing is what
    is asked for."""
    rest = (_verb_phrase(text) or "").split(" ", 2)
    verb = terms(rest[0].lower())
    given = len(rest) > 1 and rest[1].lower() in ("me", "us", "over", "across", "through")
    return verb[0] if given and verb and verb[0] in _HANDING else None


#: a word of a thing asked for that is data, not a word of what is wanted ("ST-58830",
#: "jlee@acme.com")
_REFERENCE_WORD = re.compile(r"[\d@]")
#: who, not what: "page whoever is on call", "ask her for them"
_PEOPLE = frozenset(
    [
        "whoever",
        "whoever's",
        "whomever",
        "someone",
        "somebody",
        "anyone",
        "anybody",
        "everyone",
        "everybody",
        "me",
        "us",
        "you",
        "him",
        "her",
        "them",
        "it",
    ]
)


#: the second word of a verb of two ("clean up", "sort out"): part of the act, not a thing
_PARTICLES = frozenset(["up", "down", "out", "off", "in", "on", "over", "back", "away"])


#: verbs whose object is whom the message goes to ("text the owner", "ping whoever is on")
_ADDRESSING = frozenset(
    """
    message email e-mail text notify tell ping remind contact call phone ring page alert warn
    inform update dm
    """.split()  # noqa: SIM905 (a word list reads better as words)
)
#: what an object that is a saying opens with: "note that …", "check whether …"
_SAYING = re.compile(r"\s*(?:that|if|whether|how|what|when|where|who|why)\b", re.IGNORECASE)
#: what is sent is a message, whatever it is called: "send IMP-4 a note: …"
_MESSAGES = frozenset(
    ["note", "message", "line", "email", "e-mail", "text", "update", "reminder", "memo", "word"]
)
#: words of when, how many and how soon: what a request says of its data, not a thing it asks
#: for
_WHEN = frozenset(
    """
    today tomorrow tonight yesterday next last this week weekend month year morning afternoon
    evening night am pm monday tuesday wednesday thursday friday saturday sunday january
    february march april may june july august september october november december another more
    new same straight right asap immediately urgently quickly soon again please
    """.split()  # noqa: SIM905 (a word list reads better as words)
)


def asked_thing(text: str, given: str = "") -> list[tuple[str, str]]:
    """The words of the thing a clause asks for: what a wish names ("I want a partial refund
    on TP-2" → ``[("partial", "partial"), ("refund", "refund")]``) or the object of an act
    ("send a technician" → ``[("technician", "technician")]``); none for any other clause.
    Words that are the request's data (``given``, its values in lower case: "mark Priya Shah
    as coming") or say when and how many are not the thing."""
    wish = _WISH.match(text)
    if wish and not wish.group("to"):
        rest = text[wish.end() :]
    elif (act := asked_act(text)) and act[0] not in LIGHT_VERBS:
        if act[1].lower() in _ADDRESSING:
            return []  # "message whoever's teaching it": its object is who, not what
        rest = (_verb_phrase(text) or "").partition(" ")[2]
    else:
        return []
    if _SAYING.match(rest):
        return []  # "record that V-8 went fine": what is said, not a thing
    end = _THING_END.search(rest)
    # a capitalised word is a name ("a load into Kettle Lane"), not the thing
    words = [w.lower() for w in (rest[: end.start()] if end else rest).split() if not _NAMED(w)]
    return [
        (stem[0], word)
        for word in words
        if not _REFERENCE_WORD.search(word)
        and word not in _PEOPLE | _PARTICLES | _WHEN | _MESSAGES
        and word.strip("'s") not in given
        and (stem := terms(word))
    ]


def acts(service: PlannedService) -> bool:
    """Its description opens with a verb of doing, not of reporting ("Opens a claim" does;
    "Shows a lease's terms" does not, though both read as "get" among its words)."""
    word = (service.description or "").split(" ", 1)[0].lower()
    first = terms(word)
    return word.startswith("open") or (bool(first) and first[0] in _ACTING - {"get"})


def exact_fit(candidate: Candidate, data: dict[str, Any]) -> bool:
    """The data holds every input the service requires (a free-text one, such as a
    ``reason``, may come from the action's words) and nothing it does not take."""
    given = {norm(k) for k in data}
    takes = {norm(f) for f in candidate.inputs}
    texts = {
        norm(f)
        for f, spec in candidate.inputs.items()
        if norm(f) in CONTENT_FIELDS and spec.get("type") in (None, "string")
    }
    required = {norm(f) for f in candidate.required}
    return bool(given) and bool(required - texts) and required - texts <= given <= takes


def specific(candidate: Candidate, data: dict[str, Any], candidates: list[Candidate]) -> bool:
    """The data says which service it is for: it has several fields, or no other service takes
    any of them (a lone ``patientId`` is sent with any request about a patient)."""
    given = {norm(k) for k in data}
    if len(given) > 1:
        return True
    return not any(given & {norm(f) for f in c.inputs} for c in candidates if c is not candidate)


def closest(
    candidates: list[Candidate],
    index: ServiceIndex,
    query: list[str],
    data: dict[str, Any],
    needed: float,
    failures: Iterable[str] = (),
) -> str:
    """The closest service and why it was not used (a sentence to end a refusal with)."""
    if not candidates:
        return "no services are registered"

    def nearness(c: Candidate) -> tuple[float, float, int, str]:
        name = c.service.name
        given = {norm(k) for k in data} & {norm(f) for f in c.inputs}
        return (-index.coverage(query, name), -index.score(query, name), -len(given), name)

    best = min(candidates, key=nearness)
    name = best.service.name
    shared = sorted(set(query) & index.words_of(name))
    share = index.coverage(query, name)
    why = next((f for f in failures if f.startswith(f"'{name}'")), None)
    if why is not None:  # "'name' needs 'x', which …"
        return f"closest: {name}; it {why.removeprefix(repr(name)).strip()}"
    if not shared:
        return f"closest: {name}, though it shares no word with the request"
    words = ", ".join(f"'{w}'" for w in shared[:4])
    return (
        f"closest: {name} (shares {words}: {share:.0%} of the request's weighted words; "
        f"a service needs {needed:.0%}, or a clear lead over the rest and the request's data)"
    )
