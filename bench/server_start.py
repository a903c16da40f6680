"""How long ``orra serve`` takes from launch to its first ``/health`` answer.

    python bench/server_start.py [--repeat 5]

Every deploy, restart and test server pays it; each start uses a new DuckDB file. Prints the
median and every run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from harness import free_port, machine  # noqa: E402


def one_start(folder: Path, number: int) -> float:
    port = free_port()
    started = time.perf_counter()
    command = [sys.executable, "-m", "orra_studio.cli", "serve"]
    command += ["--db", str(folder / f"start{number}.duckdb"), "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = started + 60
        while time.perf_counter() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                time.sleep(0.02)  # polling the port until it answers is the measurement
        raise SystemExit("the control plane did not answer within 60 s")
    finally:
        process.terminate()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        times = [one_start(Path(folder), n) for n in range(args.repeat)]
    print(
        f"orra serve, launch to /health: median {statistics.median(times):.2f} s "
        f"({', '.join(f'{t:.2f}' for t in times)})"
    )
    print(machine())


if __name__ == "__main__":
    main()
