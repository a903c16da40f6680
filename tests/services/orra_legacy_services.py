"""The seed services written with the original ``orra-sdk`` 0.2.4 (import ``orra``), unmodified
usage as its README shows. Runs in its own virtualenv:
``python orra_legacy_services.py URL KEY [NAME,NAME…]`` (default: all four).
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from functools import partial
from pathlib import Path
from types import ModuleType

from orra import OrraService, Task


def _seed_models() -> ModuleType:
    """``orra_studio/seed_models.py`` by its path: this virtualenv has no Orra Studio."""
    path = Path(__file__).resolve().parents[2] / "orra_studio" / "seed_models.py"
    spec = importlib.util.spec_from_file_location("seed_models", path)
    assert spec is not None and spec.loader is not None
    module = sys.modules["seed_models"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


models = _seed_models()
CustomerIn, CustomerOut = models.CustomerIn, models.CustomerOut
CatalogIn, CatalogOut = models.CatalogIn, models.CatalogOut
SellerIn, SellerOut = models.SellerIn, models.SellerOut
AssistantIn, AssistantOut = models.AssistantIn, models.AssistantOut


async def main(url: str, key: str, names: str = "") -> None:
    service_at = partial(OrraService, url=url, api_key=key)
    customers = service_at(
        name="customer-data-service",
        description="Retrieves a customer's profile by customer id.",
    )
    catalog = service_at(
        name="product-catalog-service",
        description="Finds products relevant to a customer inquiry.",
    )
    sellers = service_at(
        name="seller-data-service",
        description="Retrieves a seller's profile by seller id.",
    )
    assistant = service_at(
        name="ai-assistant-service",
        description="Composes a reply to a customer inquiry from the "
        "customer's profile, relevant products and seller's profile.",
    )

    @customers.handler()
    async def customer(task: Task[CustomerIn]) -> CustomerOut:
        return CustomerOut(customerProfile={"id": task.input.customerId, "name": "Jane Doe"})

    @catalog.handler()
    async def products(task: Task[CatalogIn]) -> CatalogOut:
        return CatalogOut(relevantProducts=[{"id": "prod001", "name": "Premium Analytics Suite"}])

    @sellers.handler()
    async def seller(task: Task[SellerIn]) -> SellerOut:
        return SellerOut(sellerProfile={"id": task.input.sellerId, "name": "John Smith"})

    @assistant.handler()
    async def reply(task: Task[AssistantIn]) -> AssistantOut:
        product = task.input.relevantProducts[0]["name"]
        return AssistantOut(
            content=f"Hi {task.input.customerProfile['name']}, meet {product}.",
            sentTimestamp="2024-09-06T15:45:42Z",
        )

    named = {
        "customer-data-service": customers,
        "product-catalog-service": catalog,
        "seller-data-service": sellers,
        "ai-assistant-service": assistant,
    }
    for name, service in named.items():
        if names and name not in names.split(","):
            continue
        await service.start()  # returns after registering; the connection runs in the loop
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
