"""Every REST operation of the control plane, written once.

:class:`Endpoints` describes each call (method, path, body, how to read the answer) and hands it
to ``_call``; :class:`~orra_studio.client.Client` sends it and returns the value,
:class:`~orra_studio.client.AsyncClient` returns a coroutine of it. So the two clients cannot
drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Unpack
from urllib.parse import quote

import httpx
import orjson

from .request_bodies import (
    RunFilters,
    action_body,
    export_params,
    listing_params,
    page_params,
)
from .types import (
    Accepted,
    Activity,
    ApiKey,
    ApiKeyCreated,
    ApiKeyRevoked,
    ApiKeyRotated,
    Approval,
    ApprovalPage,
    CompensationFailure,
    Delivery,
    Grounding,
    Health,
    Logs,
    Orchestration,
    OrchestrationPage,
    OrchestrationSummary,
    PlanCacheCleared,
    PlanInfo,
    Project,
    ProjectCreated,
    Registration,
    Replica,
    Service,
    WebhookAdded,
    WebhookItem,
    WebhookRemoved,
)

__all__ = ["Endpoints", "Json", "action_body", "read_json"]

Json = Any


def read_json(response: httpx.Response) -> Json:
    return orjson.loads(response.content)


def _path(*segments: str) -> str:
    """An API path, each segment percent-encoded: an id or name typed by a person (``a/b``,
    ``x?y``) names one resource, never another path or a query string."""
    return "/" + "/".join(quote(segment, safe="") for segment in segments)


def _key(name: str) -> Callable[[httpx.Response], Json]:
    return lambda response: orjson.loads(response.content)[name]


def _content(response: httpx.Response) -> bytes:
    return response.content


class Endpoints:
    """The REST API, one method per operation (see docs/api.md).

    Return types are the shapes of :mod:`orra_studio.types` (plain dicts, typed); on
    :class:`~orra_studio.client.AsyncClient` each method returns an awaitable of that shape.
    """

    url: str
    #: ``_call(method, path, *, parse=read_json, **httpx_kwargs)``: send one request and read
    #: its answer with ``parse`` (the value, or an awaitable of it); each client defines it
    _call: Callable[..., Any]

    # -- server and projects -------------------------------------------------------------------
    def health(self) -> Health:
        return self._call("GET", "/health")

    def replicas(self) -> list[Replica]:
        """The cluster's replicas (PostgreSQL), with heartbeat age and owned runs; [] on
        DuckDB (one process)."""
        return self._call("GET", "/replicas", parse=_key("replicas"))

    def create_project(
        self,
        name: str | None = None,
        webhooks: list[str] | None = None,
        *,
        admin_token: str | None = None,
    ) -> ProjectCreated:
        """A new project and its first API key (``apiKey``); needs no key itself, but the
        server's admin token when it has one."""
        body = {"name": name, "webhooks": webhooks or []}
        headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else None
        return self._call("POST", "/register/project", json=body, headers=headers)

    def current_project(self) -> Project:
        return self._call("GET", "/projects/current")

    def add_api_key(self, name: str | None = None) -> ApiKeyCreated:
        return self._call("POST", "/apikeys", json={"name": name})

    def api_keys(self) -> list[ApiKey]:
        return self._call("GET", "/apikeys", parse=_key("apiKeys"))

    def revoke_api_key(self, ref: str) -> ApiKeyRevoked:
        """Revoke a key by id (``k_…``) or name; services using it are disconnected."""
        return self._call("DELETE", _path("apikeys", ref))

    def rotate_api_key(self, ref: str) -> ApiKeyRotated:
        """A new key with the same name (``apiKey``); the old one is revoked."""
        return self._call("POST", _path("apikeys", ref, "rotate"))

    def add_webhook(self, url: str) -> WebhookAdded:
        return self._call("POST", "/webhooks", json={"url": url})

    def webhooks(self) -> list[str]:
        return self._call("GET", "/webhooks", parse=_key("webhooks"))

    def webhook_items(self) -> list[WebhookItem]:
        """The webhooks with their ids (``[{"id", "url"}]``)."""
        return self._call("GET", "/webhooks", parse=_key("items"))

    def remove_webhook(self, ref: str) -> WebhookRemoved:
        """Remove a webhook by id (``wh_…``) or its exact URL."""
        return self._call("DELETE", _path("webhooks", ref))

    # -- services ------------------------------------------------------------------------------
    def services(self) -> list[Service]:
        return self._call("GET", "/services", parse=_key("services"))

    def register_service(
        self, registration: dict[str, Any], *, agent: bool = False
    ) -> Registration:
        """protocol.md's registration body (name, description, schema, revertible, …)."""
        path = "/register/agent" if agent else "/register/service"
        return self._call("POST", path, json=registration)

    # -- orchestrations ------------------------------------------------------------------------
    def plan(
        self,
        action: str | dict[str, Any],
        data: dict[str, Any] | None = None,
        *,
        plan: dict[str, Any] | None = None,
        grounding: str | None = None,
        no_cache: bool = False,
    ) -> Accepted:
        """A dry run: the plan, its validation and provenance; nothing runs. ``no_cache``:
        plan afresh rather than reuse a cached plan."""
        body = action_body(
            action, data, dry_run=True, plan=plan, grounding=grounding, no_cache=no_cache
        )
        return self._call("POST", "/orchestrations", json=body)

    def submit(
        self,
        action: str | dict[str, Any],
        data: dict[str, Any] | None = None,
        *,
        plan: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
        grounding: str | None = None,
    ) -> Accepted:
        """Start it; the 202 answer (``executionId``, ``plan``). ``plan``: run this one instead."""
        body = action_body(action, data, plan=plan, options=options, grounding=grounding)
        return self._call("POST", "/orchestrations", json=body)

    def orchestration(self, execution_id: str, *, wait: float = 0) -> Orchestration:
        """Its status, step results and result; ``wait`` long-polls up to 60 s for the end."""
        params = {"wait": wait} if wait else None
        return self._call("GET", _path("orchestrations", execution_id), params=params)

    def orchestrations(
        self,
        status: str | None = None,
        limit: int = 50,
        offset: int = 0,
        **filters: Unpack[RunFilters],
    ) -> list[OrchestrationSummary]:
        """Newest first (or by ``sort``: ``createdAt``, ``status``, ``type``, ``-`` for
        descending), a page at a time; filters: status, action ``type``, text ``q`` in the
        content, creation time ``since``/``until``. :meth:`orchestration_page` also gives the
        cursor of the next page."""
        params = listing_params(status, limit, offset, filters)
        return self._call("GET", "/orchestrations", params=params, parse=_key("orchestrations"))

    def activity(self, minutes: int = 60) -> Activity:
        """Runs created per minute over the last ``minutes``, by status (minutes without runs
        left out)."""
        return self._call("GET", "/activity", params={"minutes": minutes})

    def orchestration_page(
        self, status: str | None = None, limit: int = 50, **filters: Unpack[RunFilters]
    ) -> OrchestrationPage:
        """One page and its ``nextCursor`` (None on the last): pass it back as ``cursor``."""
        params = listing_params(status, limit, 0, filters)
        return self._call("GET", "/orchestrations", params=params)

    def plan_of(self, execution_id: str) -> PlanInfo:
        """How the plan was made: source, model, repair rounds, cache, LLM calls."""
        return self._call("GET", _path("orchestrations", execution_id, "plan"))

    def cancel(
        self, execution_id: str, reason: str | None = None, compensate: bool = True
    ) -> Orchestration:
        body = {"reason": reason, "compensate": compensate}
        return self._call("POST", _path("orchestrations", execution_id, "cancel"), json=body)

    def logs(self, execution_id: str, after: int = 0) -> Logs:
        params = {"after": after} if after else None
        return self._call("GET", _path("orchestrations", execution_id, "logs"), params=params)

    def deliveries(self, execution_id: str) -> list[Delivery]:
        path = _path("orchestrations", execution_id, "deliveries")
        return self._call("GET", path, parse=_key("deliveries"))

    def clear_plan_cache(self) -> PlanCacheCleared:
        """Forget the project's cached plans: each action shape is planned afresh next time."""
        return self._call("DELETE", "/plan-cache")

    # -- approvals -----------------------------------------------------------------------------
    def approvals(self, limit: int = 50, *, cursor: str | None = None) -> list[Approval]:
        """The steps of the project that wait for a person's approval, oldest run first, one
        page (at most ``limit``, up to 500); :meth:`approval_page` also gives the next page's
        cursor. An input over 64 KiB comes as ``inputPreview`` (``inputTruncated``)."""
        return self._call(
            "GET", "/approvals", params=page_params(limit, cursor), parse=_key("approvals")
        )

    def approval_page(self, limit: int = 50, *, cursor: str | None = None) -> ApprovalPage:
        """One page of :meth:`approvals` and its ``nextCursor`` (None on the last)."""
        return self._call("GET", "/approvals", params=page_params(limit, cursor))

    def approve(
        self,
        execution_id: str,
        step_id: str,
        *,
        input: dict[str, Any] | None = None,
        comment: str | None = None,
        approver: str | None = None,
    ) -> Orchestration:
        """Run a waiting step now, with ``input`` instead of the one shown if given."""
        body = {"input": input, "comment": comment, "approver": approver}
        path = _path("orchestrations", execution_id, "steps", step_id, "approve")
        return self._call("POST", path, json=body)

    def reject(
        self, execution_id: str, step_id: str, reason: str, *, approver: str | None = None
    ) -> Orchestration:
        """Fail a waiting step: the run re-plans without it, or fails and compensates."""
        path = _path("orchestrations", execution_id, "steps", step_id, "reject")
        return self._call("POST", path, json={"reason": reason, "approver": approver})

    def rerun(
        self,
        execution_id: str,
        *,
        from_step: str | None = None,
        inputs: dict[str, dict[str, Any]] | None = None,
        plan: dict[str, Any] | None = None,
    ) -> Accepted:
        """A new orchestration from this one: steps before ``from_step`` reuse their recorded
        outputs, the rest run again (``inputs``: edited inputs by step id)."""
        body: dict[str, Any] = {"fromStep": from_step, "input": inputs, "plan": plan}
        body = {k: v for k, v in body.items() if v is not None}
        return self._call("POST", _path("orchestrations", execution_id, "rerun"), json=body)

    # -- compensation failures -----------------------------------------------------------------
    def compensation_failures(
        self, status: str | None = None, orchestration_id: str | None = None
    ) -> list[CompensationFailure]:
        params = {"status": status, "orchestrationId": orchestration_id}
        params = {k: v for k, v in params.items() if v}
        return self._call(
            "GET", "/compensation-failures", params=params, parse=_key("compensationFailures")
        )

    def compensation_failure(self, failure_id: str) -> CompensationFailure:
        return self._call("GET", _path("compensation-failures", failure_id))

    def resolve_compensation_failure(self, failure_id: str, reason: str) -> CompensationFailure:
        path = _path("compensation-failures", failure_id, "resolve")
        return self._call("POST", path, json={"reason": reason})

    def ignore_compensation_failure(self, failure_id: str, reason: str) -> CompensationFailure:
        path = _path("compensation-failures", failure_id, "ignore")
        return self._call("POST", path, json={"reason": reason})

    def add_compensation_failure_webhook(self, url: str) -> Any:
        return self._call("POST", "/compensation-failure-webhooks", json={"url": url})

    def compensation_failure_webhooks(self) -> Any:
        return self._call("GET", "/compensation-failure-webhooks", parse=_key("webhooks"))

    # -- groundings ----------------------------------------------------------------------------
    def apply_grounding(self, spec: dict[str, Any] | str) -> Grounding:
        """A grounding spec as a dict, or JSON/YAML text."""
        if isinstance(spec, str):
            headers = {"Content-Type": "application/yaml"}
            return self._call("POST", "/groundings", content=spec.encode(), headers=headers)
        return self._call("POST", "/groundings", json=spec)

    def groundings(self) -> list[Grounding]:
        """The project's grounding specs, the newest version of each."""
        return self._call("GET", "/groundings", parse=_key("groundings"))

    def grounding(self, name: str) -> Grounding:
        """One spec by name: its use cases, constraints and version."""
        return self._call("GET", _path("groundings", name))

    def delete_grounding(self, name: str) -> Any:
        """Remove a spec: later plans are made without it."""
        return self._call("DELETE", _path("groundings", name))

    # -- export --------------------------------------------------------------------------------
    def export_bytes(
        self,
        table: str,
        format: str = "arrow",
        *,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        status: str | list[str] | None = None,
    ) -> bytes:
        """``orchestrations``, ``steps`` or ``events`` as Arrow IPC, Parquet or JSON bytes."""
        params = export_params(format, since, until, status)
        return self._call("GET", _path("export", table), params=params, parse=_content)
