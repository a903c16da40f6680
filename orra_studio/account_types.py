"""The client's typed shapes of the account and operations answers (the server itself,
projects, keys, webhooks), mirroring ``api/account_schemas.py`` and the health models; the
run shapes are in :mod:`orra_studio.types`, which re-exports these."""

from __future__ import annotations

from typing import TypedDict

__all__ = [
    "ApiKey",
    "ApiKeyCreated",
    "ApiKeyRevoked",
    "ApiKeyRotated",
    "Health",
    "Project",
    "ProjectCreated",
    "Ready",
    "Replica",
    "WebhookAdded",
    "WebhookItem",
    "WebhookRemoved",
]


class Health(TypedDict):
    status: str
    version: str
    #: duckdb (one process) or postgresql (replicas)
    backend: str
    #: this replica's id (None on DuckDB)
    replica: str | None
    #: single (DuckDB), or a replica's starting/serving/recovering
    role: str


class Ready(TypedDict):
    #: whether a load balancer should send this replica requests
    ready: bool
    role: str


class Replica(TypedDict):
    """One replica of a cluster on PostgreSQL (``orra replicas``)."""

    id: str
    #: alive, dead (declared by another) or left (stopped)
    status: str
    startedAt: str
    heartbeatAt: str
    #: seconds since its last heartbeat, by the database's clock
    silentSeconds: float
    #: unfinished runs it owns
    runs: int
    #: the replica that answered
    this: bool


class ProjectCreated(TypedDict):
    id: str
    name: str
    apiKey: str
    webhooks: list[str]
    webhookSecret: str
    createdAt: str | None


class Project(TypedDict):
    id: str
    name: str | None
    webhooks: list[str]
    createdAt: str | None


class ApiKeyCreated(TypedDict):
    apiKey: str
    name: str


class ApiKey(TypedDict):
    id: str
    name: str
    createdAt: str | None


class ApiKeyRevoked(TypedDict):
    id: str
    name: str
    revoked: bool
    disconnectedServices: int


class ApiKeyRotated(TypedDict):
    apiKey: str
    id: str
    name: str
    revoked: str
    disconnectedServices: int


class WebhookAdded(TypedDict):
    id: str
    url: str
    secret: str


class WebhookItem(TypedDict):
    id: str
    url: str


class WebhookRemoved(TypedDict):
    id: str
    url: str
    removed: bool
