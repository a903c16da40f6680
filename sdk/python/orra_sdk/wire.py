"""The socket's wire: frames as JSON text, their size limit, the upgrade's header and refusal.

Separate from :mod:`.service` (what the service does with frames) because these are facts of
the transport shared by every frame sent: how it is encoded, how large it may be, how the
``websockets`` release in use spells the ``Authorization`` header.
"""

from __future__ import annotations

import json
from typing import Any

import websockets
from websockets.exceptions import InvalidStatus

__all__ = ["MAX_FRAME", "auth_header", "encode", "refusal_reason", "too_large"]

#: the largest frame either side accepts (the control plane closes the socket past it)
MAX_FRAME = 16 * 1024 * 1024
#: room left in a frame for the envelope around a result
ENVELOPE = 4096


def auth_header(api_key: str, capacity: int | None = None) -> dict[str, Any]:
    """``Authorization`` for the websocket upgrade, and ``X-Orra-Capacity`` (how many tasks
    the instance runs at once: the control plane then keeps the rest, their timeouts not yet
    running, instead of queueing them here), as this websockets release spells it
    (``additional_headers`` from 14 on, ``extra_headers`` before)."""
    headers = {"Authorization": f"Bearer {api_key}"}
    if capacity is not None:
        headers["X-Orra-Capacity"] = str(capacity)
    major = int(websockets.__version__.split(".")[0])
    return {"additional_headers": headers} if major >= 14 else {"extra_headers": headers}


def encode(message: dict[str, Any]) -> str:
    """Compact JSON with non-ASCII kept as UTF-8 (``\\u00e9`` escapes would triple the size)."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def too_large(payload: dict[str, Any]) -> str | None:
    """Why ``payload`` cannot go in one frame (None: it fits)."""
    size = len(encode(payload).encode())
    limit = MAX_FRAME - ENVELOPE
    if size <= limit:
        return None
    return (
        f"the {payload.get('type')} is {size} bytes as JSON; at most {limit} fit in one "
        "message to the control plane. Return less (e.g. a reference to the data)"
    )


def refusal_reason(refused: InvalidStatus) -> str:
    """The control plane's reason for refusing a socket (a cap: HTTP 429), as ``: …``."""
    try:
        message = json.loads(refused.response.body or b"")["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return ""
    return f": {str(message)[:300]}"
