"""A real HTTP server on 127.0.0.1 (a free port) in a thread, for tests that need a peer."""

from __future__ import annotations

import http.server
import threading
from typing import Self

__all__ = ["LocalHttpServer", "QuietHandler"]


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A request handler that keeps the test output clean, with a one-call answer."""

    def log_message(self, *args: object) -> None:
        pass

    def answer(self, status: int, body: bytes = b"", content_type: str | None = None) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class LocalHttpServer:
    """``with LocalHttpServer(Handler, "/path") as server: server.url`` serves until the end."""

    def __init__(
        self, handler: type[http.server.BaseHTTPRequestHandler], path: str = "", port: int = 0
    ) -> None:
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
