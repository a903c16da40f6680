"""A real TCP relay in front of the control plane, for tests of what a client does when the
network misbehaves: :meth:`Relay.cut` closes every connection it carries at once (a dropped
network, a proxy that restarts), and every request that went through is noted (method and
path), so a test can say what a client asked and how often."""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass, field
from typing import Self

__all__ = ["Relay"]

_REQUEST_LINE = re.compile(rb"(GET|POST|PUT|PATCH|DELETE) (\S+) HTTP/1\.[01]\r\n")


@dataclass
class _Carried:
    """One client connection and its twin to the control plane."""

    client: socket.socket
    server: socket.socket
    requests: list[str] = field(default_factory=list)
    open: bool = True

    def close(self) -> None:
        self.open = False
        for end in (self.client, self.server):
            try:
                end.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked reading it
            except OSError:
                pass
            end.close()


class Relay:
    """``with Relay(port) as relay: relay.url`` forwards to 127.0.0.1:``port``."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.carried: list[_Carried] = []
        self.lock = threading.Lock()
        self.arrivals: list[str] = []  # every connection's requests, in order of arrival

    def __enter__(self) -> Self:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.close()
        self.cut()

    def cut(self) -> int:
        """Close every connection carried now; how many there were."""
        with self.lock:
            live = [c for c in self.carried if c.open]
        for carried in live:
            carried.close()
        return len(live)

    def requests(self) -> list[str]:
        """``"GET /path?query"`` for every request carried so far, in order of arrival."""
        with self.lock:
            return list(self.arrivals)

    def open_requests(self, fragment: str) -> int:
        """Connections still open whose latest request's path contains ``fragment``."""
        with self.lock:
            return sum(
                c.open and bool(c.requests) and fragment in c.requests[-1] for c in self.carried
            )

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            server = socket.create_connection(self.target)
            carried = _Carried(client, server)
            with self.lock:
                self.carried.append(carried)
            threading.Thread(target=self._pump, args=(carried, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(carried, False), daemon=True).start()

    def _pump(self, carried: _Carried, upstream: bool) -> None:
        source, sink = (
            (carried.client, carried.server) if upstream else (carried.server, carried.client)
        )
        tail = b""
        try:
            while chunk := source.recv(65536):
                if upstream:  # note the request lines (one may span two chunks)
                    seen, end = tail + chunk, 0
                    for line in _REQUEST_LINE.finditer(seen):
                        request = f"{line[1].decode()} {line[2].decode()}"
                        with self.lock:
                            carried.requests.append(request)
                            self.arrivals.append(request)
                        end = line.end()
                    tail = seen[max(end, len(seen) - 200) :]
                sink.sendall(chunk)
        except OSError:
            pass
        with self.lock:
            done = carried.open
        if done:
            carried.close()
