"""The studio's look, written once: a status pill, a time that says how long ago (the exact
time on hover), a duration, an id in monospace. Every page draws these the same way.

Each returns HTML built here from escaped text, so a value from data (an id, a status a server
sent) is shown literally, never as markup.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

from ..palette import colour_of

__all__ = ["ago", "duration", "mono", "pill", "seconds_between", "when"]


def pill(status: str) -> str:
    """A status as a coloured pill: one colour per status (``palette``), white text."""
    text = html.escape(str(status))
    return (
        f'<span class="orra-pill" data-status="{text}" style="background:{colour_of(status)};'
        "color:white;border-radius:999px;padding:1px 10px;font-size:12px;font-weight:600;"
        f'white-space:nowrap">{text}</span>'
    )


def mono(text: str) -> str:
    """An id or code: monospace, never wrapped mid-id."""
    return (
        '<code style="font-family:ui-monospace,SFMono-Regular,Menlo,monospace;'
        f'white-space:nowrap">{html.escape(str(text))}</code>'
    )


def _parsed(iso: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def ago(iso: str | None, now: datetime | None = None) -> str:
    """``3 min ago``, ``2 h ago``, ``just now``: how long ago ``iso`` was."""
    moment = _parsed(iso or "")
    if moment is None:
        return ""
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    if seconds < 5:
        return "just now"
    for size, unit in ((86_400, "d"), (3_600, "h"), (60, "min")):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


def when(iso: str | None, now: datetime | None = None) -> str:
    """How long ago, with the exact time (UTC) shown on hover."""
    if not iso:
        return ""
    exact = html.escape(iso.replace("T", " ")[:23] + " UTC", quote=True)
    return f'<time datetime="{html.escape(iso, quote=True)}" title="{exact}">{ago(iso, now)}</time>'


def seconds_between(start: str | None, end: str | None) -> float | None:
    first, last = _parsed(start or ""), _parsed(end or "")
    if first is None or last is None:
        return None
    return max(0.0, (last - first).total_seconds())


def duration(start: str | None, end: str | None, now: datetime | None = None) -> str:
    """``18 ms``, ``4.2 s``, ``3 min 5 s``; to now while it has no end."""
    if not start:
        return ""
    last = end or (now or datetime.now(UTC)).isoformat()
    seconds = seconds_between(start, last)
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    return f"{minutes // 60} h {minutes % 60} min"
