"""A revertible inventory service and a failing delivery estimator written with the original
``orra-sdk`` 0.2.4 (import ``orra``), as its compensation docs show.
``python orra_legacy_revertible.py URL KEY REVERT_LOG``.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from orra import CompensationResult, CompensationStatus, OrraService, RevertSource, Task
from pydantic import BaseModel


class HoldIn(BaseModel):
    productId: str


class HoldOut(BaseModel):
    holdId: str


class EstimateIn(BaseModel):
    holdId: str


class EstimateOut(BaseModel):
    days: int


async def main(url: str, key: str, revert_log: str) -> None:
    inventory = OrraService(
        name="inventory-service",
        description="Holds stock of a product for an order.",
        url=url,
        api_key=key,
        revertible=True,
    )
    delivery = OrraService(
        name="delivery-estimator",
        description="Estimates delivery days for held stock.",
        url=url,
        api_key=key,
    )

    @inventory.handler()
    async def hold(task: Task[HoldIn]) -> HoldOut:
        return HoldOut(holdId=f"hold-{task.input.productId}")

    @inventory.revert_handler()
    async def release(source: RevertSource[HoldIn, HoldOut]) -> CompensationResult:
        reason = source.context.reason if source.context else None
        with Path(revert_log).open("a") as log:
            log.write(f"release {source.output.holdId} {reason}\n")
        if source.input.productId.startswith("stuck"):
            raise RuntimeError("warehouse system is read-only")
        return CompensationResult(status=CompensationStatus.COMPLETED)

    @delivery.handler()
    async def estimate(task: Task[EstimateIn]) -> EstimateOut:
        raise RuntimeError("no carrier covers this address")

    for service in (inventory, delivery):
        await service.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
