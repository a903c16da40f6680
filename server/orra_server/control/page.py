"""A page of a list: its items and the cursor of the next page (None on the last), as every
paged list answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Page"]


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    #: a cursor for the page after this one; None on the last page
    next_cursor: str | None
