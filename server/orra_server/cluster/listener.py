"""One connection that LISTENs on the cluster's channels, on a thread of its own.

PostgreSQL delivers a ``NOTIFY`` when the transaction that sent it commits, so a listener
never hears of a row it cannot read yet. A notification can still be missed (the connection
dropped and came back): :attr:`Listener.on_reconnect` then runs, and the cluster reads
everything afresh rather than trusting what it heard.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

import psycopg

from ..store.postgres.url import CONNECT_LIMITS

__all__ = ["Listener"]

log = logging.getLogger("orra.cluster")

#: seconds between attempts to get the listening connection back
RECONNECT_DELAY = 1.0


class Listener:
    def __init__(
        self,
        url: str,
        handlers: dict[str, Callable[[str], None]],
        loop: asyncio.AbstractEventLoop,
        application_name: str,
        on_reconnect: Callable[[], None] | None = None,
    ) -> None:
        self._url = url
        self._application_name = application_name
        self._handlers = handlers
        self._loop = loop
        self.on_reconnect = on_reconnect
        self._stopping = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="orra-listener", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        """Listening once this returns (notifications sent from now on are heard)."""
        self._thread.start()
        if not self._listening.wait(timeout):
            raise ConnectionError("the cluster's listening connection did not come up")

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        first = True
        while not self._stopping.is_set():
            try:
                with psycopg.connect(
                    self._url,
                    autocommit=True,
                    application_name=self._application_name,
                    **CONNECT_LIMITS,
                ) as connection:
                    for channel in self._handlers:
                        connection.execute(f"LISTEN {channel}")
                    self._listening.set()
                    if not first and self.on_reconnect is not None:
                        self._loop.call_soon_threadsafe(self.on_reconnect)
                    first = False
                    while not self._stopping.is_set():
                        for note in connection.notifies(timeout=0.5):
                            handler = self._handlers.get(note.channel)
                            if handler is not None:
                                self._loop.call_soon_threadsafe(handler, note.payload)
            except Exception as exc:  # the server restarted, the network blinked
                if self._stopping.is_set():
                    return
                log.warning("the cluster's listening connection failed (%s); reconnecting", exc)
                self._stopping.wait(RECONNECT_DELAY)
