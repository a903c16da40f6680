"""What checking a pooled PostgreSQL connection before every read would cost.

    python bench/pg_read_check.py [--reads 3000] [--rounds 3]

A throwaway PostgreSQL server (durable settings), a ``psycopg_pool`` pool as the read pool is
configured, ``SELECT 1`` read ``--reads`` times, with and without psycopg_pool's
``check=ConnectionPool.check_connection``, alternating. The store does not check before every
read (docs/decisions.md, "The database being away is a 503"); this is the number behind that.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from harness import machine, percentile, throwaway_postgres  # noqa: E402
from psycopg.rows import dict_row  # noqa: E402
from psycopg_pool import ConnectionPool  # noqa: E402


def _latencies(url: str, reads: int, check: bool) -> list[float]:
    pool = ConnectionPool(
        url,
        min_size=1,
        max_size=8,
        kwargs={"autocommit": True, "row_factory": dict_row},
        check=ConnectionPool.check_connection if check else None,
        open=True,
    )
    try:
        pool.wait()
        found = []
        for _ in range(reads):
            started = time.perf_counter()
            with pool.connection() as connection:
                connection.execute("SELECT 1").fetchall()
            found.append((time.perf_counter() - started) * 1e6)
        return found
    finally:
        pool.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(machine())
    print(f"{'round':<6} {'pool':<22} {'p50 µs':>8} {'p90 µs':>8}")
    with throwaway_postgres() as url:
        for round_ in range(1, args.rounds + 1):
            for check in (False, True):
                lat = _latencies(url, args.reads, check)
                name = "check before each read" if check else "no check"
                p50, p90 = percentile(lat, 0.5), percentile(lat, 0.9)
                print(f"{round_:<6} {name:<22} {p50:>8.0f} {p90:>8.0f}")


if __name__ == "__main__":
    main()
