"""Whether a service socket is a live peer or a held one: it has sent a frame or answered a
websocket-level keep-alive ping; one that does neither within ``ORRA_WS_SILENT_GRACE`` (30 s)
is closed with :data:`~..services.connections.CLOSE_SILENT`. Any websocket library answers
pings by itself, so an idle but healthy service passes.

The ping is read from uvicorn's protocol object, which the app keeps in the socket's scope
(``orra.server_send``, set by :class:`~..api.ws.KeepServerSend`).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from ..services.connections import CLOSE_SILENT, Instance

__all__ = ["answered_a_ping", "confirmed", "watch_silence"]


def answered_a_ping(websocket: Any) -> bool:
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
