"""What a REST call sends: the bodies and queries of the control plane's operations.

Separate from :mod:`orra_studio.endpoints` (which says which method and path each operation is)
because these are pure functions of the caller's arguments, tested and reused on their own
(``action_body`` also serves the notebook and the CLI through the clients).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = ["action_body", "export_params", "listing_params", "page_params"]


def listing_params(
    status: str | None,
    limit: int,
    offset: int,
    type: str | None,
    q: str | None,
    since: datetime | str | None,
    until: datetime | str | None,
    sort: str | None,
    cursor: str | None,
) -> dict[str, Any]:
    """The query of ``GET /orchestrations``: only what was given."""
    params: dict[str, Any] = {"limit": limit}
    if offset:
        params["offset"] = offset
    named = (("status", status), ("type", type), ("q", q), ("sort", sort), ("cursor", cursor))
    params.update({name: value for name, value in named if value})
    for name, moment in (("since", since), ("until", until)):
        if moment is not None:
            params[name] = moment.isoformat() if isinstance(moment, datetime) else moment
    return params


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
