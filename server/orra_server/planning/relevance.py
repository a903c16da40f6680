"""How well each service answers an action: BM25 over the catalog, no tuned bonuses.

Each service is a small document: its name (counted twice: it is chosen to say what the
service is), its description, and the names and descriptions of its input and output fields
(``customerId`` → "customer id"). The catalog is the corpus, so a word every service shares
("customer" in a support desk) counts little and a rare one ("invoice") counts a lot. Words are
lower-cased, split at camelCase and punctuation, stripped of stopwords, stemmed with the
Snowball English stemmer and folded through a few verb synonyms. Deterministic, offline, and a
few hundred microseconds for a 50-service catalog.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein
from spellchecker import SpellChecker

from ..core.jsonschemas import properties_of
from .phrasal import one_verb
from .service import PlannedService
from .text import STOPWORDS

__all__ = ["ServiceIndex", "spelled", "terms"]

#: words that say nothing about which service is meant: grounding's list (``text.py``) plus
#: the question and filler words a ranking by rarity would otherwise weigh
_STOPWORDS = STOPWORDS | frozenset(
    {
        *("all", "also", "any", "could", "does", "here", "if", "just", "let", "like", "need"),
        *("now", "one", "should", "some", "then", "there", "these", "those", "when", "where"),
        *("who", "whom", "whose", "why"),
    }
)

#: verbs people use for the same capability, folded to one stem (a principle, not a case: a
#: person who asks to "fetch" means what a service that "retrieves" does)
_SYNONYMS = {
    stem: canonical
    for canonical, stems in {
        "get": ("fetch", "retriev", "lookup", "obtain", "load", "download", "pull", "show", "open"),
        "search": ("find", "discov", "locat"),
        "write": ("compos", "draft", "generat", "prepar"),
        "check": ("verifi", "valid", "confirm", "screen"),
        "send": ("notifi", "dispatch", "email", "messag"),
        "calcul": ("comput", "estim"),
        "summar": ("summari", "summaris", "summariz", "gist", "recap", "tldr", "digest"),
        # school marks are grades, a company's rules its policy
        "grade": ("mark",),
        "polici": ("rule",),
        # the same act in other words: charging someone is taking a payment, a reply is an
        # answer, an inquiry a question
        "pay": ("charg", "payment", "paid"),
        "answer": ("repli",),
        # the noun of a verb the stemmer leaves apart
        "sale": ("sell", "sold"),
        # "what's happening with my claim" asks for its status
        "status": ("happen", "progress"),
        "question": ("inquiri", "enquiri"),
        # to keep something for someone
        "hold": ("reserv",),
    }.items()
    for stem in stems
}

_stemmer = snowballstemmer.stemmer("english")


#: the longest word whose stem, spelling or Englishness is remembered: the caches are keyed by
#: words, and a client may send a 100,000-letter one
_REMEMBERED = 40


def _stem(word: str) -> str:
    return _cached_stem(word) if len(word) <= _REMEMBERED else _stem_of(word)


@lru_cache(maxsize=8192)
def _cached_stem(word: str) -> str:
    return _stem_of(word)


def _stem_of(word: str) -> str:
    if len(word) > 6 and word.endswith(("ise", "ises", "ised", "ising", "isation")):
        word = re.sub(r"is(e|es|ed|ing|ation)$", r"iz\1", word)  # British → American
    stem = _stemmer.stemWord(word)
    return _SYNONYMS.get(stem, stem)


#: literals in an action (links, e-mail addresses) are data to pass on, not words of intent
_LITERALS = re.compile(
    r"\b(?:https?://|www\.)\S+|(?<!\S)[^\s@]+@\S+"
)  # from a word's start: linear


#: texts no longer than this are remembered (a catalog's are read again at every plan); the
#: cache holds at most 16,384 of them, so at most about 8 MB of text
_CACHED_TEXT = 512


def terms(text: str) -> list[str]:
    """The text's words as the index counts them (repeats kept)."""
    text = text or ""
    return list(_cached_terms(text) if len(text) <= _CACHED_TEXT else _terms(text))


@lru_cache(maxsize=16384)
def _cached_terms(text: str) -> tuple[str, ...]:
    return _terms(text)


def _terms(text: str) -> tuple[str, ...]:
    text = one_verb(_LITERALS.sub(" ", text))
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    words = re.findall(r"[a-z]+", spaced.lower())
    return tuple(_stem(w) for w in words if w not in _STOPWORDS and len(w) > 1)


#: a field that names a record rather than tells something of it: "findId", "orderNumber"
_ID_FIELD = re.compile(r"(?:id|ids|number|ref|reference|code)$", re.IGNORECASE)


def _fields_of(properties: dict, ids: bool = True) -> str:
    """A schema's fields (its ``properties_of``) and their descriptions, as text (``ids``: the
    fields that only name a record too)."""
    parts: list[str] = []
    for name, spec in properties.items():
        if not ids and _ID_FIELD.search(name):
            continue
        parts.append(name)
        if isinstance(spec, dict) and isinstance(spec.get("description"), str):
            parts.append(spec["description"])
    return " ".join(parts)


#: how a description opens when the service reports, or goes on ("Runs the rules on a table
#: and lists the failing ones"): what follows is what it tells
_REPORTING = re.compile(
    r"(?:^\s*|\band\s+)(?:returns|shows|lists|reports|tells|gives|reads|looks up|answers)\b",
    re.IGNORECASE,
)


def _document(service: PlannedService) -> tuple[list[str], list[str]]:
    """The service's words, and the words of what it tells among them: its output fields,
    and the description of a service that reports ("Shows a lease's terms: lessor, …")."""
    returned = properties_of(service.output_schema or {})
    outputs = _fields_of(returned)
    description = service.description or ""
    own = f"{service.name} {service.name} {description}"
    reporting = _REPORTING.search(description)  # what it tells, not that it tells
    # an id it returns answers no question about the record ("where's the bag for find 4?")
    answers = _fields_of(returned, ids=False)
    told = f"{answers} {description[reporting.end() :]}" if reporting else answers
    taken = _fields_of(properties_of(service.input_schema or {}))
    return terms(f"{own} {taken} {outputs}"), terms(told)


#: a word followed by one of these is used as a verb: "books the farrier", "texts a customer"
_VERB_USE = re.compile(
    r"\b([A-Za-z]+)\s+(?:a|an|the|its|their|his|her|your|our|every|each|any|all|one|up|out)\b"
)
#: a light verb's object is the act: "Takes a card payment", "Makes a booking"
_LIGHT_USE = re.compile(
    r"^\s*(?:takes|makes|gives|runs|does|puts|sets|handles|carries out)\s+(?:a|an|the)?\s*"
    r"([A-Za-z]+)(?:\s+([A-Za-z]+))?",
    re.IGNORECASE,
)
#: the verbs of sending a message: one act, whichever a service names (not the same list as
#: evidence._ADDRESSING, verbs whose object is a person, nor clauses._TOLD: "send" has a thing)
_SENDING = (
    "send text sms email mail message notify ping page alert warn dm remind contact call phone "
    "ring tell whatsapp"
)
_SENDING_STEMS = frozenset(terms(_SENDING))
#: how a description of a service that reports opens: a verb of telling, or what it tells
_REPORTS = re.compile(
    r"^\s*(?:returns|shows|lists|reports|tells|gives|reads|looks up|answers|finds|checks|a|an"
    r"|the|who|what|where|when|which|whether|how|latest|current|everything)\b",
    re.IGNORECASE,
)
#: who does an act: "submitter", "fetcher", "scanner" name a service by what it does
_AGENT = re.compile(r"(?:er|or)$")


def _acts_of(service: PlannedService) -> frozenset[str]:
    return _cached_acts(service.name, service.description or "")


@lru_cache(maxsize=4096)  # a catalog's services are read again at every plan
def _cached_acts(name: str, description: str) -> frozenset[str]:
    """The stems of what the service does: its description's verbs (the first word, words used
    as verbs: "…, books the empty-unit inspection", a light verb's object: "Takes a payment")
    and the words of its name ("lesson-book", "payment-capture", "expense-submitter"; only the
    last for a service that reports: "order-status" does not order)."""
    words = [description.split(" ", 1)[0], *_VERB_USE.findall(description)]
    if light := _LIGHT_USE.match(description):
        words += [w for w in light.groups() if w]
    named = re.split(r"[-_\s]", name)
    for word in named[-1:] if _REPORTS.match(description) else named:
        words += [word, _AGENT.sub("", word), re.sub(r"(\w)\1(?:er|or)$", r"\1", word)]
    acts = {t for word in words for t in terms(word)}
    if acts & _SENDING_STEMS:
        acts.add("send")
    return frozenset(acts)


@dataclass
class ServiceIndex:
    """BM25 (k1 = 1.2, b = 0.75) with the catalog as the corpus."""

    services: Sequence[PlannedService]
    k1: float = 1.2
    b: float = 0.75
    _docs: dict[str, Counter[str]] = field(default_factory=dict, init=False)
    _lengths: dict[str, int] = field(default_factory=dict, init=False)
    _idf: dict[str, float] = field(default_factory=dict, init=False)
    _average: float = field(default=1.0, init=False)
    #: each service's output words: where the answer to a question is found
    _outputs: dict[str, set[str]] = field(default_factory=dict, init=False)
    #: the catalog's words by their first five letters: a word's family shares them
    _by_prefix: dict[str, list[str]] = field(default_factory=dict, init=False)
    #: the stems of what each service does (its verbs, not its nouns)
    _acts: dict[str, frozenset[str]] = field(default_factory=dict, init=False)
    _all_acts: frozenset[str] = field(default=frozenset(), init=False)

    def __post_init__(self) -> None:
        frequency: Counter[str] = Counter()
        for service in self.services:
            document, outputs = _document(service)
            self._docs[service.name] = Counter(document)
            self._lengths[service.name] = len(document)
            frequency.update(set(document))
            self._outputs[service.name] = set(outputs)
            self._acts[service.name] = _acts_of(service)
        self._all_acts = frozenset().union(*self._acts.values())
        for term in frequency:
            self._by_prefix.setdefault(term[:5], []).append(term)
        count = len(self.services) or 1
        self._average = sum(self._lengths.values()) / count or 1.0
        self._idf = {
            term: math.log(1 + (count - n + 0.5) / (n + 0.5)) for term, n in frequency.items()
        }
        #: what a word no service uses weighs in :meth:`coverage`: as much as a typical word
        #: of the catalog (a name or a date in the action should not sink a good match)
        weights = sorted(self._idf.values()) or [1.0]
        self.unseen = weights[len(weights) // 2]

    def known(self, term: str) -> bool:
        return term in self._idf

    def does(self, term: str, name: str | None = None) -> bool:
        """A service (``name``, or any) does ``term``, a verb's stem: "stop" in "bus stop" is
        no act, and every way of sending a message is one."""
        term = "send" if term in _SENDING_STEMS else term
        return term in (self._acts[name] if name else self._all_acts)

    def expand(self, query: list[str], names: frozenset[str] = frozenset()) -> list[str]:
        """``query`` with each word no service uses replaced by the catalog's word it most
        likely means: a misspelling of it ("recipt" → "receipt") or a part of a compound
        ("slip" in "payslip"); a word with no such match stays (it still weighs in
        :meth:`coverage`), and so does one of the ``names`` ("Monty" is not "month")."""
        return [
            term if term in self._idf or term in names else self._nearest(term) for term in query
        ]

    def _nearest(self, term: str) -> str:
        if len(term) < 4:
            return term
        if len(term) >= 5 and _english(term):  # a word of its own ("spend" is not "send"),
            # but maybe of a family the catalog uses ("respond" for "response")
            family = [w for w in self._by_prefix.get(term[:5], ()) if _family(w, term)]
            if family:
                return min(family, key=lambda w: (-len(os.path.commonprefix([w, term])), w))
        elif len(term) >= 5:  # a slip: one in a short word, two in a long one, the first
            # letter kept
            same_start = sorted(w for w in self._idf if w[0] == term[0])
            slips = 1 if len(term) < 8 else 2
            close = process.extractOne(
                term, same_start, scorer=DamerauLevenshtein.distance, score_cutoff=slips
            )
            if close:
                return close[0]
        parts = sorted(w for w in self._idf if len(w) >= len(term) + 3 and _compound(w, term))
        return parts[0] if len(parts) == 1 else term

    def answers(self, query: Iterable[str], name: str) -> float:
        """The query's weight (by idf) found among ``name``'s output words."""
        outputs = self._outputs.get(name, set())
        return sum(self._idf[t] for t in set(query) if t in outputs)

    def words_of(self, name: str) -> set[str]:
        return set(self._docs[name])

    def idf(self, term: str) -> float:
        return self._idf.get(term, self.unseen)

    def score(self, query: Iterable[str], name: str) -> float:
        """BM25; a word repeated in the query counts once per repeat."""
        document, length = self._docs[name], self._lengths[name]
        total = 0.0
        for term in query:
            tf = document.get(term, 0)
            if tf:
                norm = tf + self.k1 * (1 - self.b + self.b * length / self._average)
                total += self._idf[term] * tf * (self.k1 + 1) / norm
        return total

    def coverage(self, query: Iterable[str], name: str) -> float:
        """The share of the query's weight (by idf) that ``name``'s document contains."""
        wanted = set(query)
        weight = sum(self.idf(t) for t in wanted)
        found = sum(self.idf(t) for t in wanted if t in self._docs[name])
        return found / weight if weight else 0.0

    def ranked(self, query: list[str]) -> list[tuple[float, str]]:
        """(score, name), best first; ties by name."""
        scored = [(self.score(query, s.name), s.name) for s in self.services]
        return sorted(scored, key=lambda item: (-item[0], item[1]))


#: the endings by which a stem is found again as a word ("invoic" → "invoice")
_ENDINGS = ("", "e", "s", "es", "ed", "ing", "er", "y", "ion", "ate", "al", "ment")


#: no English word the planner corrects or looks up is longer
_LONGEST_WORD = 24


@lru_cache(maxsize=1)
def _dictionary() -> SpellChecker:
    return SpellChecker(language="en", distance=1)  # one slip: a correction in microseconds


def spelled(word: str) -> str:
    """``word`` as an English word: itself, or the word one slip away that English uses most
    ("cancle" → "cancel"); itself when there is none."""
    if len(word) > _LONGEST_WORD:
        return word  # (a correction tries about 54 strings per letter: words are short)
    return _spelled(word)


@lru_cache(maxsize=4096)
def _spelled(word: str) -> str:
    dictionary = _dictionary()
    if word in dictionary.word_frequency.dictionary:
        return word
    return dictionary.correction(word) or word


def _english(term: str) -> bool:
    """``term`` is the stem of an English word, so not a misspelling of another."""
    return len(term) <= _LONGEST_WORD and _english_stem(term)


@lru_cache(maxsize=8192)
def _english_stem(term: str) -> bool:
    words = _dictionary().word_frequency.dictionary
    return any((word := term + ending) in words and _stem(word) == term for ending in _ENDINGS)


def _family(word: str, term: str) -> bool:
    """``word`` and ``term`` differ only in how they end ("respons", "respond")."""
    shared = len(os.path.commonprefix([word, term]))
    return shared >= max(5, len(term) - 1) and abs(len(word) - len(term)) <= 3


def _compound(word: str, part: str) -> bool:
    """``part`` is one of the words ``word`` is made of ("payslip" of "pay" and "slip")."""
    return word.startswith(part) or word.endswith(part)
