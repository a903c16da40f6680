"""``GET /ws``: a service instance's websocket, framed as protocol.md describes.

Services wrap messages as ``{"id", "payload"}`` and get ``{"type": "ACK", "id"}`` back — for a
result, only after it has committed. Bare payloads (the JS SDK's re-sends) get no ACK. The pong
(``id == "pong"``) gets no ACK. Duplicates are normal and deduplicated by the engine.

This module is the transport: the key and capacity headers, the upgrade (or its refusal), the
receive loop and aborting a peer that does not read. Who may connect, the bounds, and what
each frame does are :mod:`..control.sockets`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from ..control import sockets
from ..core.grammar import bearer_credential, decimal
from .routing import OrjsonRoute
from .runtime import runtime_of
from .socket_limits import deny

router = APIRouter(route_class=OrjsonRoute)
log = logging.getLogger("orra.ws")

#: before the upgrade: a bad key or a service of another project (an HTTP 403, no upgrade)
POLICY_VIOLATION = 1008


#: the most tasks a socket may ask to hold at once with ``X-Orra-Capacity``
MAX_CAPACITY = 10_000


def _capacity_of(websocket: WebSocket, legacy: int) -> tuple[int | None, bool]:
    """(tasks the instance may hold at once or None for no limit, whether the ask is valid).

    ``X-Orra-Capacity: N`` says it; without it, a socket that sent its key in the URL (the
    original orra SDKs do) gets ``legacy`` (0: no limit), any other no limit.
    """
    asked = websocket.headers.get("x-orra-capacity")
    if asked is not None:
        capacity = decimal(asked, 1, MAX_CAPACITY)  # ASCII digits only: '²'.isdigit() is true
        return capacity, capacity is not None
    if websocket.headers.get("authorization", "").strip():
        return None, True
    return (legacy or None), True


def _key_of(websocket: WebSocket) -> str:
    """The API key: ``Authorization: Bearer …`` on the upgrade, else ``?apiKey=`` (orra SDKs)."""
    key = bearer_credential(websocket.headers.get("authorization"))
    return key or websocket.query_params.get("apiKey", "")


@router.websocket("/ws")
async def service_socket(websocket: WebSocket) -> None:
    runtime = runtime_of(websocket)
    service_id = websocket.query_params.get("serviceId", "")
    key = _key_of(websocket)
    project_id = sockets.authorise(runtime, key, service_id)
    if project_id is None:
        await websocket.close(code=POLICY_VIOLATION)
        return
    capacity, valid = _capacity_of(websocket, runtime.settings.legacy_instance_capacity)
    if not valid:  # refused before the upgrade, as a bad key is (HTTP 403)
        log.warning(
            "refused a socket of service %s: X-Orra-Capacity must be a whole number from 1 to %d",
            service_id,
            MAX_CAPACITY,
        )
        await websocket.close(code=POLICY_VIOLATION)
        return
    refusal = sockets.reserve(runtime, service_id, project_id)
    if refusal is not None:
        await deny(websocket, refusal)
        return
    try:
        await websocket.accept()
    finally:  # counted as opening until added below (or gone: the upgrade failed)
        sockets.opened(runtime, service_id, project_id)
    connection = sockets.connect(
        runtime,
        websocket,
        service_id=service_id,
        project_id=project_id,
        key=key,
        capacity=capacity,
        abort=_aborter(websocket),
    )
    try:
        while True:
            # when the writer closes or aborts the socket, this receives the disconnect
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                if message.get("code") == 1009:  # a frame over MAX_FRAME_BYTES
                    sockets.frame_too_large(runtime, connection)
                break
            await sockets.receive(runtime, connection, message)
    except (WebSocketDisconnect, RuntimeError):  # receive after close
        pass
    finally:
        await sockets.disconnect(runtime, connection)


def _aborter(websocket: WebSocket) -> Callable[[], None]:
    """Drop the TCP connection at once: for a peer that does not read even a close frame.

    ASGI has no abort; uvicorn's websocket protocols keep their transport as ``.transport``
    on the object whose bound ``send`` the app received (``server_send`` in the scope, set by
    :class:`KeepServerSend`). Without it, returning from the handler closes the socket
    normally once its buffer drains.
    """

    def abort() -> None:
        send = websocket.scope.get("orra.server_send")
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        if transport is not None:
            transport.abort()

    return abort


class KeepServerSend:
    """ASGI middleware (outermost): keeps the server's own ``send`` for :func:`_aborter`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            scope["orra.server_send"] = send
        await self.app(scope, receive, send)
