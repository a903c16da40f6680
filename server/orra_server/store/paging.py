"""How a list of orchestrations is ordered, and how a page says where the next one starts.

A listing is sorted by one public key (``createdAt``, ``status`` or ``type``; ``-`` in front for
descending), with creation time and id breaking ties in the same direction, so every row has one
place. A cursor is the sort key of the last row shown (keyset paging): the next page starts
right after it however many rows were added in the meantime, and reading page 4,000 costs what
reading page 1 does. To a caller it is opaque text.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

import orjson

__all__ = [
    "DEFAULT_SORT",
    "SORT_COLUMNS",
    "Cursor",
    "InvalidCursor",
    "ListingFilters",
    "parse_sort",
]

#: public sort key → the column it orders by (``column.key``: a field of a JSON column)
SORT_COLUMNS: dict[str, str] = {
    "createdAt": "created_at",
    "status": "status",
    "type": "action.type",
}
DEFAULT_SORT = "-createdAt"


class InvalidCursor(ValueError):
    """A cursor this server did not write, or one written for another sort."""


def parse_sort(sort: str) -> tuple[str, bool]:
    """``"-status"`` → ``("status", True)`` (descending); ValueError for an unknown key."""
    key = sort.removeprefix("-")
    if key not in SORT_COLUMNS:
        choices = ", ".join(f"{k}, -{k}" for k in SORT_COLUMNS)
        raise ValueError(f"unknown sort {sort!r}; use one of {choices}")
    return key, sort.startswith("-")


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the sort it was made for and the last row's (key, created_at, id)."""

    sort: str
    key: Any
    created_at: datetime
    id: str

    @classmethod
    def after(cls, sort: str, last: Any) -> Cursor:
        """After ``last``, a :class:`~orra_server.store.StoredOrchestration` of a listing."""
        key, _ = parse_sort(sort)
        value = {
            "createdAt": last.created_at,
            "status": last.status,
            "type": (last.action or {}).get("type"),
        }[key]
        return cls(sort, value, last.created_at, last.id)

    def encode(self) -> str:
        key = self.key.isoformat() if isinstance(self.key, datetime) else self.key
        raw = orjson.dumps([self.sort, key, self.created_at.isoformat(), self.id])
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, sort: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            made_for, key, created_at, row_id = orjson.loads(raw)
            created = datetime.fromisoformat(created_at)
            if made_for == "createdAt" or made_for == "-createdAt":
                key = datetime.fromisoformat(key)
        except (binascii.Error, ValueError, TypeError, orjson.JSONDecodeError) as exc:
            raise InvalidCursor("not a cursor this server wrote") from exc
        if made_for != sort:
            raise InvalidCursor(f"this cursor pages a list sorted by {made_for!r}, not {sort!r}")
        if not isinstance(row_id, str) or not isinstance(key, str | datetime):
            raise InvalidCursor("not a cursor this server wrote")
        return cls(sort, key, created, row_id)


class ListingFilters(TypedDict, total=False):
    """What ``orchestrations_of`` takes after the project (see its docstring)."""

    status: str | None
    action_type: str | None
    text: str | None
    since: datetime | None
    until: datetime | None
    sort: str
    after: Cursor | None
    limit: int
    offset: int
