"""``orra demo``: the seed example end to end, embedded, offline, with no API key to set."""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from orra_sdk.vocabulary import OrchestrationStatus

from .client import Client
from .demo_services import build_demo_services
from .embedded import EmbeddedServer, unusable_database
from .errors import Unauthorized
from .render import plan_table, result_panel, steps_table

__all__ = [
    "SEED_REQUEST",
    "DemoServer",
    "DemoServices",
    "demo_db_path",
    "demo_server",
    "run_demo",
    "wait_for_demo_services",
]

SEED_REQUEST = {
    "action": {
        "type": "customer-inquiry",
        "content": "Hi, I am interested in your product. Can you tell me more about its features?",
    },
    "data": [
        {"field": "customerId", "value": "cust12345"},
        {"field": "sellerId", "value": "sell98765"},
    ],
    "timestamp": "2024-09-06T14:30:00Z",
}


class DemoServices:
    """Runs the demo services on their own event loop, over real websockets."""

    def __init__(self, url: str, api_key: str) -> None:
        self.url, self.api_key = url, api_key
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="orra-demo-services", daemon=True)
        self._main: asyncio.Task[None] | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        services = build_demo_services(self.url, self.api_key)

        async def main() -> None:
            await asyncio.gather(*(s.run() for s in services))

        self._main = self._loop.create_task(main())
        try:
            self._loop.run_until_complete(self._main)
        except asyncio.CancelledError:
            pass
        finally:
            self._loop.close()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._main is not None:
            self._loop.call_soon_threadsafe(self._main.cancel)
        self._thread.join(timeout=10)


def wait_for_demo_services(client: Client, timeout: float = 20.0) -> list[str] | None:
    """The four demo services' names once all are online; None if they are not in time."""
    deadline = time.monotonic() + timeout
    while True:
        online = [s["name"] for s in client.services() if s["online"]]
        if len(online) == 4:
            return online
        if time.monotonic() > deadline:
            return None
        time.sleep(0.02)


@dataclass
class DemoServer:
    """An embedded control plane on the demo's database, with the demo project's key."""

    server: EmbeddedServer
    api_key: str
    db: str
    #: why the demo's own database was not used, when it was not
    fallback: str | None = None


def demo_db_path() -> Path:
    """Where ``orra demo`` keeps its runs, so that ``orra studio`` (with nothing configured)
    opens them: ``~/.orra/demo.duckdb``."""
    return Path.home() / ".orra" / "demo.duckdb"


@contextmanager
def demo_server(db: str | None = None) -> Iterator[DemoServer]:
    """An embedded control plane on ``db`` (default: :func:`demo_db_path`) and the key of its
    ``demo`` project. The key is kept beside the database (readable by this user only) and
    reused while the server knows it. A database another process holds (a running studio) is
    not waited for: this run goes to a temporary file instead, and says so."""
    chosen = Path(db) if db else demo_db_path()
    chosen.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="orra-demo-") as tmp:
        fallback = unusable_database(str(chosen))  # one line, not a traceback
        if fallback is not None:
            chosen = Path(tmp) / "orra.duckdb"
        server = EmbeddedServer(str(chosen), offline_planner=True).start()
        try:
            key = _demo_key(server.url, chosen.with_suffix(".key"))
            yield DemoServer(server, key, str(chosen), fallback)
        finally:
            server.stop()


def _demo_key(url: str, saved: Path) -> str:
    """The saved key while the server knows it, else a new ``demo`` project's, saved."""
    if saved.exists():
        key = saved.read_text().strip()
        with Client(url, key) as client:
            try:
                client.current_project()
                return key
            except Unauthorized:
                pass  # a new database beside an old key file
    with Client(url) as anonymous:
        key = anonymous.create_project("demo")["apiKey"]
    saved.touch(mode=0o600)
    saved.chmod(0o600)
    saved.write_text(key + "\n")
    return key


def run_demo(db: str | None = None, console: Console | None = None) -> int:
    console = console or Console()
    started = time.perf_counter()
    with demo_server(db) as demo:
        server = demo.server
        console.print(
            f"[bold]Orra Studio demo[/] — embedded control plane at {server.url}, "
            f"DuckDB at {demo.db}, offline schema-flow planner"
        )
        if demo.fallback:
            console.print(f"{demo.fallback}: this run goes to a temporary file", markup=False)
        client = Client(server.url, demo.api_key)
        services = DemoServices(server.url, demo.api_key)
        services.start()
        try:
            online = wait_for_demo_services(client)
            if online is None:
                console.print("[red]the demo services did not connect in time[/]")
                return 1
            console.print(f"services online: {', '.join(sorted(online))}", markup=False)
            console.print(f"POST /orchestrations  action={SEED_REQUEST['action']['type']!r}")
            accepted = client._call("POST", "/orchestrations", json=SEED_REQUEST)
            console.print(f"{accepted['status']}: {accepted['executionId']}", markup=False)
            console.print(plan_table(accepted["plan"]))
            body = client.wait(accepted["executionId"], timeout=30)
            console.print(steps_table(body))
            console.print(result_panel(body))
            console.print(f"done in {time.perf_counter() - started:.2f} s")
            if not demo.fallback:
                console.print("See this run and the earlier ones in a browser: orra studio")
            return 0 if body["status"] == OrchestrationStatus.COMPLETED else 1
        finally:
            client.close()
            services.stop()
