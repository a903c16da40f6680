"""Persistence: one DuckDB file behind a narrow interface (see README.md beside this file)."""

from .store import Store
from .writer import GroupCommitWriter, Insert, Operation, Update

__all__ = ["GroupCommitWriter", "Insert", "Operation", "Store", "Update"]
