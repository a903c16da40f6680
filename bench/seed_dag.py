"""Seed DAG benchmark: 3 parallel no-op steps then a join, POST → COMPLETED, durable.

    python bench/seed_dag.py [--runs 200] [--concurrency 200] [--webhook] [--sdk typescript]
    python bench/seed_dag.py --postgres [--replicas 3]   # on a throwaway PostgreSQL cluster

Starts a real control plane (``orra serve``, its own process, a DuckDB file on disk) and the
four no-op services (another process, real websockets; ``--sdk typescript``: written with the
TypeScript SDK, in Node), then measures
  * sequential: one orchestration at a time, p50/p99 of POST → COMPLETED as the caller sees it
    (POST, then ``GET ?wait=`` which returns the moment the orchestration has committed);
  * concurrent: N orchestrations in flight at once, orchestrations per second;
and the same DAG as plain ``asyncio.gather`` in this process (the floor, not durable).
With ``--postgres`` the control plane runs on PostgreSQL (Debian's server, a throwaway cluster
as the tests start one), as ``--replicas`` replicas; the services connect to the first, and
the callers' requests go to the replicas in turn (so most tasks cross replicas).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import percentile, seed_cluster, throwaway_postgres  # noqa: E402
from http_pool import HttpPool  # noqa: E402

from orra_studio.demo import SEED_REQUEST  # noqa: E402

HERE = Path(__file__).resolve().parent
SEED = {k: v for k, v in SEED_REQUEST.items() if k != "timestamp"}


async def floor(runs: int, concurrency: int) -> tuple[float, float]:
    async def noop(value):
        return value

    async def dag():
        a, b, c = await asyncio.gather(noop(1), noop(2), noop(3))
        return await noop((a, b, c))

    latencies = []
    for _ in range(runs):
        started = time.perf_counter()
        await dag()
        latencies.append(time.perf_counter() - started)
    started = time.perf_counter()
    await asyncio.gather(*(dag() for _ in range(concurrency)))
    return statistics.median(latencies) * 1e3, concurrency / (time.perf_counter() - started)


async def one(client: HttpPool) -> float:
    started = time.perf_counter()
    _, accepted = await client.request("POST", "/orchestrations", SEED)
    execution_id = accepted["executionId"]
    while True:
        _, body = await client.request("GET", f"/orchestrations/{execution_id}?wait=30")
        if body["status"] == "COMPLETED":
            return time.perf_counter() - started
        if body["status"] in ("FAILED", "NOT_ACTIONABLE", "ABORTED", "CANCELLED"):
            raise RuntimeError(f"{execution_id} ended {body['status']}: {body.get('error')}")


async def measure(urls: list[str], key: str, runs: int, concurrency: int) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {key}"}
    clients = [HttpPool(url, headers, size=max(1, concurrency // len(urls))) for url in urls]
    turn = itertools.cycle(clients)
    try:
        for _ in range(20):  # warm-up: connections, caches
            await one(next(turn))
        sequential = [await one(next(turn)) for _ in range(runs)]
        await asyncio.gather(*(one(next(turn)) for _ in range(concurrency)))  # open connections
        started = time.perf_counter()
        await asyncio.gather(*(one(next(turn)) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    finally:
        for client in clients:
            await client.close()
    return {
        "p50_ms": statistics.median(sequential) * 1e3,
        "p99_ms": percentile(sequential, 0.99) * 1e3,
        "per_second": concurrency / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument(
        "--webhook", action="store_true", help="the project has a webhook: every outcome is sent"
    )
    parser.add_argument(
        "--sdk",
        choices=["python", "typescript"],
        default="python",
        help="which SDK the four no-op services are written with",
    )
    parser.add_argument(
        "--postgres", action="store_true", help="on a throwaway PostgreSQL cluster, not DuckDB"
    )
    parser.add_argument("--replicas", type=int, default=1, help="with --postgres: how many")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        db = stack.enter_context(throwaway_postgres()) if args.postgres else None
        urls, key = stack.enter_context(
            seed_cluster(webhook=args.webhook, sdk=args.sdk, db=db, replicas=args.replicas)
        )
        floor_p50, floor_rate = asyncio.run(floor(args.runs, args.concurrency))
        result = asyncio.run(measure(urls, key, args.runs, args.concurrency))

    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.platform()}"
    )
    print(f"{'system':<50} {'p50 ms':>8} {'p99 ms':>8} {'orch/s':>10}")
    print(f"{'plain asyncio.gather (floor)':<50} {floor_p50:>8.3f} {'':>8} {floor_rate:>10,.0f}")
    backend = f"PostgreSQL, {args.replicas} replica(s)" if args.postgres else "DuckDB on disk"
    label = f"orra studio ({backend}{', webhook' if args.webhook else ''})"
    label += f", {args.sdk} services"
    print(
        f"{label:<50} {result['p50_ms']:>8.2f} "
        f"{result['p99_ms']:>8.2f} {result['per_second']:>10,.0f}"
    )


if __name__ == "__main__":
    main()
