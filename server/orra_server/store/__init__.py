"""Persistence: one DuckDB file behind a narrow interface (see README.md beside this file)."""

from . import rows
from .export import export_json
from .interface import StoreBackend
from .paging import DEFAULT_SORT, Cursor, InvalidCursor, parse_sort
from .records import (
    Change,
    CompensationRecord,
    Delivery,
    DuplicateKey,
    NewProject,
    OrchestrationRecord,
    StepRecord,
    utc,
)
from .rows import *  # noqa: F403 (the objects reads return, listed in rows.__all__)
from .store import Store, WebhookKind
from .writer import GroupCommitWriter

__all__ = [
    "DEFAULT_SORT",
    "Change",
    "CompensationRecord",
    "Cursor",
    "Delivery",
    "DuplicateKey",
    "GroupCommitWriter",
    "InvalidCursor",
    "NewProject",
    "OrchestrationRecord",
    "StepRecord",
    "Store",
    "StoreBackend",
    "WebhookKind",
    "export_json",
    "parse_sort",
    "utc",
    *rows.__all__,
]
