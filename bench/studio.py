"""What the studio adds on top of the control plane, measured.

    python bench/studio.py [--runs 100] [--history 2000]

Starts a real control plane (``orra serve``, DuckDB file on disk) and the four no-op seed
services (another process), then measures
  * ``Client.orchestrate(wait=True)``: p50 of the seed DAG as the client sees it, long-polling
    only, and with ``on_event`` (the server-sent-event stream a notebook's progress uses);
  * ``orra --help`` and ``orra ps -o json``: wall time of the CLI as a new process;
  * ``/export/steps`` for ``--history`` orchestrations (4 steps each) as Arrow and as JSON, and
    loading all three tables into a local DuckDB as ``%%orra sql`` does before each query.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import seed_setup, wait_for  # noqa: E402

from orra_studio import Client
from orra_studio.demo import SEED_REQUEST
from orra_studio.notebook.session import Analytics

HERE = Path(__file__).resolve().parent
ACTION = SEED_REQUEST["action"]
DATA = {d["field"]: d["value"] for d in SEED_REQUEST["data"]}


def timed(func, runs: int) -> float:
    """Median milliseconds of ``func()`` over ``runs`` calls."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e3


def cli(url: str, key: str, *args: str) -> None:
    env = {**os.environ, "ORRA_URL": url, "ORRA_API_KEY": key}
    subprocess.run(
        [sys.executable, "-m", "orra_studio", *args], env=env, check=True, stdout=subprocess.DEVNULL
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--history", type=int, default=2000)
    args = parser.parse_args()

    results: dict[str, float] = {}
    with seed_setup() as (url, key), Client(url, key) as client:
        for _ in range(20):
            client.orchestrate(ACTION, DATA, wait=True)
        results["orchestrate(wait=True) p50 ms"] = timed(
            lambda: client.orchestrate(ACTION, DATA, wait=True), args.runs
        )
        results["orchestrate(wait=True, on_event) p50 ms"] = timed(
            lambda: client.orchestrate(ACTION, DATA, wait=True, on_event=lambda e: None),
            args.runs,
        )
        results["orra --help ms"] = timed(lambda: cli(url, key, "--help"), 5)
        results["orra ps -o json ms"] = timed(lambda: cli(url, key, "ps", "-o", "json"), 5)

        missing = args.history - client.export("orchestrations").num_rows
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: client.submit(ACTION, DATA), range(max(0, missing))))
        wait_for(
            lambda: client.export("orchestrations", status="COMPLETED").num_rows >= args.history,
            "the history to complete",
            timeout=300,
        )
        rows = client.export("steps").num_rows
        results[f"export steps as Arrow ({rows:,} rows) ms"] = timed(
            lambda: client.export_bytes("steps", "arrow"), 5
        )
        results[f"export steps as JSON ({rows:,} rows) ms"] = timed(
            lambda: client.export_bytes("steps", "json"), 5
        )
        analytics = Analytics()
        results["%%orra sql refresh (3 tables) ms"] = timed(lambda: analytics.refresh(client), 5)
        analytics.close()

    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.platform()}"
    )
    for name, value in results.items():
        print(f"{name:<48} {value:>10.1f}")


if __name__ == "__main__":
    main()
