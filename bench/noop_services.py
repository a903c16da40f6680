"""The seed DAG's four services as no-ops (``orra_sdk``): ``python noop_services.py URL KEY``."""

from __future__ import annotations

import asyncio
import sys

from pydantic import BaseModel

from orra_sdk import Service


class CustomerIn(BaseModel):
    customerId: str


class CustomerOut(BaseModel):
    customerProfile: dict


class CatalogIn(BaseModel):
    inquiry: str


class CatalogOut(BaseModel):
    relevantProducts: list


class SellerIn(BaseModel):
    sellerId: str


class SellerOut(BaseModel):
    sellerProfile: dict


class AssistantIn(BaseModel):
    customerProfile: dict
    relevantProducts: list
    sellerProfile: dict
    inquiry: str


class AssistantOut(BaseModel):
    content: str


def services(url: str, key: str) -> list[Service]:
    def make(name: str, description: str) -> Service:
        return Service(name, description=description, url=url, api_key=key, concurrency=1000)

    customers = make("customer-data-service", "Retrieves a customer's profile by customer id.")
    catalog = make("product-catalog-service", "Finds products relevant to a customer inquiry.")
    sellers = make("seller-data-service", "Retrieves a seller's profile by seller id.")
    assistant = make(
        "ai-assistant-service",
        "Composes a reply to a customer inquiry from the customer's profile, the relevant "
        "products and the seller's profile.",
    )

    @customers.handler
    async def customer(request: CustomerIn) -> CustomerOut:
        return CustomerOut(customerProfile={"id": request.customerId})

    @catalog.handler
    async def products(request: CatalogIn) -> CatalogOut:
        return CatalogOut(relevantProducts=[])

    @sellers.handler
    async def seller(request: SellerIn) -> SellerOut:
        return SellerOut(sellerProfile={"id": request.sellerId})

    @assistant.handler
    async def reply(request: AssistantIn) -> AssistantOut:
        return AssistantOut(content="ok")

    return [customers, catalog, sellers, assistant]


async def main(url: str, key: str) -> None:
    await asyncio.gather(*(s.run() for s in services(url, key)))


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main(sys.argv[1], sys.argv[2]))
