"""Verbs of two words that mean one verb: "send these shoes back" is "return these shoes",
"call the visit off" is "cancel the visit", "let P-4's daughter know" is "message P-4's
daughter". The planner's words (:func:`.relevance.terms`) are read after this rewriting, so a
request and a description that say the same act in different words share it.
"""

from __future__ import annotations

import re

__all__ = ["one_verb"]

#: how many words may stand between a verb and its particle (three unless said here)
_SPAN = {"know": 6}
#: verbs of two words that mean one ("send these shoes back" is "return these shoes"): the
#: particle may come after the object, of up to three words (six for whom to let know: "let
#: whoever first ringed AJ-66 know")
_PHRASAL = [
    (
        re.compile(
            rf"\b(?:{verbs})\b((?:\s+[\w'-]+){{0,{_SPAN.get(particle, 3)}}}?)\s+{particle}\b",
            re.IGNORECASE,
        ),
        one,
    )
    for verbs, particle, one in (
        ("send|sending|sent|bring|brought|give|gave|take|took|ship|post|mail", "back", "return"),
        ("call|calling|called", "off", "cancel"),
        ("hand|handing|handed|put|putting", "in", "submit"),
        ("look|looking|looked", "up", "get"),
        ("find|finding|found", "out", "check"),
        ("let|lets|letting", "know", "message"),
        ("put|putting", "(?:aside|by)", "hold"),
        ("put|putting", "through", "submit"),
        ("knock|knocking|knocked", "off", "discount"),
        ("give|giving|gave", "(?:a\\s+)?heads[- ]up", "message"),
        ("drop|dropping|dropped|flick|shoot", "(?:line|note|message|email|text)", "message"),
    )
]
#: "tell the instructor …" asks for a message; "tell me …" for an answer
_TELL = re.compile(
    r"\btell\b(?!\s+(?:me|us|whether|if|how|what|which|when|where|who|why)\b)"
    r"|\bflag(?:\s+(?:it|this|that))?\s+(?:up\s+)?to\b",
    re.IGNORECASE,
)


def one_verb(text: str) -> str:
    """``text`` with each verb of two words (or of a word and an object) written as the one
    verb it means: "send these shoes back" → "return these shoes"."""
    text = _TELL.sub("message", text)
    for pattern, verb in _PHRASAL:
        text = pattern.sub(rf"{verb}\1", text)
    return text
