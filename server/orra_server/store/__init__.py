"""Persistence: one DuckDB file behind a narrow interface (see README.md beside this file)."""

from .interface import StoreBackend
from .paging import DEFAULT_SORT, Cursor, InvalidCursor, parse_sort
from .records import (
    Change,
    CompensationFailure,
    CompensationRecord,
    Delivery,
    OrchestrationRecord,
    StepRecord,
    aware,
)
from .store import Store, WebhookKind
from .writer import GroupCommitWriter

__all__ = [
    "DEFAULT_SORT",
    "Change",
    "Cursor",
    "InvalidCursor",
    "CompensationFailure",
    "CompensationRecord",
    "Delivery",
    "GroupCommitWriter",
    "OrchestrationRecord",
    "StepRecord",
    "Store",
    "StoreBackend",
    "WebhookKind",
    "aware",
    "parse_sort",
]
