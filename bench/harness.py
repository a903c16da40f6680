"""What the benchmarks share: a real control plane process with the four no-op seed services."""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx

__all__ = ["free_port", "machine", "percentile", "seed_setup", "stop_all", "wait_for"]

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def machine() -> str:
    """The line printed under every benchmark's figures: what they were measured on, and when."""
    return (
        f"machine: {platform.machine()} {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}"
    )


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    """End a benchmark's processes, the last started first."""
    for process in reversed(processes):
        process.terminate()
        process.wait()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def wait_for(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not happen in {timeout} s")
        time.sleep(0.05)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


TYPESCRIPT_SDK = HERE.parent / "sdk" / "typescript"


def _noop_services(sdk: str, url: str, key: str) -> subprocess.Popen[bytes]:
    if sdk == "python":
        return subprocess.Popen([sys.executable, str(HERE / "noop_services.py"), url, key])
    if not (TYPESCRIPT_SDK / "dist" / "esm" / "index.js").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=TYPESCRIPT_SDK, check=True)
        subprocess.run(["npm", "run", "build"], cwd=TYPESCRIPT_SDK, check=True)
    script = TYPESCRIPT_SDK / "examples" / "seed-services.mjs"
    env = {**os.environ, "NOOP": "1", "CONCURRENCY": "1000", "ORRA_LOG_LEVEL": "warn"}
    return subprocess.Popen(["node", str(script), url, key], env=env)


@contextmanager
def seed_setup(
    timeout: float = 30.0, webhook: bool = False, sdk: str = "python"
) -> Iterator[tuple[str, str]]:
    """``orra serve`` on a DuckDB file on disk and the four no-op seed services connected to
    it: yields (url, api_key) (see :func:`seed_cluster`)."""
    with seed_cluster(timeout=timeout, webhook=webhook, sdk=sdk) as (urls, key):
        yield urls[0], key


@contextmanager
def seed_cluster(
    timeout: float = 30.0,
    webhook: bool = False,
    sdk: str = "python",
    db: str | None = None,
    replicas: int = 1,
) -> Iterator[tuple[list[str], str]]:
    """``replicas`` × ``orra serve`` on ``db`` (default: a DuckDB file on disk; a
    ``postgresql://`` URL for several) and the four no-op seed services connected to the first
    (``noop_services.py``, or with ``sdk="typescript"`` the TypeScript SDK's seed example with
    ``NOOP=1``): yields (urls, api_key); stops them all and removes the file afterwards. With
    ``webhook``, the project has a webhook to ``webhook_sink.py`` (its own process), so every
    outcome is delivered."""
    tmp = Path(tempfile.mkdtemp(prefix="orra-bench-"))
    target = db or str(tmp / "bench.duckdb")
    urls, servers = [], []
    for _ in range(replicas):
        port = free_port()
        urls.append(f"http://127.0.0.1:{port}")
        servers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "orra_studio",
                    "serve",
                    "--port",
                    str(port),
                    "--db",
                    target,
                    "--allow-private-webhooks",  # the sink listens on 127.0.0.1
                ],
                stderr=subprocess.DEVNULL,
            )
        )
    url = urls[0]
    services = None
    sink = None
    try:
        deadline = time.monotonic() + timeout
        while not all(_healthy(u) for u in urls):
            if time.monotonic() > deadline:
                raise SystemExit("the control plane did not start")
            time.sleep(0.05)
        key = httpx.post(url + "/register/project", json={"name": "bench"}).json()["apiKey"]
        if webhook:
            sink_port = free_port()
            sink = subprocess.Popen([sys.executable, str(HERE / "webhook_sink.py"), str(sink_port)])
            hook = f"http://127.0.0.1:{sink_port}/hook"
            added = httpx.post(
                url + "/webhooks", json={"url": hook}, headers={"Authorization": f"Bearer {key}"}
            )
            added.raise_for_status()
        services = _noop_services(sdk, url, key)
        headers = {"Authorization": f"Bearer {key}"}
        for each in urls:  # every replica sees the four (the others through the cluster)
            while (
                sum(
                    s["online"]
                    for s in httpx.get(each + "/services", headers=headers).json()["services"]
                )
                < 4
            ):
                if time.monotonic() > deadline:
                    raise SystemExit("the services did not connect")
                time.sleep(0.05)
        yield urls, key
    finally:
        for process in (services, sink):
            if process is not None:
                process.terminate()
                process.wait()
        for server in servers:
            server.terminate()
            server.wait()
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A PostgreSQL server of its own (Debian's, as the tests start one: durable settings,
    not the tests' fsync=off) and a fresh database; its URL."""
    sys.path.insert(0, str(HERE.parent / "tests"))
    from postgres_cluster import PostgresCluster, server_binaries

    binaries = server_binaries()
    if binaries is None:
        raise SystemExit("no PostgreSQL server: apt-get install -y postgresql")
    cluster = PostgresCluster(binaries, durable=True).start()
    try:
        yield cluster.new_database()
    finally:
        cluster.stop()
