"""Bounds on service sockets: how many may be open, and how long one may stay silent.

A stranger with a key could open sockets until the server ran out of file descriptors, each
listed as an instance of the service; one that completes the upgrade and never speaks held
its descriptor until the keep-alive timeout (180 s). Now:

- a socket past ``ORRA_MAX_INSTANCES_PER_SERVICE`` (100) sockets of its service or
  ``ORRA_MAX_SOCKETS_PER_PROJECT`` (1,000) of its project is refused before the upgrade:
  HTTP 429 with ``Retry-After`` and an error body that says which limit (the SDKs retry);
- a socket that neither sends a frame nor answers a websocket-level ping within
  ``ORRA_WS_SILENT_GRACE`` (30 s) is closed with :data:`~..connections.CLOSE_SILENT`.
  Any websocket library answers pings by itself, so an idle but healthy service passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import WebSocket
from fastapi.responses import JSONResponse

from ..services.connections import CLOSE_SILENT, Instance, ServiceHub

__all__ = ["admit", "answered_a_ping", "confirmed", "watch_silence"]

log = logging.getLogger("orra.ws")

#: seconds a refused socket is told to wait before it tries again
RETRY_AFTER = 30


def _refusal(service_id: str, limit: int, whose: str, setting: str) -> str:
    return (
        f"too many sockets: {whose} already has {limit} open (the most allowed); close "
        f"unused instances or raise {setting} on the control plane"
    )


async def admit(
    websocket: WebSocket,
    hub: ServiceHub,
    service_id: str,
    project_id: str,
    *,
    per_service: int,
    per_project: int,
) -> bool:
    """Whether the socket may be upgraded; if so it is counted as opening (the caller calls
    ``hub.opening(..., -1)`` once it is added or gone). If not, it has been refused."""
    of_service, of_project = hub.sockets(service_id, project_id)
    if of_service >= per_service:
        code = "too_many_instances"
        message = _refusal(
            service_id, per_service, f"service {service_id}", "ORRA_MAX_INSTANCES_PER_SERVICE"
        )
    elif of_project >= per_project:
        code = "too_many_sockets"
        message = _refusal(service_id, per_project, "this project", "ORRA_MAX_SOCKETS_PER_PROJECT")
    else:
        hub.opening(service_id, project_id, +1)
        return True
    log.warning("refused a socket of service %s: %s", service_id, message)
    body = {"error": {"code": code, "message": message}}
    try:
        await websocket.send_denial_response(
            JSONResponse(body, status_code=429, headers={"Retry-After": str(RETRY_AFTER)})
        )
    except RuntimeError:  # a server without the denial extension: a bare HTTP 403
        await websocket.close(code=1008)
    return False


def answered_a_ping(websocket: WebSocket) -> bool:
    """Whether the peer has answered a websocket-level keep-alive ping (uvicorn's protocol,
    kept by :class:`~.ws.KeepServerSend`; False where the server does not say)."""
    send = websocket.scope.get("orra.server_send")
    protocol = getattr(send, "__self__", None)
    sent_at = getattr(protocol, "ping_sent_at", None)  # uvicorn's websockets-sansio protocol
    if sent_at is not None:
        # a ping went out and none is pending: it was answered (its round trip may read 0.0
        # under uvloop, whose clock counts milliseconds)
        return sent_at > 0 and getattr(protocol, "pending_ping_payload", b"") is None
    return bool(getattr(protocol, "latency", None))  # uvicorn's legacy websockets protocol


def confirmed(instance: Instance) -> bool:
    """It has sent a frame or answered a keep-alive ping: a live peer, not a held socket."""
    if not instance.heard and answered_a_ping(instance.socket):
        instance.heard = True
    return instance.heard


async def watch_silence(instance: Instance, grace: float) -> None:
    """Close the socket if it is not :func:`confirmed` within ``grace`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    with contextlib.suppress(asyncio.CancelledError):
        while not confirmed(instance) and instance.close_reason is None:
            left = deadline - loop.time()
            if left <= 0:
                instance.close(
                    CLOSE_SILENT,
                    f"the socket sent no frame and answered no ping within {grace:g} s",
                )
                return
            # several looks per keep-alive period (grace / 3): one taken just as the next
            # ping goes out sees it pending
            await asyncio.sleep(min(left, grace / 8, 1.0))
