"""Memory under a websocket flood: one client sends 20,000 frames with 20 KB ids, never reads.

    python bench/ws_flood.py [CHECKOUT]

Starts ``orra serve`` from CHECKOUT (default: this one; another checkout, e.g. a worktree of an
older commit, is put first on ``PYTHONPATH``) and prints the server's RSS before, right after
the flood and 3 s after the client closed.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import free_port  # noqa: E402


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{root}/server:{root}/sdk/python:{root}"}
    db = Path(tempfile.mkdtemp(prefix="orra-flood-")) / "orra.duckdb"
    command = [sys.executable, "-m", "orra_studio.cli", "serve", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--db", str(db)], env=env, cwd=root, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/health").status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise SystemExit("the control plane did not start") from None
                time.sleep(0.1)
        project = httpx.post(url + "/register/project", json={"name": "flood"}).json()
        headers = {"Authorization": f"Bearer {project['apiKey']}"}
        body = {"name": "flooded", "description": "a target"}
        service = httpx.post(url + "/register/service", json=body, headers=headers).json()

        def rss() -> float:
            return psutil.Process(server.pid).memory_info().rss / 2**20

        before = rss()

        async def flood() -> float:
            socket_url = f"ws://127.0.0.1:{port}/ws?serviceId={service['id']}"
            socket_url += f"&apiKey={project['apiKey']}"
            async with websockets.connect(socket_url, max_queue=1) as ws:
                for n in range(20_000):
                    frame = {
                        "id": f"{n:08d}" + "x" * 20_000,
                        "payload": {"type": "task_status", "idempotencyKey": "k" * 40},
                    }
                    await ws.send(json.dumps(frame))
                return rss()

        during = asyncio.run(flood())
        time.sleep(3)  # a measurement, not a synchronisation: let the server settle
        print(f"checkout: {root}")
        print(f"server RSS before {before:.0f} MiB, after the flood {during:.0f} MiB, ", end="")
        print(f"3 s after the close {rss():.0f} MiB")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
