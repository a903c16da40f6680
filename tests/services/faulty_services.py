"""Services that misbehave on purpose, written with ``orra_sdk``, for fault-injection tests.

``python faulty_services.py URL KEY KIND[,KIND…]``; kinds:

- ``flaky``: ``flaky-echo`` fails the first ``FAIL_TIMES`` calls for each text, then echoes;
- ``saga``: ``reserve-stock`` and ``charge-card`` (revertible; each revert appends a line to
  ``REVERT_LOG``) and ``ship-order``, which fails on mode ``fail``, aborts on ``abort``, takes
  ``SHIP_DELAY`` seconds on ``slow`` (and notes its start and a cancel in ``REVERT_LOG``);
- ``worker``: ``slow-worker`` takes ``WORK_DELAY`` seconds and notes each start in ``WORK_LOG``.
"""

from __future__ import annotations

import asyncio
import collections
import os
import sys
from pathlib import Path

from service_models import ServiceAt, model, services_at

from orra_sdk import Service, Task, TaskAborted


def _note_revert(service: str, original: dict, context: dict | None) -> None:
    _note("REVERT_LOG", f"{service} {original['orderId']} {(context or {}).get('reason')}")


def _note(variable: str, line: str) -> None:
    path = os.environ.get(variable)
    if path:
        with Path(path).open("a") as log:
            log.write(line + "\n")


EchoIn = model("EchoIn", text=str)
EchoOut = model("EchoOut", echo=str, calls=int)
ReserveIn = model("ReserveIn", orderId=str)
ReserveOut = model("ReserveOut", reservationId=str)
ChargeIn = model("ChargeIn", orderId=str, reservationId=str)
ChargeOut = model("ChargeOut", chargeId=str)
ShipIn = model("ShipIn", orderId=str, chargeId=str, mode=str)
ShipOut = model("ShipOut", trackingId=str)
WorkIn = model("WorkIn", job=str)
WorkOut = model("WorkOut", job=str, pid=int)


def flaky(service_at: ServiceAt) -> list[Service]:
    service = service_at(
        "flaky-echo",
        description="Echoes text, but fails at first",
        policy={"maxAttempts": 4, "initialDelaySeconds": 0.05},
    )
    calls: collections.Counter[str] = collections.Counter()
    fail_times = int(os.environ.get("FAIL_TIMES", "2"))

    @service.handler
    async def echo(task: Task[EchoIn]) -> EchoOut:
        calls[task.input.text] += 1
        if calls[task.input.text] <= fail_times:
            raise RuntimeError(f"transient failure {calls[task.input.text]}")
        return EchoOut(echo=task.input.text, calls=calls[task.input.text])

    return [service]


def saga(service_at: ServiceAt) -> list[Service]:
    reserve = service_at(
        "reserve-stock",
        description="Reserves stock for an order",
        revertible=True,
        concurrency=8,
    )
    charge = service_at(
        "charge-card",
        description="Charges the customer's card for an order",
        revertible=True,
        revert_ttl_ms=int(os.environ.get("CHARGE_TTL_MS", str(24 * 3600 * 1000))),
        concurrency=8,
    )
    ship = service_at("ship-order", description="Ships an order", concurrency=8)

    @reserve.handler
    async def do_reserve(task: Task[ReserveIn]) -> ReserveOut:
        return ReserveOut(reservationId=f"r-{task.input.orderId}")

    @reserve.revert_handler
    async def undo_reserve(original: dict, output: dict, context: dict | None) -> dict:
        _note_revert("reserve-stock", original, context)
        return {"status": "completed"}

    @charge.revert_handler
    async def undo_charge(original: dict, output: dict, context: dict | None) -> dict:
        _note_revert("charge-card", original, context)
        if original["orderId"].startswith("slow"):
            await asyncio.sleep(float(os.environ.get("REVERT_DELAY", "5")))
        if original["orderId"].startswith("stuck"):
            raise RuntimeError("the card network refuses refunds")
        return {"status": "partial", "partial": {"completed": ["refund"], "remaining": ["fee"]}}

    @charge.handler
    async def do_charge(task: Task[ChargeIn]) -> ChargeOut:
        return ChargeOut(chargeId=f"c-{task.input.orderId}")

    @ship.handler
    async def do_ship(task: Task[ShipIn]) -> ShipOut:
        mode = task.input.mode
        if mode == "fail":
            raise RuntimeError("no courier available")
        if mode == "abort":
            raise TaskAborted({"reason": "address is on a sanctions list"})
        if mode == "slow":
            _note("REVERT_LOG", f"ship-order {task.input.orderId} started")
            try:
                await asyncio.sleep(float(os.environ.get("SHIP_DELAY", "30")))
            except asyncio.CancelledError:
                _note("REVERT_LOG", f"ship-order {task.input.orderId} cancelled")
                raise
        return ShipOut(trackingId=f"t-{task.input.orderId}")

    return [reserve, charge, ship]


def worker(service_at: ServiceAt) -> list[Service]:
    service = service_at("slow-worker", description="Does slow work on a job", concurrency=4)

    @service.handler
    async def work(task: Task[WorkIn]) -> WorkOut:
        _note("WORK_LOG", f"{os.getpid()} {task.input.job}")
        await task.push_update({"progress": 50, "job": task.input.job})
        await asyncio.sleep(float(os.environ.get("WORK_DELAY", "3")))
        return WorkOut(job=task.input.job, pid=os.getpid())

    return [service]


KINDS = {"flaky": flaky, "saga": saga, "worker": worker}


async def main(url: str, key: str, kinds: str) -> None:
    services = [s for kind in kinds.split(",") for s in KINDS[kind](services_at(url, key))]
    await asyncio.gather(*(s.run() for s in services))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
