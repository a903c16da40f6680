"""Response bodies of a project"s own records: the project, its API keys and its webhooks.

Kept apart from ``schemas.py`` (the orchestration and service bodies) so each stays short; both
share :class:`~.schemas.ResponseBody`, and ``/openapi.json`` names them the same either way.
"""

from __future__ import annotations

from pydantic import Field

from .schemas import ResponseBody

__all__ = [
    "ApiKeyCreated",
    "ApiKeyList",
    "ApiKeyOut",
    "ApiKeyRevoked",
    "ApiKeyRotated",
    "ProjectCreated",
    "ProjectOut",
    "WebhookAdded",
    "WebhookItem",
    "WebhookList",
    "WebhookRemoved",
]


class ProjectCreated(ResponseBody):
    id: str
    name: str
    apiKey: str = Field(description="the project's first key: shown only now")
    webhooks: list[str]
    webhookSecret: str = Field(description="signs every delivery (Standard Webhooks)")
    createdAt: str | None


class ProjectOut(ResponseBody):
    id: str
    name: str | None
    webhooks: list[str]
    createdAt: str | None


class ApiKeyCreated(ResponseBody):
    apiKey: str = Field(description="shown only now: the server keeps a hash")
    name: str


class ApiKeyOut(ResponseBody):
    id: str = Field(description="k_ + a prefix of the key's hash")
    name: str
    createdAt: str | None


class ApiKeyList(ResponseBody):
    apiKeys: list[ApiKeyOut]


class ApiKeyRevoked(ResponseBody):
    id: str
    name: str
    revoked: bool
    disconnectedServices: int


class ApiKeyRotated(ResponseBody):
    apiKey: str
    id: str
    name: str
    revoked: str = Field(description="the id of the key it replaced")
    disconnectedServices: int


class WebhookAdded(ResponseBody):
    id: str
    url: str
    secret: str


class WebhookItem(ResponseBody):
    id: str
    url: str


class WebhookList(ResponseBody):
    webhooks: list[str]
    items: list[WebhookItem]


class WebhookRemoved(ResponseBody):
    id: str
    url: str
    removed: bool
