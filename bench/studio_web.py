"""The web studio in Chromium: first paint with 100,000 orchestrations, completion → green node,
and the studio's memory after many run views.

    python bench/studio_web.py [--orchestrations 100000] [--greens 10] [--views 1000]

1. A DuckDB file is filled with ``--orchestrations`` finished orchestrations through the store's
   own verbs (before any server opens it), then ``orra serve`` and ``orra studio`` start on it;
   Chromium (Debian's, via Playwright) opens the Executions page: time from ``goto`` to the first
   row drawn, five times.
2. A one-step orchestration on a service that answers after 1 s, watched in the run view: the
   time from the step's completion (its ``endTime``, the control plane's clock) to the node being
   green in the page (the same machine's clock), ``--greens`` times.
3. The studio process's RSS after every 100 of ``--views`` run-view loads.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))
from harness import free_port, machine, percentile, stop_all, wait_for  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def fill(db: Path, count: int) -> str:
    """``count`` completed orchestrations of one project, written by the store; its API key."""
    from orra_sdk.vocabulary import OrchestrationStatus, StepStatus
    from orra_server.core.ids import hash_api_key, new_api_key
    from orra_server.engine.run import Run, build_steps
    from orra_server.store import NewProject, Store

    key = new_api_key()
    store = Store(str(db))
    start = datetime.now(UTC) - timedelta(days=1)
    plan = {"steps": [{"id": "step1", "component": "worker", "input": {}, "dependencies": []}]}

    async def write() -> None:
        await store.add_project(
            NewProject("p_bench", "bench", "whsec_x", hash_api_key(key), [], created_at=start)
        )
        batch = []
        for i in range(count):
            created = start + timedelta(milliseconds=i * 50)
            run = Run(
                id=f"o_bench{i:09d}",
                project_id="p_bench",
                action={"type": f"kind-{i % 7}", "content": f"bench orchestration {i}"},
                data=[],
                plan=plan,
                status=OrchestrationStatus.COMPLETED,
                created_at=created,
                start_time=created,
                end_time=created + timedelta(milliseconds=20),
                steps=build_steps(plan, {"worker": "s_worker"}),
            )
            for step in run.steps.values():
                step.status = StepStatus.COMPLETED
            batch.append(store.accept(run, list(run.steps.values())))
            if len(batch) == 2000:
                await asyncio.gather(*batch)
                batch = []
        await asyncio.gather(*batch)
        await store.sync()

    asyncio.run(write())
    store.close()
    return key


def start(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "orra_studio.cli", *args],
        cwd=ROOT,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orchestrations", type=int, default=100_000)
    parser.add_argument("--greens", type=int, default=10)
    parser.add_argument("--views", type=int, default=1000)
    options = parser.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="orra-bench-studio-"))
    db = tmp / "orra.duckdb"
    began = time.perf_counter()
    key = fill(db, options.orchestrations)
    print(f"filled {options.orchestrations} orchestrations in {time.perf_counter() - began:.1f} s")
    api_port, studio_port = free_port(), free_port()
    api = f"http://127.0.0.1:{api_port}"
    server = start(["serve", "--port", str(api_port), "--db", str(db)], tmp / "serve.log")
    processes = [server]
    try:
        wait_for(lambda: _ok(api + "/health"), "the control plane", 60)
        services = subprocess.Popen(
            [sys.executable, str(ROOT / "tests/services/faulty_services.py"), api, key, "worker"],
            env={**os.environ, "WORK_DELAY": "1"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(services)
        studio_args = ["studio", "--url", api, "--api-key", key, "--port", str(studio_port)]
        studio = start(studio_args, tmp / "studio.log")
        processes.append(studio)
        base = f"http://127.0.0.1:{studio_port}/"
        wait_for(lambda: _ok(base + "executions"), "the studio", 60)
        headers = {"Authorization": f"Bearer {key}"}
        wait_for(
            lambda: any(
                s["online"]
                for s in httpx.get(api + "/services", headers=headers).json()["services"]
            ),
            "the worker",
        )
        list_pages(api, headers, options.orchestrations)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            paints = []
            for _ in range(5):
                t0 = time.perf_counter()
                page.goto(base + "executions")
                page.locator(".tabulator-row").first.wait_for()
                paints.append((time.perf_counter() - t0) * 1000)
            print(
                f"executions page, first row drawn: p50 {percentile(paints, 0.5):.0f} ms, "
                f"max {max(paints):.0f} ms ({options.orchestrations} orchestrations stored)"
            )

            greens = []
            for n in range(options.greens):
                body = {
                    "action": {"type": "bench-green", "content": f"green {n}"},
                    "data": [{"field": "job", "value": f"g{n}"}],
                    "plan": {
                        "steps": [
                            {
                                "id": "step1",
                                "component": "slow-worker",
                                "input": {"job": "{{request.data.job}}"},
                                "dependencies": [],
                            }
                        ]
                    },
                }
                execution_id = httpx.post(
                    api + "/orchestrations", json=body, headers=headers
                ).json()["executionId"]
                page.goto(base + f"run?id={execution_id}")
                page.locator("g.orra-node[data-status=COMPLETED]").first.wait_for()
                seen = datetime.now(UTC)
                done = httpx.get(api + f"/orchestrations/{execution_id}", headers=headers).json()
                ended = datetime.fromisoformat(done["stepResults"][0]["endTime"])
                greens.append((seen - ended).total_seconds() * 1000)
            print(
                f"step completed → node green: p50 {percentile(greens, 0.5):.0f} ms, "
                f"max {max(greens):.0f} ms over {len(greens)} runs (poll every 500 ms)"
            )

            rss = psutil.Process(studio.pid)
            ids = [f"o_bench{i:09d}" for i in range(options.views)]
            print(f"studio RSS before the views: {rss.memory_info().rss / 2**20:.0f} MiB")
            for n, execution_id in enumerate(ids, 1):
                page.goto(base + f"run?id={execution_id}")
                page.locator(".orra-run-status [data-status=COMPLETED]").wait_for()
                if n % 100 == 0:
                    print(f"  after {n} run views: {rss.memory_info().rss / 2**20:.0f} MiB")
            browser.close()
        print(machine())
    finally:
        stop_all(processes)


def list_pages(api: str, headers: dict[str, str], count: int) -> None:
    """``GET /orchestrations`` over the filled store: page 1 by each sort, and a deep page by
    offset and by cursor (26 rows, as the executions page asks)."""

    def timed(params: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        times, answer = [], {}
        for _ in range(7):
            t0 = time.perf_counter()
            answer = httpx.get(api + "/orchestrations", params=params, headers=headers).json()
            times.append((time.perf_counter() - t0) * 1000)
        return percentile(times, 0.5), answer

    for sort in ("-createdAt", "createdAt", "status", "-type"):
        took, _ = timed({"limit": 26, "sort": sort})
        print(f"GET /orchestrations page 1, sort={sort}: p50 {took:.1f} ms ({count} stored)")
    deep = count // 2
    took, _ = timed({"limit": 26, "offset": deep})
    print(f"GET /orchestrations offset={deep}: p50 {took:.1f} ms")
    cursor = None
    for _ in range(3):  # walk a few pages to get a cursor in the middle of nowhere special
        _, answer = timed({"limit": 26, **({"cursor": cursor} if cursor else {})})
        cursor = answer["nextCursor"]
    took, _ = timed({"limit": 26, "cursor": cursor})
    print(f"GET /orchestrations by cursor (page 4): p50 {took:.1f} ms")


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
