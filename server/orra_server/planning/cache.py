"""The plan cache: a repeated kind of action skips the planner (and the LLM's cost and seconds).

Keyed by the action's type, the *shape* of its content (numbers, ids, e-mail addresses, URLs and
quoted text replaced by placeholders, so "where is order 123?" and "where is order 456?" share a
plan), the data field names, a fingerprint of the project's services (names and schemas) and the
grounding use case matched. A service re-registering with a new schema changes the fingerprint,
so old plans are never reused against it. A hit still goes through the validator.

A plan that copied a value out of the content as a literal (``{"orderId": "123"}`` instead of a
reference) is not cached: reused for order 456 it would act on order 123.

With a ``backing`` (the DuckDB store) the cache is also written through to disk and read from
there on a miss, so it survives a restart: an LLM-planned action shape is paid for once.
"""

from __future__ import annotations

import collections
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from .plan import Plan
from .service import PlannedService

__all__ = [
    "CacheBacking",
    "CachedPlan",
    "PlanCache",
    "content_shape",
    "services_fingerprint",
    "values_in",
]

_VALUES = [
    (re.compile(r"\"[^\"]*\"|'[^'\s][^']*'|“[^”]*”"), "<text>"),
    (re.compile(r"https?://\S+"), "<url>"),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "<email>"),
    (re.compile(r"\b[\w-]*\d[\w-]*\b"), "<id>"),  # any word with a digit: 123, ORD-123, cust12345
]


def content_shape(content: str) -> str:
    shape = content.strip().lower()
    for pattern, placeholder in _VALUES:
        shape = pattern.sub(placeholder, shape)
    return re.sub(r"\s+", " ", shape)


def values_in(content: str) -> set[str]:
    """The concrete values ``content_shape`` replaces (what a cached plan must not contain)."""
    found: set[str] = set()
    for pattern, _ in _VALUES:
        for match in pattern.finditer(content):
            value = match.group(0).strip("\"'“”")
            if len(value) >= 2:
                found.add(value.lower())
    return found


def _literal_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _literal_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _literal_strings(v)]
    return []


def embeds_content_values(plan: Plan, content: str) -> bool:
    values = values_in(content)
    if not values:
        return False
    for step in plan.steps:
        for text in _literal_strings(step.input):
            lowered = text.lower()
            if any(v in lowered for v in values):
                return True
    return False


def services_fingerprint(services: Iterable[PlannedService]) -> str:
    body = sorted((s.name, s.input_schema, s.output_schema) for s in services)
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(slots=True)
class CachedPlan:
    plan: Plan
    provenance: dict[str, Any]  # of the planning that made it
    hits: int = 0


class CacheBacking(Protocol):
    """Where cached plans are kept across restarts (the store implements it)."""

    def load_plan(self, key: str) -> tuple[dict[str, Any], dict[str, Any]] | None: ...
    def save_plan(
        self, key: str, project_id: str, plan: dict[str, Any], provenance: dict[str, Any]
    ) -> None: ...
    def drop_plan(self, key: str) -> None: ...


class PlanCache:
    """Least recently used first out; one per control plane, keys include the project."""

    def __init__(self, size: int = 4096, backing: CacheBacking | None = None) -> None:
        self.size = size
        self.backing = backing
        self._plans: collections.OrderedDict[tuple[Any, ...], CachedPlan] = (
            collections.OrderedDict()
        )

    @staticmethod
    def key(
        project_id: str,
        action: dict[str, Any],
        data_fields: list[str],
        fingerprint: str,
        grounding: tuple[str, ...] | None,
    ) -> tuple[Any, ...]:
        return (
            project_id,
            str(action.get("type", "")).strip().lower(),
            content_shape(str(action.get("content", ""))),
            tuple(sorted(data_fields)),
            fingerprint,
            grounding,
        )

    @staticmethod
    def digest(key: tuple[Any, ...]) -> str:
        """The key as the backing stores it."""
        return hashlib.sha256(json.dumps(key, default=list).encode()).hexdigest()

    def get(self, key: tuple[Any, ...]) -> CachedPlan | None:
        entry = self._plans.get(key)
        if entry is None and self.backing is not None:
            stored = self.backing.load_plan(self.digest(key))
            if stored is not None:
                plan, provenance = stored
                entry = CachedPlan(Plan.model_validate(plan), provenance)
                self._remember(key, entry)
        if entry is not None:
            self._plans.move_to_end(key)
            entry.hits += 1
        return entry

    def put(self, key: tuple[Any, ...], entry: CachedPlan) -> None:
        self._remember(key, entry)
        if self.backing is not None:
            plan = entry.plan.model_dump()
            self.backing.save_plan(self.digest(key), key[0], plan, entry.provenance)

    def _remember(self, key: tuple[Any, ...], entry: CachedPlan) -> None:
        self._plans[key] = entry
        self._plans.move_to_end(key)
        while len(self._plans) > self.size:
            self._plans.popitem(last=False)

    def drop(self, key: tuple[Any, ...]) -> None:
        self._plans.pop(key, None)
        if self.backing is not None:
            self.backing.drop_plan(self.digest(key))

    def forget_project(self, project_id: str) -> int:
        """Drop the project's plans from memory (the caller clears the backing); how many."""
        keys = [k for k in self._plans if k[0] == project_id]
        for key in keys:
            del self._plans[key]
        return len(keys)

    def __len__(self) -> int:
        return len(self._plans)
