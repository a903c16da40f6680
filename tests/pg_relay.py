"""A real TCP relay in front of PostgreSQL that cuts a chosen session at its next COMMIT, for
tests of what a writer does when its connection goes while a commit is under way: the one
moment when the client cannot know whether its transaction happened.

A session is chosen by the start of its ``application_name`` (read from the start-up message
as it passes). :meth:`PgRelay.cut_at_next_commit` either sends the COMMIT on to the server and
drops its answer (the commit happens, the client hears nothing) or never sends it (the server
sees the client go and rolls back); either way the client's connection is closed.
"""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass, field
from typing import Self

__all__ = ["PgRelay"]

#: a simple-protocol Query message of "COMMIT" (what psycopg's ``commit()`` sends)
_COMMIT = b"Q\x00\x00\x00\x0bCOMMIT\x00"
_APPLICATION_NAME = re.compile(rb"application_name\x00([^\x00]*)\x00")


@dataclass
class Cut:
    """One armed cut: which sessions, whether the COMMIT reaches the server, and ``done`` set
    once the client's connection was closed."""

    session: str
    deliver: bool
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Carried:
    client: socket.socket
    server: socket.socket
    name: str = ""
    swallow: bool = False  # the server's answers are dropped (the client is gone)


class PgRelay:
    """``with PgRelay(port) as relay: relay.port`` forwards to 127.0.0.1:``port``."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.armed: Cut | None = None
        self.carried: list[_Carried] = []

    def __enter__(self) -> Self:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.close()
        with self.lock:
            carried = list(self.carried)
        for one in carried:
            _close(one.client)
            _close(one.server)

    def url(self, direct_url: str) -> str:
        """``direct_url`` (to the server itself) through this relay."""
        return re.sub(r"@127\.0\.0\.1:\d+/", f"@127.0.0.1:{self.port}/", direct_url)

    def cut_at_next_commit(self, session: str, *, deliver: bool) -> Cut:
        """Cut the next COMMIT of a session whose application_name starts with ``session``."""
        cut = Cut(session, deliver)
        with self.lock:
            self.armed = cut
        return cut

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            carried = _Carried(client, socket.create_connection(self.target))
            with self.lock:
                self.carried.append(carried)
            threading.Thread(target=self._upstream, args=(carried,), daemon=True).start()
            threading.Thread(target=self._downstream, args=(carried,), daemon=True).start()

    def _take_cut(self, carried: _Carried, chunk: bytes) -> Cut | None:
        with self.lock:
            cut = self.armed
            if (
                cut is None
                or not carried.name.startswith(cut.session)
                or not chunk.endswith(_COMMIT)
            ):
                return None
            self.armed = None
            return cut

    def _upstream(self, carried: _Carried) -> None:
        try:
            while chunk := carried.client.recv(65536):
                if not carried.name and (found := _APPLICATION_NAME.search(chunk)):
                    carried.name = found[1].decode(errors="replace")
                cut = self._take_cut(carried, chunk)
                if cut is None:
                    carried.server.sendall(chunk)
                    continue
                if cut.deliver:
                    carried.swallow = True
                    carried.server.sendall(chunk)  # the server commits; its answer is dropped
                else:
                    _close(carried.server)  # the server sees the client go: it rolls back
                _close(carried.client)
                cut.done.set()
                return
        except OSError:
            pass
        _close(carried.server)

    def _downstream(self, carried: _Carried) -> None:
        try:
            while chunk := carried.server.recv(65536):
                if not carried.swallow:
                    carried.client.sendall(chunk)
        except OSError:
            pass
        _close(carried.client)
        _close(carried.server)


def _close(end: socket.socket) -> None:
    try:
        end.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    end.close()
