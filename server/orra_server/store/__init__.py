"""Persistence: one DuckDB file behind a narrow interface (see README.md beside this file)."""

from .export import export_json
from .interface import StoreBackend
from .paging import DEFAULT_SORT, Cursor, InvalidCursor, parse_sort
from .records import (
    Change,
    CompensationFailure,
    CompensationRecord,
    Delivery,
    OrchestrationRecord,
    StepRecord,
    utc,
)
from .rows import (
    StoredApiKey,
    StoredCompensation,
    StoredCompensationFailure,
    StoredDelivery,
    StoredEvent,
    StoredGrounding,
    StoredOrchestration,
    StoredProject,
    StoredService,
    StoredStep,
)
from .store import Store, WebhookKind
from .writer import GroupCommitWriter

__all__ = [
    "DEFAULT_SORT",
    "Change",
    "CompensationFailure",
    "CompensationRecord",
    "Cursor",
    "Delivery",
    "GroupCommitWriter",
    "InvalidCursor",
    "OrchestrationRecord",
    "StepRecord",
    "Store",
    "StoreBackend",
    "StoredApiKey",
    "StoredCompensation",
    "StoredCompensationFailure",
    "StoredDelivery",
    "StoredEvent",
    "StoredGrounding",
    "StoredOrchestration",
    "StoredProject",
    "StoredService",
    "StoredStep",
    "WebhookKind",
    "export_json",
    "parse_sort",
    "utc",
]
