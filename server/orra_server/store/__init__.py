"""Persistence: one DuckDB file behind a narrow interface (see README.md beside this file)."""

from .interface import StoreBackend
from .store import Store, WebhookKind
from .writer import Delete, GroupCommitWriter, Insert, Operation, Update

__all__ = [
    "Delete",
    "GroupCommitWriter",
    "Insert",
    "Operation",
    "Store",
    "StoreBackend",
    "Update",
    "WebhookKind",
]
