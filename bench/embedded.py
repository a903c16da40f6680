"""The notebook's situation: control plane, services and caller in one process.

    python bench/embedded.py [--runs 40]

An embedded control plane (DuckDB file, offline planner) and two sync ``orra_sdk`` services
that sleep 20 and 30 ms, served from a thread as ``%%orra service`` does, chained by the
planner; ``Client.orchestrate(wait=True)`` runs them one orchestration at a time from the main
thread. Reports p50 and the slowest run: a stall anywhere in the process (one thread holding
the GIL) shows up in the slowest.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from pydantic import BaseModel

from orra_sdk import Service
from orra_studio.notebook.session import Session


class OrderIn(BaseModel):
    orderId: str


class OrderOut(BaseModel):
    orderStatus: str


class ShippingIn(BaseModel):
    orderStatus: str


class ShippingOut(BaseModel):
    estimate: str


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()

    session = Session()
    session.connect(embedded=True)
    client = session.require()
    lookup = Service(
        "order-lookup",
        description="Looks up an order's status by order id",
        url=client.url,
        api_key=client.api_key or "",
    )
    estimate = Service(
        "delivery-estimator",
        description="Estimates the delivery date from an order status",
        url=client.url,
        api_key=client.api_key or "",
    )

    @lookup.handler
    def find(inp: OrderIn) -> OrderOut:
        time.sleep(0.02)
        return OrderOut(orderStatus="shipped")

    @estimate.handler
    def guess(inp: ShippingIn) -> ShippingOut:
        time.sleep(0.03)
        return ShippingOut(estimate="tomorrow")

    samples = []
    try:
        session.services.serve(lookup)
        session.services.serve(estimate)
        for n in range(args.runs):
            started = time.perf_counter()
            done = client.orchestrate(
                "Estimate delivery for an order", {"orderId": f"ORD-{n}"}, wait=True
            )
            samples.append((time.perf_counter() - started) * 1e3)
            assert done["status"] == "COMPLETED", done
    finally:
        session.close()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.platform()}"
    )
    print(
        f"{args.runs} runs (50 ms of handler sleep each): p50 {statistics.median(samples):.1f} ms,"
        f" slowest {max(samples):.1f} ms (run {samples.index(max(samples)) + 1})"
    )


if __name__ == "__main__":
    main()
