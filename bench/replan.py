"""The cost of re-planning: from a step failing for good to its replacement's dispatch.

    python bench/replan.py [--runs 30]

Starts ``orra serve`` (DuckDB file on disk, the offline schema-flow planner) and the test
services of tests/test_replanning.py in another process: the seed's three lookups, an
``ai-assistant-service`` that always fails and a ``backup-assistant-service``. Each run posts
the seed's request with ``maxAttempts: 1``, so step4 fails at once and the engine re-plans the
remainder onto the backup. From the orchestration's log (the control plane's own clock):

  * failure → revision: ``step_failed`` to ``plan_revised`` (planning the remainder and the
    commit that records it);
  * failure → dispatch: ``step_failed`` to the new step's ``step_dispatched``;

and, for scale, the whole orchestration (POST → COMPLETED) as the caller sees it.
"""

from __future__ import annotations

import argparse
import copy
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from harness import free_port, machine, percentile, stop_all, wait_for  # noqa: E402

from orra_studio.demo import SEED_REQUEST  # noqa: E402

SERVICES = {"customer-data-service", "product-catalog-service", "seller-data-service"}
SERVICES |= {"ai-assistant-service", "backup-assistant-service"}


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _at(logs: list[dict], event: str, step: str | None = None) -> datetime:
    return next(
        datetime.fromisoformat(e["time"])
        for e in logs
        if e["event"] == event and (step is None or e["stepId"] == step)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    options = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="orra-bench-replan-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "orra_studio.cli", "serve", "--port", str(port)]
        + ["--db", str(tmp / "bench.duckdb")],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    processes = [server]
    try:
        wait_for(lambda: _ok(url + "/health"), "the control plane", 60)
        key = httpx.post(url + "/register/project", json={"name": "bench"}).json()["apiKey"]
        headers = {"Authorization": f"Bearer {key}"}
        script = ROOT / "tests" / "services" / "replan_services.py"
        processes.append(
            subprocess.Popen(
                [sys.executable, str(script), url, key, "lookups,broken,backup"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

        def online() -> bool:
            listed = httpx.get(url + "/services", headers=headers).json()["services"]
            return {s["name"] for s in listed if s["online"]} >= SERVICES

        wait_for(online, "the services", 60)
        body = copy.deepcopy(SEED_REQUEST)
        body.pop("timestamp", None)
        body["options"] = {"maxAttempts": 1}
        to_revision, to_dispatch, whole, sources = [], [], [], []
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            for n in range(options.runs + 3):
                started = time.perf_counter()
                execution_id = client.post("/orchestrations", json=body).json()["executionId"]
                done = client.get(f"/orchestrations/{execution_id}", params={"wait": 30}).json()
                took = (time.perf_counter() - started) * 1000
                if done["status"] != "COMPLETED" or len(done.get("revisions") or []) != 1:
                    raise SystemExit(f"{execution_id} ended {done['status']}: {done.get('error')}")
                logs = client.get(f"/orchestrations/{execution_id}/logs").json()["logs"]

                failed = _at(logs, "step_failed", "step4")
                source = done["revisions"][0]["source"]
                if n < 3 and source == "cache":
                    continue  # warm-up: connections (the first run is the uncached one)
                sources.append(source)
                revised = _at(logs, "plan_revised") - failed
                to_revision.append(revised.total_seconds() * 1000)
                dispatched = _at(logs, "step_dispatched", "step5") - failed
                to_dispatch.append(dispatched.total_seconds() * 1000)
                whole.append(took)
        fresh = [i for i, source in enumerate(sources) if source != "cache"]
        print(
            f"uncached re-plans (schema-flow): {len(fresh)}; failure → plan_revised "
            + ", ".join(f"{to_revision[i]:.2f} ms" for i in fresh)
            + "; failure → dispatch "
            + ", ".join(f"{to_dispatch[i]:.2f} ms" for i in fresh)
        )
        for name, values in (
            ("failure → plan_revised", to_revision),
            ("failure → new step dispatched", to_dispatch),
            ("POST → COMPLETED (with the re-plan)", whole),
        ):
            print(
                f"{name:<38} p50 {percentile(values, 0.5):7.2f} ms   "
                f"p95 {percentile(values, 0.95):7.2f} ms   ({len(values)} runs)"
            )
        print(machine())
    finally:
        stop_all(processes)


if __name__ == "__main__":
    main()
