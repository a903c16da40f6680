"""A service as the planner sees it: a name, what it does, and the schemas it takes and gives.

A Protocol, not a class the planner owns, so the store's typed service rows
(``StoredService``) are planned on as they are, with no copy and without planning importing
the store. :class:`ServiceSpec` is the same four attributes for catalogs built by hand
(tests, benchmarks, evals).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["PlannedService", "ServiceSpec"]


class PlannedService(Protocol):
    """What every planning module reads of a service (read-only: planning never writes one)."""

    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str | None: ...
    @property
    def input_schema(self) -> dict[str, Any]: ...
    @property
    def output_schema(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """A :class:`PlannedService` written by hand."""

    name: str
    description: str | None
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
