"""Registering services and agents: the name rules, schemas, and re-registration by id.

Keeps each project's services in memory (they change rarely and are read on every plan).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Literal

from orra_sdk.names import name_problem, suggest_name

from ..core.errors import BadRequest, DescriptionTooLong, InvalidServiceName
from ..core.ids import new_id, now
from ..core.jsonschemas import normalise_schema
from ..core.limits import MAX_SERVICES
from ..planning.cache import services_fingerprint
from ..store import DuplicateKey, StoreBackend, StoredService

__all__ = [
    "MAX_DESCRIPTION",
    "Register",
    "Registered",
    "ServiceRegistry",
    "check_service_name",
    "suggest_service_name",
]

MAX_DESCRIPTION = 500


def suggest_service_name(name: str) -> str | None:
    """A name that passes every RFC 1123 rule and looks like ``name``, or None."""
    return suggest_name(name)


def check_service_name(name: str) -> None:
    """RFC 1123 DNS subdomain; the message names the rule that was broken (the SDKs check
    the same rules, in the same words, when a service is constructed)."""
    problem = name_problem(name)
    if problem is not None:
        raise InvalidServiceName(problem, param="name")


@dataclass(frozen=True, slots=True)
class Register:
    """What a service (or an agent) registers as; ``service_id``, the id it saved from an
    earlier registration, keeps it the same service."""

    project_id: str
    kind: Literal["service", "agent"]
    name: str
    service_id: str | None = None
    description: str | None = None
    schema: dict[str, Any] | None = None
    revertible: bool = False
    #: this service's own timeout and retry defaults
    policy: dict[str, Any] | None = None
    #: every task of it waits for a person's approval before it is sent
    requires_approval: bool = False


@dataclass(frozen=True, slots=True)
class Registered:
    """What a registration did: the service as now stored, whether its contract changed
    (schemas or revertibility), and what the caller should hear about it."""

    service: StoredService
    contract_changed: bool
    warnings: list[str]


class ServiceRegistry:
    def __init__(self, store: StoreBackend) -> None:
        self.store = store
        self._by_project: dict[str, list[StoredService]] = {}
        self._changes: dict[str, int] = {}
        self._fingerprints: dict[str, tuple[int, str]] = {}
        self._by_id: dict[str, StoredService | None] = {}
        #: registrations run one at a time: two instances starting together with no saved id
        #: must both land on one service, not create two services with one name
        self._lock = asyncio.Lock()

    def services(self, project_id: str) -> list[StoredService]:
        if project_id not in self._by_project:
            self._by_project[project_id] = self.store.services_of(project_id)
        return self._by_project[project_id]

    def version(self, project_id: str) -> int:
        """Changes whenever a service of the project (re-)registers: part of plan-cache keys."""
        return self._changes.get(project_id, 0)

    def fingerprint(self, project_id: str) -> str:
        """Of the project's service names and schemas (plan-cache keys), kept per version."""
        version = self.version(project_id)
        known = self._fingerprints.get(project_id)
        if known is None or known[0] != version:
            known = (version, services_fingerprint(self.services(project_id)))
            self._fingerprints[project_id] = known
        return known[1]

    def by_id(self, service_id: str) -> StoredService | None:
        return self.store.service(service_id)

    def cached(self, service_id: str) -> StoredService | None:
        """By id, from memory after the first read (the engine asks on every dispatch)."""
        if service_id not in self._by_id:
            self._by_id[service_id] = self.store.service(service_id)
        return self._by_id[service_id]

    async def register(self, command: Register) -> Registered:
        async with self._lock:
            try:
                return await self._register(command)
            except DuplicateKey:
                # another replica registered this name a moment ago: this one re-registers it
                self._by_project.pop(command.project_id, None)
                return await self._register(command)

    async def _register(self, command: Register) -> Registered:
        project_id, name = command.project_id, command.name
        check_service_name(name)
        description = command.description or ""
        if len(description) > MAX_DESCRIPTION:
            raise DescriptionTooLong(
                f"description is {len(description)} characters; keep it to at most "
                f"{MAX_DESCRIPTION}, a concise sentence or two on what the {command.kind} does",
                param="description",
            )
        warnings: list[str] = []
        if command.schema is None:
            warnings.append(
                "no schema given: the service takes and returns any object, so plans that use "
                "it will be weak; register input and output schemas"
            )
        schema = command.schema or {}
        input_schema = normalise_schema(schema.get("input"), where="input")
        output_schema = normalise_schema(schema.get("output"), where="output")
        if not description:
            warnings.append("no description given: the planner matches actions on descriptions")

        existing = None
        if command.service_id:
            existing = self.store.service(command.service_id)
            if existing is not None and existing.project_id != project_id:
                existing = None  # never reuse another project's id: register as new
        if existing is None:
            existing = self.store.service_by_name(project_id, name)
        if existing is None and len(self.services(project_id)) >= MAX_SERVICES:
            raise BadRequest(
                f"this project already has {MAX_SERVICES} services and agents, the most it may "
                f"have (the planner weighs every one for every action); re-register one under "
                f"its name instead, or use another project",
                code="too_many_services",
                details={"limit": MAX_SERVICES},
            )
        moment = now()
        service = StoredService(
            id=existing.id if existing else new_id("s_", 16, letters_only=True),
            project_id=project_id,
            name=name,
            kind=command.kind,
            description=description,
            input_schema=input_schema,
            output_schema=output_schema,
            revertible=bool(command.revertible),
            version=(existing.version + 1) if existing else 1,
            created_at=existing.created_at if existing else moment,
            updated_at=moment,
            policy=command.policy or None,
            requires_approval=bool(command.requires_approval),
        )
        await self.store.save_service(service, replaces=existing is not None)
        self._by_project.pop(project_id, None)
        self._by_id.pop(service.id, None)
        self._changes[project_id] = self._changes.get(project_id, 0) + 1
        #: instances connected before a registration that changes the contract serve the old
        #: one: the API marks them stale (docs/decisions.md)
        changed = existing is not None and (
            existing.input_schema != input_schema
            or existing.output_schema != output_schema
            or bool(existing.revertible) != bool(command.revertible)
        )
        return Registered(service, changed, warnings)

    def changed_elsewhere(self, project_id: str, service_id: str) -> None:
        """Another replica (re-)registered this service: read it afresh next time."""
        self._by_project.pop(project_id, None)
        self._by_id.pop(service_id, None)
        self._changes[project_id] = self._changes.get(project_id, 0) + 1

    def forget_all(self) -> None:
        """Every project's services read afresh (a replica may have missed a change)."""
        for project_id in list(self._by_project):
            self.changed_elsewhere(project_id, "")
        self._by_id.clear()
