"""Refusing a service socket before the upgrade, when :func:`..control.sockets.reserve` says it
is past a bound: HTTP 429 with ``Retry-After`` and an error body that says which limit (the
SDKs retry). Without the denial extension, a bare HTTP 403."""

from __future__ import annotations

from fastapi import WebSocket
from fastapi.responses import JSONResponse

from ..control.sockets import Refusal

__all__ = ["RETRY_AFTER", "deny"]

#: seconds a refused socket is told to wait before it tries again
RETRY_AFTER = 30


async def deny(websocket: WebSocket, refusal: Refusal) -> None:
    body = {"error": {"code": refusal.code, "message": refusal.message}}
    try:
        await websocket.send_denial_response(
            JSONResponse(body, status_code=429, headers={"Retry-After": str(RETRY_AFTER)})
        )
    except RuntimeError:  # a server without the denial extension: a bare HTTP 403
        await websocket.close(code=1008)
