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

__all__ = ["POLITE_OPENING", "Clause", "clauses_of", "pointer"]


def _alternatives(words: str) -> str:
    """``"need, can you"`` → ``need|can\\ you``: comma-separated words or phrases as a regex."""
    return "|".join(re.escape(word.strip()) for word in words.split(","))


def _opening(words: str) -> re.Pattern[str]:
    """Text that opens with one of ``words``."""
    return re.compile(rf"^\s*(?:{_alternatives(words)})\b", re.IGNORECASE)


def _anywhere(words: str) -> re.Pattern[str]:
    """Text that holds one of ``words`` as a whole word."""
    return re.compile(rf"\b(?:{_alternatives(words)})\b", re.IGNORECASE)


#: words that split an action into parts ("classify it, route it and …", "X, so Y")
_BREAK = re.compile(
    r",\s*(?:and\s+|then\s+|so\s+)?|;\s*|(?<=\?)\s+(?=\w)|\s+-\s+|\s+and then\s+"
    r"|(?<!\bgo)(?<!\bcome)(?<!\btry)\s+and\s+"
    r"|\s+then\s+|\s+so\s+(?!far\b|much\b|many\b|long\b|well\b)(?=[a-z])|\s+(?=because\s)"
    r"|\s+(?=rather than\s|instead of\s)"
    r"|\s+(?=(?:before|until|till|once|after|while)\s+(?:we|you|they|he|she|it|someone|somebody)"
    r"(?:'s|'re|'ve)?\s)"
    # a sentence's end: "… is in pieces. I want compensation" (not "Dr. Lee", "No. 5")
    r"|(?-i:(?<=[a-z0-9][.!])\s+(?=[A-Z]))",
    re.IGNORECASE,
)
#: words a full stop ends without ending the sentence
_ABBREVIATIONS = frozenset(
    ["mr", "mrs", "ms", "dr", "st", "no", "nr", "vs", "etc", "approx", "dept", "ref"]
)
_WH = "how, what, what's, why, when, where, which, who"
#: how a reason opens: "because …", "since our sponsor pulled out, …", "now that …"
_BECAUSE = _opening(
    "because, since, given that, now that, seeing as, seeing that, as, with the, with our, "
    "with their, with his, with her, with my, with two, with all, following the, after the"
)
#: how the time of the request is given: "before we drill it", "when the van gets in, …"
_TIMING = re.compile(
    r"^\s*(?:before|until|till|once|after|while|when|whenever|as soon as)\s+(?:we|i|you|they|he"
    r"|she|it|someone|somebody|the|our|their|his|her|its|this|that)\b(?![^?]*\?)",
    re.IGNORECASE,
)
#: how a statement opens: a subject, not a verb
_SUBJECT = _opening(
    "the, a, an, my, our, his, her, their, its, this, that, these, those, i, i'm, i've, we, "
    "we're, it, it's, he, she, they, there, someone, everyone, nobody"
)
#: a statement whose subject is a name: "Emma is leaving us", "The driver says …"
_NAMED_SUBJECT = re.compile(
    r"^\s*[A-Z][\w'-]*\s+(?:is|are|was|were|has|had|says|said|keeps|left|went|got)\b"
)
#: a statement whose subject is a noun and its verb "'s" ("Customer's here to collect",
#: "Printer's jammed again"), or a name in apposition (", Kingsbridge's secretary,")
_NOUN_IS = re.compile(
    r"^\s*[\w-]+'s\s+(?:here|there|gone|been|got|just|not|still|already|back|off|out|due|late"
    r"|ready|waiting|asking|coming|going|broken|dead|stuck|down|missing|lost|over|finished|done"
    r"|left|running|sitting|saying|jammed|leaking|playing|acting|on\s+(?:the|her|his|their)\b)\b"
    r"|^\s*(?-i:[A-Z])[\w-]*'s\s+[\w-]+\W*$",
    re.IGNORECASE,
)
#: words by which a statement still asks for something ("I need that day off")
_ASKS = _anywhere(
    "need, needs, want, wants, wanna, like, please, pls, plz, can you, could you, would you, "
    "let me, let's, have to, must, should, help"
)
#: how a request is put politely before its verb ("please", "can you", "just")
POLITE_OPENING = re.compile(
    r"^\s*(?:(?:please|pls|plz|kindly|just|can you|could you|would you|will you|can we|"
    r"could we|can u|could u|can someone|could someone|can somebody|could somebody)\b[\s,]*)+",
    re.IGNORECASE,
)
#: a request put politely as a question asks for work, not for a fact
_POLITE = _opening(
    "can you, could you, would you, will you, can we, could we, can i, could i, can someone, "
    "could someone, can somebody, could somebody"
)
#: a statement that something is fine: its words name what the request is *not* about
_FINE = _anywhere(
    "is fine, are fine, is ok, is okay, is good, is working, are working, works fine, "
    "seems fine, was fine, not the problem, not the issue"
)
#: a clause that agrees to something ("19 January works for us"): it asks for nothing itself
_AGREES = _anywhere("works for us, works for me, suits us, suits me, is fine by us, is fine by me")
#: a clause that asks for something *not* to be done ("just checking, don't change anything"):
#: like a statement that something is fine, it names what the request is not about
_NEGATED = _opening("don't, dont, do not, not, never, no need to, without, rather than, instead of")
#: a part that only points at a record: "account 6610093381", "PO-77812" (its words are the
#: data's label; they ask for nothing)
_REFERENCE = re.compile(
    r"^\s*(?:(?!(?:{})\b)[A-Za-z]+\s+)?#?[\w-]*\d[\w-]*\W*$".format(
        "message|email|e-mail|text|tell|remind|call|ring|phone|ping|notify|contact|page|cancel|renew"
        "|book|refund|check|track|find|open|close|pay|ship|print|approve|reject|delete|remove|restart"
        "|send|chase|escalate|flag|hold|release|reset|unlock|lock|block|suspend|reinstate|redeem"
    ),
    re.IGNORECASE,
)
#: a remark that asks for nothing ("just checking", "just wondering")
_REMARK = re.compile(
    r"^\s*(?:just\s+)?(?:checking|asking|wondering|curious|saying|fyi|thanks|thank you|cheers"
    r"|here you go|here you are|here it is|there you go)"
    r"\W*$",
    re.IGNORECASE,
)
#: a clause that only reports who asks or got in touch ("client's asking", "she's emailed to
#: ask", "CL-1288 keeps DMing", "a visitor wants to know"): it asks for nothing itself; what they
#: ask may follow it ("C-771 emailed asking what's left on GV-2" asks what's left on GV-2). An
#: "-ing" form needs its auxiliary, so "text the client asking …" stays an order
_REPORTED = re.compile(
    r"^\s*(?:[\w'@.()-]+\s+){0,6}?(?:[\w@.()-]+(?='))?"
    r"(?:(?:(?:is|are|was|were|keeps|kept|been|(?<=\w)'s|(?<=\w)'re)\s+(?:just\s+|still\s+)?"
    r"(?:asking|emailing|e-mailing|phoning|ringing|calling|chasing|messaging|dming|texting"
    r"|enquiring|inquiring|wondering|writing))"
    r"|(?:(?:has|have|had|(?<=\w)'ve|(?<=\w)'s|just|already)\s+)*"
    r"(?:emailed|e-mailed|phoned|rang|called|messaged|dmed|texted|asked|enquired|inquired|wrote"
    r"|chased|written|wondered)"
    r"|(?:wants|want|wanted|would like|'d like|needs|need) to know)"
    r"(?:\s+(?:in|back|up|again|earlier|today|yesterday|this morning))*"
    r"(?:\s+(?:asking|to ask|to know|wanting to know))?(?:\s+|\W*$)",
    re.IGNORECASE,
)
#: what follows a report of asking, when it is the question itself: "… asking what's left"
_ASKED_AFTER = _opening(f"{_WH}, if, whether")
#: a clause that says what might be done later or by the sender ("might have to call the heli
#: if it's low", "debating whether to …", "I'll ring them myself"): not asked for now
_HYPOTHETICAL = _opening(
    "might, may, maybe, perhaps, possibly, if, in case, unless, thinking of, thinking about, "
    "debating, considering, wondering whether, i'll, i will, we'll, we will, i might, we might, "
    "i may, we may"
)
#: someone else's wish ("the customer wants to add a server", "M-0087 wants 4 tickets"): the
#: situation, when the sender asks for something in another clause
_THEIR_WISH = re.compile(
    r"^\s*(?:(?:the|a|an|my|our|his|her|their|this|that|he|she|they|someone|mr|mrs|ms|dr)\b"
    r"|[\w-]*\d[\w-]*|(?-i:[A-Z])[\w'-]*(?=\s+(?:wants|needs)\b))"
    r"(?:\s+[\w'@.()-]+){0,5}?\s+(?:wants|needs|would like|is after|is hoping|wanting)\b",
    re.IGNORECASE,
)
#: a clause that says which part of the answer is wanted ("Only the number please", "just
#: need the company for the spreadsheet"): it narrows the question, it asks for nothing more
_ONLY = re.compile(
    r"^\s*(?:only|just)\s+(?:(?:need|want|after|asking for|wanting)\s+)?"
    r"(?:the|a|an|their|his|her|its|my|our)\s+[\w'-]+(?:\s+[\w'-]+)?"
    r"(?:\s+(?:please|pls|thanks|then|for\b.*))?\W*$",
    re.IGNORECASE,
)
#: a part that describes who or what was just named (", who first ringed SX-4,"): no question
_RELATIVE = re.compile(r"^\s*(?:who|whom|whose|which)\b(?![^?]*\?)", re.IGNORECASE)
#: a part that is what a message is to say (", that the club's insurance has lapsed")
_SAID = re.compile(r"^\s*that\b(?![^?]*\?)", re.IGNORECASE)
#: a verb by which a message is sent: what follows ", that …" is its text
_TOLD = _anywhere("message, email, e-mail, text, tell, remind, notify, warn, let, ping, inform")
_WHAT_IS_ON = _anywhere("what's in, what's on, what is in, what is on, what are in, what are on")
#: "where is claim C-3 at?", "where's my parcel": asks for a thing's status
_WHERE_IS = _opening("where is, where's, where are, wheres, where r")
#: a question: it ends with "?", opens with a question word or an auxiliary, or asks to be told
_QUESTION_MARK = re.compile(r"\?\s*$")
_QUESTION_OPENING = _opening(
    f"{_WH}, can, could, is, are, was, were, do, does, did, any, has, have"
)
_TELL_ME = re.compile(
    rf"^\s*(?:tell|show) me (?:{_alternatives(_WH + ', whether, if')})\b", re.IGNORECASE
)


def _is_question(text: str) -> bool:
    if _POLITE.match(text):
        return False
    return bool(
        _QUESTION_MARK.search(text) or _QUESTION_OPENING.match(text) or _TELL_ME.match(text)
    )


@dataclass(frozen=True, slots=True)
class Clause:
    text: str
    #: asks for work (an imperative, a question, a wish); otherwise it is context
    request: bool
    question: bool
    #: a context clause that says something is fine ("my password is fine") or is not to be
    #: done ("don't change anything"): it names what the request is not about
    fine: bool = False
    #: words its form implies: a question asks for an answer; "what's on the camera" asks
    #: for a description of what it shows
    implied: tuple[str, ...] = ()


def clauses_of(content: str) -> list[Clause]:
    """The content's clauses in order; a content without break is one request clause."""
    parts: list[str] = []
    reasons: set[int] = set()  # parts that give the reason for the next one
    joined: list[bool] = []  # whether "and" (no comma) ends each part: "since X and Y, do Z"
    because: set[int] = set()  # parts that open with a reason ("since …"), and what "and" adds
    position = 0
    colon = next(  # "… look at it: <the text to look at>", not "Quick one: how much …?"
        (c for c in _PAYLOAD.finditer(content) if _hands_on(content[: c.start()])), None
    )
    payload = content[colon.end() :].strip() if colon else ""
    content = content[: colon.start()] if colon else content
    for match in _BREAK.finditer(content):
        if _abbreviated(content, match.start()):
            continue
        part = content[position : match.start()]
        if part.strip():
            if re.search(r"\bso\b", match.group(0), re.IGNORECASE):
                reasons.add(len(parts))
            parts.append(part)
            joined.append(bool(re.fullmatch(r"\s+and\s+", match.group(0), re.IGNORECASE)))
        position = match.end()
    parts.append(content[position:])
    parts = [p.strip() for p in parts]
    found: list[Clause] = []
    for i, part in enumerate(parts):
        if not re.search(r"[A-Za-z]{2}", part) or _REFERENCE.match(part):
            continue  # an id or a number of a list ("A, B and C"), a reference ("order 7")
        if reported := _REPORTED.match(part):
            part = part[reported.end() :].strip()
            if not _ASKED_AFTER.match(part):  # "client's asking": it says who asks, no more
                found.append(Clause(reported.group(0).strip(), False, False, True))
                continue
            found.append(Clause(part, True, True, False, _implied(part, True)))
            continue
        if _HYPOTHETICAL.match(part):
            found.append(Clause(part, False, False, True))
            continue
        question = _is_question(part)
        opens = _SUBJECT.match(part) or _NAMED_SUBJECT.match(part) or _NOUN_IS.match(part)
        statement = bool(opens) and not _ASKS.search(part) and not question
        negated = bool(
            _NEGATED.match(part)
            or _REMARK.match(part)
            or _AGREES.search(part)
            or (i > 0 and _ONLY.match(part))  # after what it narrows
        )
        timing = bool(_TIMING.match(part))
        if i and joined[i - 1] and i - 1 in because and not question:
            because.add(i)  # "since the mats failed and two depots are low, …": one reason
        said = _SAID.match(part) and _TOLD.search(" ".join(parts[:i]))
        if found and (_RELATIVE.match(part) or said):
            found.append(Clause(part, False, False, True))  # who was named, or what to say
            continue
        if _BECAUSE.match(part):
            because.add(i)
        context = i in reasons or i in because or timing or statement or negated
        fine = negated or (context and bool(_FINE.search(part)))
        found.append(Clause(part, not context, question, fine, _implied(part, question)))
    theirs = [c.request and bool(_THEIR_WISH.match(c.text)) for c in found]
    if any(c.request and not their for c, their in zip(found, theirs, strict=True)):
        # "the customer wants to add a server": the situation of what the sender asks
        found = [replace(c, request=False) if t else c for c, t in zip(found, theirs, strict=True)]
    if payload:  # the text handed on asks for nothing; it tells which sense is meant
        found.append(Clause(payload, False, False))
    question = _is_question(content)
    return found or [Clause(content, True, question, False, _implied(content, question))]


#: the part of a clause that points at a record through another: "the machine | that made lot
#: L-3", "the same branch | as RZ-1", "the locker | my parcel is going to"
_POINTER = re.compile(
    r"\b(?:the|a|an|this|my|our|your|their|his|her)\s+(?:[\w'-]+\s+){0,2}?[\w'-]+\s+"
    r"(?P<relative>(?:that|which|whose)\s(?!(?:the|a|an|it|we|i|you|they)\b).+)"
    r"|\bsame\s+[\w'-]+\s+(?P<same>as\s.+)"
    r"|\bthe\s+[\w'-]+\s+(?P<contact>(?:my|our|your|his|her|their)\s+(?:[\w'-]+\s+){1,2}"
    r"(?:is|are|was|were|has|had)\b.+)",
    re.IGNORECASE,
)


def pointer(text: str) -> str:
    """The part of ``text`` that only says which record is meant ("Check the machine that
    made lot L-3" → "that made lot L-3"): the thing asked about is the rest."""
    match = _POINTER.search(text)
    if not match:
        return ""
    return next(part for part in match.groups() if part)


#: a colon after words (not in "14:05"): what follows is the text the request hands on, when
#: the part before it opens with a verb that hands text on ("page whoever is on call: …")
_PAYLOAD = re.compile(r"(?<=[A-Za-z0-9]):\s")
_HANDS_ON = _opening(
    "add, alert, announce, answer, ask, brief, classify, describe, draft, drop, email, file, flag, "
    "forward, get, inform, log, look, message, note, notify, page, ping, post, put, raise, read, "
    "record, remind, reply, report, say, send, submit, summarise, summarize, tell, text, "
    "translate, warn, write"
)


def _hands_on(before: str) -> bool:
    """The last part before a colon opens with a verb that hands text on ("… and email the
    importer: <the e-mail>"), not a label ("40 Station Road: book …")."""
    parts = re.split(r"[,;:.]\s*(?:and\s+|then\s+)?|\s+and\s+|\s+then\s+", before)
    return bool(_HANDS_ON.match(POLITE_OPENING.sub("", parts[-1])))


def _abbreviated(content: str, end: int) -> bool:
    """The break at ``end`` follows a full stop that ends an abbreviation, not a sentence."""
    if content[end - 1 : end] != ".":
        return False
    word = re.search(r"(\w+)\.$", content[:end])
    return bool(word) and word.group(1).lower() in _ABBREVIATIONS


#: a question that asks how to do something asks for help, not for a record's facts
_HOW_TO = re.compile(r"^\s*how\s+(?:do|can|should|would|could)\s+(?:i|we|you)\b|^\s*how to\b", re.I)


def _implied(text: str, question: bool) -> tuple[str, ...]:
    words = ("question", "answer") if question else ()
    if question and _HOW_TO.match(text):
        words = (*words, "help")
    if _WHERE_IS.match(text):
        words = (*words, "status")
    return (*words, "describe") if _WHAT_IS_ON.search(text) else words
