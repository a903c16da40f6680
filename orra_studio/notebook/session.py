"""What a kernel holds between cells: the client, maybe an embedded control plane, the services
served from cells, and the local DuckDB the ``%%orra sql`` cells query.

The kernel reaches the control plane only over HTTP and websockets, even when it started it.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from pathlib import Path
from typing import Any

from ..client import Client
from ..config import Config
from ..embedded import EmbeddedServer
from ..errors import OrraError
from ..history import LocalHistory

__all__ = ["Analytics", "ServiceHost", "Session"]


class ServiceHost:
    """Runs ``orra_sdk`` services on an event loop of their own thread, so a cell returns while
    they keep serving tasks."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="orra-kernel-services", daemon=True
        )
        self._thread.start()
        self._running: dict[str, tuple[Any, asyncio.Task[None]]] = {}

    def serve(self, service: Any, timeout: float = 20.0) -> None:
        """Start (or replace) ``service`` and return once it is registered and connected."""
        self.stop(service.name)
        started = asyncio.run_coroutine_threadsafe(_start(service, timeout), self._loop)
        try:
            task = started.result(timeout + 5)
        except TimeoutError:
            raise OrraError(
                f"service '{service.name}' did not connect within {timeout:g} s"
            ) from None
        except OrraError:
            raise
        except Exception as exc:  # the SDK's own errors carry the server's message
            raise OrraError(f"service '{service.name}' did not start: {exc}") from None
        self._running[service.name] = (service, task)

    @property
    def names(self) -> list[str]:
        return sorted(self._running)

    def service(self, name: str) -> Any:
        return self._running[name][0]

    def stop(self, name: str) -> None:
        entry = self._running.pop(name, None)
        if entry is not None:
            self._loop.call_soon_threadsafe(entry[1].cancel)

    def close(self) -> None:
        for name in list(self._running):
            self.stop(name)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


async def _start(service: Any, timeout: float) -> asyncio.Task[None]:
    """``service.run()`` as a task, once connected; its error if it stops before that."""
    task = asyncio.ensure_future(service.run())
    connected = asyncio.ensure_future(service.wait_connected(timeout))
    await asyncio.wait({task, connected}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        connected.cancel()
        task.result()  # raises why it stopped (e.g. the registration was refused)
    try:
        await connected
    except BaseException:
        task.cancel()
        raise
    return task


#: the notebook's local history is not locked: a notebook may join it with its own files
Analytics = LocalHistory


class Session:
    """One per kernel (held by the magics)."""

    def __init__(self) -> None:
        self.client: Client | None = None
        self.embedded: EmbeddedServer | None = None
        self.project: str | None = None
        self._services: ServiceHost | None = None
        self.analytics: Analytics | None = None
        #: the progress widget of the last %orra run or rerun (its approval buttons, result)
        self.last_run: Any = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def services(self) -> ServiceHost:
        """Started on first use: a kernel that serves nothing runs no extra thread."""
        if self._services is None:
            self._services = ServiceHost()
        return self._services

    @property
    def connected(self) -> bool:
        return self.client is not None

    def connect(
        self,
        url: str | None = None,
        api_key: str | None = None,
        project: str | None = None,
        *,
        embedded: bool = False,
        db: str | None = None,
    ) -> str:
        """Use the given or configured server; with none configured, start one here. Returns a
        line saying which."""
        self.close_client()
        config = Config.load()
        configured = url or api_key or project or config.current_project or config.url
        if not embedded and configured:
            target = config.target(url=url, api_key=api_key, project=project)
            if target.api_key is None:
                target.api_key, target.project = self._notebook_project(config, target.url)
            client = Client(target.url, target.api_key)
            try:
                version = client.health().get("version")
            except OrraError:
                client.close()
                raise
            self.client, self.project = client, target.project or "notebook"
            return f"Connected to {target.url} (server {version}), project {self.project}."
        if db is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="orra-notebook-")
            db = str(Path(self._tmp.name) / "orra.duckdb")
        self.embedded = EmbeddedServer(db, offline_planner=True).start()
        with Client(self.embedded.url) as anonymous:
            created = anonymous.create_project("notebook")
        self.client = Client(self.embedded.url, created["apiKey"])
        self.project = "notebook"
        return (
            f"Started an embedded control plane in this kernel at {self.embedded.url} "
            f"(DuckDB {db}, offline planner), project notebook."
        )

    def serve_demo(self) -> str:
        """The seed example's four services, served from this kernel for the project it is
        connected to; a line saying so."""
        from ..demo_services import build_demo_services

        client = self.require()
        demo = build_demo_services(client.url, client.api_key or "")
        for service in demo:
            self.services.serve(service)
        names = ", ".join(service.name for service in demo)
        return f"Serving the seed example's services from this kernel: {names}."

    @staticmethod
    def _notebook_project(config: Config, url: str) -> tuple[str, str]:
        """A server but no project: reuse (or add, as ``orra projects add notebook`` would) the
        config's ``notebook`` project for that server."""
        entry = config.projects.get("notebook")
        if entry and entry.get("url") == url:
            return entry["api_key"], "notebook"
        with Client(url) as anonymous:
            created = anonymous.create_project("notebook")
        current = config.current_project
        config.add_project("notebook", created["id"], created["apiKey"], url)
        config.current_project = current  # the terminal's choice stays
        config.save()
        return created["apiKey"], "notebook"

    def require(self) -> Client:
        if self.client is None:
            self.connect()
        assert self.client is not None
        return self.client

    def analytics_db(self) -> Analytics:
        if self.analytics is None:
            self.analytics = Analytics()
        return self.analytics

    def close_client(self) -> None:
        if self._services is not None:
            for name in self._services.names:
                self._services.stop(name)
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def close(self) -> None:
        self.close_client()
        if self._services is not None:
            self._services.close()
        if self.analytics is not None:
            self.analytics.close()
