"""An action's content in clauses, each marked as a request or as context.

People put the situation first and the request second: "The X arrived broken, so I want my
money back", "I changed phones and now the app won't let me in". The situation names no work;
it must inform the request (which sense of a word is meant) but never veto it. A clause is
*context* when a connective says so (the part before "so", the part from "because") or when
it is a statement rather than a request: it opens with a subject ("the", "my", "I"…) and carries
no word that asks for something ("need", "want", "please", "can you"…). Everything else — an
imperative ("reset those"), a question ("is P-8 still running?") — is a *request*.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

__all__ = ["Clause", "clauses_of"]

#: words that split an action into parts ("classify it, route it and …", "X, so Y")
_BREAK = re.compile(
    r",\s*(?:and\s+|then\s+|so\s+)?|;\s*|\s+-\s+|\s+and then\s+|\s+and\s+|\s+then\s+"
    r"|\s+so\s+(?=[a-z])|\s+(?=because\s)",
    re.IGNORECASE,
)
_BECAUSE = re.compile(r"^\s*because\b", re.IGNORECASE)
#: how a statement opens: a subject, not a verb
_SUBJECT = re.compile(
    r"^\s*(?:the|a|an|my|our|his|her|their|its|this|that|these|those|i|i'm|i've|we|we're|"
    r"it|it's|he|she|they|there|someone|everyone|nobody)\b",
    re.IGNORECASE,
)
#: words by which a statement still asks for something ("I need that day off")
_ASKS = re.compile(
    r"\b(?:need|needs|want|wants|wanna|like|please|pls|plz|can you|could you|would you|"
    r"let me|let's|have to|must|should|help)\b",
    re.IGNORECASE,
)
#: a request put politely as a question asks for work, not for a fact
_POLITE = re.compile(r"^\s*(?:can|could|would|will)\s+(?:you|we|i|someone)\b", re.IGNORECASE)
#: a statement whose subject is a name: "Emma is leaving us", "The driver says …"
_NAMED_SUBJECT = re.compile(
    r"^\s*[A-Z][\w'-]*\s+(?:is|are|was|were|has|had|says|said|keeps|left|went|got)\b"
)
#: a statement that something is fine: its words name what the request is *not* about
_FINE = re.compile(
    r"\b(?:is|are|was|seems?|works?)\s+(?:fine|ok|okay|good|working|alright)\b"
    r"|\bnot the (?:problem|issue)\b",
    re.IGNORECASE,
)
_WHAT_IS_ON = re.compile(r"\bwhat(?:'s| is| are)\s+(?:in|on)\b", re.IGNORECASE)
_QUESTION = re.compile(
    r"\?\s*$|^\s*(?:how|what|what's|why|when|where|which|who|can|could|is|are|was|were|do|"
    r"does|did|any|has|have)\b|^\s*(?:tell|show) me (?:what|whether|if|how|who|which|when|where)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Clause:
    text: str
    #: asks for work (an imperative, a question, a wish); otherwise it is context
    request: bool
    question: bool
    #: a context clause that says something is fine ("my password is fine")
    fine: bool = False
    #: words its form implies: a question asks for an answer; "what's on the camera" asks
    #: for a description of what it shows
    implied: tuple[str, ...] = ()


def clauses_of(content: str) -> list[Clause]:
    """The content's clauses in order; a content without break is one request clause."""
    parts: list[str] = []
    reasons: set[int] = set()  # parts that give the reason for the next one
    position = 0
    for match in _BREAK.finditer(content):
        part = content[position : match.start()]
        if part.strip():
            if re.search(r"\bso\b", match.group(0), re.IGNORECASE):
                reasons.add(len(parts))
            parts.append(part)
        position = match.end()
    parts.append(content[position:])
    parts = [p.strip() for p in parts]
    found: list[Clause] = []
    for i, part in enumerate(parts):
        if not part:
            continue
        question = bool(_QUESTION.search(part)) and not _POLITE.match(part)
        opens = _SUBJECT.match(part) or _NAMED_SUBJECT.match(part)
        statement = bool(opens) and not _ASKS.search(part) and not question
        context = i in reasons or bool(_BECAUSE.match(part)) or statement
        fine = context and bool(_FINE.search(part))
        found.append(Clause(part, not context, question, fine, _implied(part, question)))
    if found and not any(c.request for c in found):  # all statements: each may be the request
        found = [replace(c, request=True) for c in found]
    question = bool(_QUESTION.search(content)) and not _POLITE.match(content)
    return found or [Clause(content, True, question, False, _implied(content, question))]


def _implied(text: str, question: bool) -> tuple[str, ...]:
    words = ("question", "answer") if question else ()
    return (*words, "describe") if _WHAT_IS_ON.search(text) else words
