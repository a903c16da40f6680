"""Crash-recovery benchmark: SIGKILL the control plane with N orchestrations in flight, restart it
on the same DuckDB file, and time how long until every one of them is running again.

    python bench/recovery.py [--orchestrations 1000]

A "holder" service (a raw websocket client in this process) accepts tasks and never answers, so
the orchestrations stay in flight. After the kill, the clock starts when the new server process
is spawned; "running again" means the holder has received the re-dispatched task of every
orchestration (the same idempotency key as before the crash). Reported: time to ``/health``,
to the holder's reconnect, and to all N re-dispatched.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx
import websockets

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn(db: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "orra_studio.cli", "serve", "--port", str(port), "--db", str(db)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        cwd=HERE.parent,
        env={k: v for k, v in os.environ.items() if not k.startswith(("ORRA_LLM", "OPENAI_"))},
    )


async def healthy(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while True:
            try:
                if (await client.get(url + "/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("server did not come up")
            await asyncio.sleep(0.005)


class Holder:
    """A service that takes every task and answers none; reconnects at once when dropped."""

    def __init__(self, url: str, key: str, service_id: str) -> None:
        self.uri = url.replace("http://", "ws://") + f"/ws?serviceId={service_id}&apiKey={key}"
        self.keys: set[str] = set()
        self.target = 0
        self.all_received = asyncio.Event()
        self.connected = asyncio.Event()
        self.connected_at = 0.0

    def expect(self, count: int) -> None:
        self.keys = set()
        self.target = count
        self.all_received = asyncio.Event()
        self.connected = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                async with websockets.connect(self.uri, max_size=None) as ws:
                    self.connected_at = time.monotonic()
                    self.connected.set()
                    async for frame in ws:
                        message = json.loads(frame)
                        if message.get("type") == "task_request":
                            self.keys.add(message["idempotencyKey"])
                            if len(self.keys) >= self.target:
                                self.all_received.set()
            except (OSError, websockets.exceptions.WebSocketException):
                await asyncio.sleep(0.01)


async def main(count: int) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="orra-recovery-"))
    db, log = workdir / "orra.duckdb", workdir / "server.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = spawn(db, port, log)
    await healthy(url)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        project = (await client.post("/register/project", json={"name": "bench"})).json()
        headers = {"Authorization": f"Bearer {project['apiKey']}"}
        registration = {
            "name": "holder",
            "description": "holds tasks",
            "schema": {
                "input": {"type": "object", "properties": {"n": {"type": "integer"}}},
                "output": {"type": "object"},
            },
        }
        service = await client.post("/register/service", json=registration, headers=headers)
        holder = Holder(url, project["apiKey"], service.json()["id"])
        holder.expect(count)
        holding = asyncio.create_task(holder.run())
        await holder.connected.wait()
        body = {
            "action": {"type": "hold", "content": "hold it"},
            "plan": {
                "steps": [
                    {"id": "step1", "component": "holder", "input": {"n": 1}, "dependencies": []}
                ]
            },
        }
        started = time.monotonic()
        limit = asyncio.Semaphore(64)

        async def post() -> None:
            async with limit:
                answer = await client.post("/orchestrations", json=body, headers=headers)
                assert answer.status_code == 202, answer.text

        await asyncio.gather(*(post() for _ in range(count)))
        await asyncio.wait_for(holder.all_received.wait(), 120)
        accepted = time.monotonic() - started

    server.send_signal(signal.SIGKILL)
    server.wait()
    holder.expect(count)
    t0 = time.monotonic()
    server = spawn(db, port, log)
    await healthy(url)
    t_health = time.monotonic() - t0
    await asyncio.wait_for(holder.connected.wait(), 60)
    t_connected = holder.connected_at - t0
    await asyncio.wait_for(holder.all_received.wait(), 300)
    t_all = time.monotonic() - t0
    async with httpx.AsyncClient(base_url=url, timeout=60, headers=headers) as client:
        listed = await client.get("/orchestrations", params={"limit": 1000})
        running = sum(o["status"] == "RUNNING" for o in listed.json()["orchestrations"])
    holding.cancel()
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)
    return {
        "orchestrations": count,
        "accept_and_dispatch_s": accepted,
        "restart_to_health_s": t_health,
        "restart_to_service_reconnected_s": t_connected,
        "restart_to_all_running_s": t_all,
        "running_after": running,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orchestrations", type=int, default=1000)
    args = parser.parse_args()
    result = asyncio.run(main(args.orchestrations))
    print(f"recovery bench, {date.today()}, {platform.machine()}, {os.cpu_count()} cpus")
    for name, value in result.items():
        print(f"  {name:36} {value:.3f}" if isinstance(value, float) else f"  {name:36} {value}")
