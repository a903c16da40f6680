"""``orra demo``: the seed example end to end, embedded, offline, with no API key to set."""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from pathlib import Path

from rich.console import Console

from orra_sdk.vocabulary import OrchestrationStatus

from .client import Client
from .demo_services import build_demo_services
from .embedded import EmbeddedServer
from .render import plan_table, result_panel, steps_table

__all__ = ["SEED_REQUEST", "DemoServices", "run_demo", "wait_for_demo_services"]

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


def run_demo(db: str | None = None, console: Console | None = None) -> int:
    console = console or Console()
    with tempfile.TemporaryDirectory(prefix="orra-demo-") as tmp:
        db_path = db or str(Path(tmp) / "orra.duckdb")
        started = time.perf_counter()
        with EmbeddedServer(db_path, offline_planner=True) as server:
            console.print(
                f"[bold]Orra Studio demo[/] — embedded control plane at {server.url}, "
                f"DuckDB at {db_path}, offline schema-flow planner"
            )
            with Client(server.url) as anonymous:
                project = anonymous.create_project("demo")
            client = Client(server.url, project["apiKey"])
            services = DemoServices(server.url, project["apiKey"])
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
                return 0 if body["status"] == OrchestrationStatus.COMPLETED else 1
            finally:
                client.close()
                services.stop()
