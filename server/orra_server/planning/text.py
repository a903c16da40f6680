"""Words for matching grounding use cases to actions and capabilities to services (the
planner's own ranking is BM25 in ``relevance.py``)."""

from __future__ import annotations

import re

__all__ = ["STOPWORDS", "coverage", "tokens"]

STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "for",
        "from",
        "has",
        "have",
        "hi",
        "hello",
        "i",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "please",
        "so",
        "that",
        "the",
        "their",
        "them",
        "this",
        "to",
        "us",
        "we",
        "with",
        "you",
        "your",
        "about",
        "more",
        "tell",
        "am",
        "what",
        "which",
        "how",
        "will",
        "would",
        "want",
        "service",
        "services",
        "agent",
        "data",
        "given",
        "using",
        "based",
    }
)
#: verbs people use for the same capability, folded to one word
_SYNONYMS = {
    word: canonical
    for canonical, words in {
        "verify": ("check", "validate", "validat", "confirm"),
        "get": ("fetch", "retrieve", "retriev", "lookup", "look", "obtain", "load"),
        "search": ("find", "discover"),
        "write": ("compose", "compos", "draft", "generate", "generat"),
        "make": ("create", "creat"),
        "send": ("notify", "notifie", "dispatch", "dispatche"),
        "calculate": ("compute", "comput", "estimate", "estimat", "calculat"),
    }.items()
    for word in words
}


def _stem(word: str) -> str:
    """A light stemmer: plurals and verb endings, enough to match names to descriptions."""
    if len(word) <= 4 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    for suffix in ("ing", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def tokens(text: str) -> set[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text or "")
    words = re.findall(r"[a-z0-9]+", spaced.lower())
    stemmed = (_stem(w) for w in words if w not in STOPWORDS and len(w) > 1)
    return {_SYNONYMS.get(w, w) for w in stemmed}


def coverage(wanted: set[str], offered: set[str]) -> float:
    """The share of ``wanted`` words found in ``offered`` (0 when nothing is wanted)."""
    return len(wanted & offered) / len(wanted) if wanted else 0.0
