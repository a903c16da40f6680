"""What a REST call sends: the bodies and queries of the control plane's operations.

Separate from :mod:`orra_studio.endpoints` (which says which method and path each operation is)
because these are pure functions of the caller's arguments, tested and reused on their own
(``action_body`` also serves the notebook and the CLI through the clients).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

__all__ = ["RunFilters", "action_body", "export_params", "listing_params", "page_params"]


class RunFilters(TypedDict, total=False):
    """The filters of ``GET /orchestrations`` besides status: the keyword arguments of the
    clients' listings (``Client.orchestrations(type="triage", q="refund")``)."""

    type: str | None  # the action type
    q: str | None  # text in the action's content, its type or the id
    since: datetime | str | None  # created at or after
    until: datetime | str | None  # created before
    sort: str | None  # createdAt, status or type; "-" first for descending
    cursor: str | None  # the nextCursor of the page before


def listing_params(
    status: str | None, limit: int, offset: int, filters: RunFilters
) -> dict[str, Any]:
    """The query of ``GET /orchestrations``: only what was given."""
    unknown = sorted(set(filters) - set(RunFilters.__annotations__))
    if unknown:
        raise TypeError(f"unexpected keyword argument {unknown[0]!r} (filters: {_FILTERS})")
    params: dict[str, Any] = {"limit": limit}
    if offset:
        params["offset"] = offset
    if status:
        params["status"] = status
    for name, value in filters.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        if value:
            params[name] = value
    return params


_FILTERS = ", ".join(RunFilters.__annotations__)


def page_params(limit: int, cursor: str | None) -> dict[str, Any]:
    """The query of a cursor-paged listing (``GET /approvals``)."""
    return {"limit": limit, **({"cursor": cursor} if cursor else {})}


def action_body(
    action: str | dict[str, Any],
    data: dict[str, Any] | None = None,
    *,
    dry_run: bool = False,
    plan: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    grounding: str | None = None,
    no_cache: bool = False,
) -> dict[str, Any]:
    """The ``POST /orchestrations`` body. ``action`` is ``{type, content}`` or a string:
    ``"type: content"``, or plain content whose type is the content itself. ``grounding``: a
    spec's name to plan with, ``"none"`` for no spec (left out: the best match of all)."""
    if isinstance(action, str):
        action_type, sep, content = action.partition(":")
        if not sep or " " in action_type.strip():
            action_type, content = action, action
        action = {"type": action_type.strip(), "content": content.strip()}
    body: dict[str, Any] = {
        "action": action,
        "data": [{"field": k, "value": v} for k, v in (data or {}).items()],
    }
    if dry_run:
        body["dryRun"] = True
    if plan is not None:
        body["plan"] = plan
    if options:
        body["options"] = options
    if grounding:
        body["grounding"] = grounding
    if no_cache:
        body["noCache"] = True
    return body


def export_params(fmt: str, since: Any, until: Any, status: Any) -> dict[str, Any]:
    """The query of ``GET /export/{table}``: moments as ISO text, statuses comma-joined."""
    params: dict[str, Any] = {"format": fmt}
    for name, value in (("since", since), ("until", until)):
        if value is not None:
            params[name] = value.isoformat() if isinstance(value, datetime) else str(value)
    if status:
        params["status"] = status if isinstance(status, str) else ",".join(status)
    return params
