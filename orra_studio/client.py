"""A typed REST client for the control plane (sync :class:`Client`, async :class:`AsyncClient`)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from .errors import ApiError, NotFound

__all__ = ["AsyncClient", "Client", "TERMINAL_STATUSES"]

TERMINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "ABORTED", "CANCELLED", "NOT_ACTIONABLE"})


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        error = response.json()["error"]
        code, message, details = error["code"], error["message"], error.get("details")
    except (ValueError, KeyError, TypeError):
        code, message, details = "http_error", response.text[:200], None
    cls = NotFound if response.status_code == 404 else ApiError
    raise cls(response.status_code, code, message, details)


def _orchestration_body(
    action: str | dict[str, Any], data: dict[str, Any] | None, dry_run: bool
) -> dict[str, Any]:
    if isinstance(action, str):
        action_type, _, content = action.partition(":")
        action = {"type": action_type.strip(), "content": content.strip() or action}
    body: dict[str, Any] = {
        "action": action,
        "data": [{"field": k, "value": v} for k, v in (data or {}).items()],
    }
    if dry_run:
        body["dryRun"] = True
    return body


class Client:
    def __init__(
        self, url: str = "http://localhost:8005", api_key: str | None = None, timeout: float = 30.0
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        _raise_for(response)
        return response.json()

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/health")

    def create_project(self, name: str | None = None, webhooks: list[str] | None = None):
        return self._call(
            "POST", "/register/project", json={"name": name, "webhooks": webhooks or []}
        )

    def add_webhook(self, url: str) -> dict[str, Any]:
        return self._call("POST", "/webhooks", json={"url": url})

    def add_api_key(self, name: str | None = None) -> dict[str, Any]:
        return self._call("POST", "/apikeys", json={"name": name})

    def services(self) -> list[dict[str, Any]]:
        return self._call("GET", "/services")["services"]

    def orchestrate(
        self,
        action: str | dict[str, Any],
        data: dict[str, Any] | None = None,
        *,
        wait: bool = False,
        timeout: float = 60.0,
    ) -> dict[str, Any]:
        """POST an action; with ``wait=True`` return the finished orchestration instead."""
        accepted = self._call(
            "POST", "/orchestrations", json=_orchestration_body(action, data, False)
        )
        if not wait:
            return accepted
        return self.wait(accepted["executionId"], timeout=timeout)

    def plan(self, action: str | dict[str, Any], data: dict[str, Any] | None = None):
        return self._call("POST", "/orchestrations", json=_orchestration_body(action, data, True))

    def orchestration(self, execution_id: str, *, wait: float = 0) -> dict[str, Any]:
        params = {"wait": wait} if wait else None
        return self._call("GET", f"/orchestrations/{execution_id}", params=params)

    def orchestrations(self, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit}
        if status:
            params["status"] = status
        return self._call("GET", "/orchestrations", params=params)["orchestrations"]

    def wait(self, execution_id: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            body = self.orchestration(execution_id, wait=max(0.0, min(left, 30.0)))
            if body["status"] in TERMINAL_STATUSES or left <= 0:
                return body


class AsyncClient:
    def __init__(
        self, url: str = "http://localhost:8005", api_key: str | None = None, timeout: float = 30.0
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.url = url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.url, headers=headers, timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._http.request(method, path, **kwargs)
        _raise_for(response)
        return response.json()

    async def create_project(self, name: str | None = None, webhooks: list[str] | None = None):
        return await self._call(
            "POST", "/register/project", json={"name": name, "webhooks": webhooks or []}
        )

    async def services(self) -> list[dict[str, Any]]:
        return (await self._call("GET", "/services"))["services"]

    async def orchestrate(
        self,
        action: str | dict[str, Any],
        data: dict[str, Any] | None = None,
        *,
        wait: bool = False,
        timeout: float = 60.0,
    ) -> dict[str, Any]:
        accepted = await self._call(
            "POST", "/orchestrations", json=_orchestration_body(action, data, False)
        )
        if not wait:
            return accepted
        return await self.wait(accepted["executionId"], timeout=timeout)

    async def orchestration(self, execution_id: str, *, wait: float = 0) -> dict[str, Any]:
        params = {"wait": wait} if wait else None
        return await self._call("GET", f"/orchestrations/{execution_id}", params=params)

    async def wait(self, execution_id: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            body = await self.orchestration(execution_id, wait=max(0.0, min(left, 30.0)))
            if body["status"] in TERMINAL_STATUSES or left <= 0:
                return body
