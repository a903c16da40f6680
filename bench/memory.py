"""Memory benchmark: does the control plane's RSS follow the size of results? (issue 24, item 5)

    python bench/memory.py [--runs 20] [--chars 3000000]

Starts a real control plane (``orra serve``, a DuckDB file on disk) and the test suite's
``text-repeater`` service (``tests/services/sdk_services.py large``, another process, real
websockets), then runs ``--runs`` orchestrations one after another, each answering ``é`` ×
``--chars`` (6 MB of UTF-8 for 3 M), fetches each result once (``GET ?wait``) and prints the
server's RSS and the sizes of the DuckDB file and its write-ahead log after each run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from helpers import ServerProcess, new_project, serving  # noqa: E402

MIB = 1024 * 1024


def request(chars: int) -> dict:
    return {
        "action": {"type": "repeat-text", "content": "repeat the text"},
        "data": [{"field": "text", "value": "é"}, {"field": "times", "value": chars}],
    }


def _size(path: Path) -> int:
    """A file's size in bytes (0 when absent); os.stat only, never opening the database."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--chars", type=int, default=3_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "orra.duckdb").start()
        api, _ = new_project(server.url)
        try:
            assert server.proc is not None
            proc = psutil.Process(server.proc.pid)
            with serving(api, "sdk_services.py", "large", online={"text-repeater"}, cwd=tmp):
                start = proc.memory_info().rss
                print(f"RSS at start: {start / MIB:.0f} MiB")
                began = time.monotonic()
                for number in range(1, args.runs + 1):
                    accepted = api.post("/orchestrations", request(args.chars)).json()
                    done = api.wait_finished(accepted["executionId"], 120)
                    assert done["status"] == "COMPLETED", done.get("error")
                    assert len(done["result"]["repeated"]) == args.chars
                    rss = proc.memory_info().rss
                    wal = _size(Path(tmp) / "orra.duckdb.wal")
                    db = _size(Path(tmp) / "orra.duckdb")
                    print(
                        f"run {number:3d}: RSS {rss / MIB:7.0f} MiB (+{(rss - start) / MIB:.0f}),"
                        f" WAL {wal / MIB:7.1f} MiB, database {db / MIB:7.1f} MiB"
                    )
                took = time.monotonic() - began
                time.sleep(1)
                rss = proc.memory_info().rss
                print(f"1 s later: RSS {rss / MIB:.0f} MiB; {args.runs} runs in {took:.1f} s")
        except BaseException:
            print(server.log()[-3000:])
            raise
        finally:
            server.stop()


if __name__ == "__main__":
    main()
