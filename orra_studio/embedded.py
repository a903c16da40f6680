"""Start a real control plane inside this process (a uvicorn server on its own thread).

Used by ``orra demo`` and, later, the notebook magics when no server is configured.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

__all__ = ["EmbeddedServer", "free_port", "unusable_database"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unusable_database(path: str) -> str | None:
    """Why the server could not open ``path`` (another process holds it, it is not a
    database), in one line; None when it can. The file is opened and closed again here."""
    from orra_server.serving import StartupError, check_database

    try:
        check_database(path)
    except StartupError as refused:
        return str(refused.code).removeprefix("error: ").split(";")[0]
    return None


class EmbeddedServer:
    def __init__(
        self,
        db_path: str,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        offline_planner: bool = False,
    ) -> None:
        # only the embedded case needs the server
        from orra_server import Settings
        from orra_server.serving import uvicorn_config

        self.host = host
        self.port = port or free_port()
        # it delivers to the notebook's own receivers on this machine: private addresses allowed
        settings = Settings(db_path=db_path, allow_private_webhooks=True)
        if offline_planner:
            settings.llm.enabled = False
        config = uvicorn_config(settings, host=host, port=self.port)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="orra-embedded", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> EmbeddedServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the embedded control plane did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
