"""Services for the re-planning tests (``orra_sdk``): the seed's three lookups, an assistant
that always fails and a backup assistant with the same contract.

``python replan_services.py URL KEY KIND[,KIND…]``; kinds ``lookups``, ``assistant`` (the
seed's ``ai-assistant-service``), ``broken`` (an ``ai-assistant-service`` that always fails),
``backup`` (``backup-assistant-service``; ``BACKUP_FAILS`` makes it fail too), ``quartet``
(``assistant-a`` … ``assistant-d``, four interchangeable assistants: the first three to be
called fail for good, whichever they are; ``QUARTET_FAILS`` makes the fourth fail too). Every
call is noted in ``CALL_LOG`` as ``<service> <input>``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from functools import partial
from pathlib import Path

from service_models import ServiceAt, services_at

from orra_sdk import Service
from orra_studio import seed_models as models  # noqa: E402

#: what the seed's assistant does; its broken twin and the quartet promise the same
ASSISTANT_ABOUT = (
    "Composes a reply to a customer inquiry from the customer's profile, the relevant products "
    "and the seller's profile."
)


def note(service: str, value: object) -> None:
    path = os.environ.get("CALL_LOG")
    if path:
        with Path(path).open("a") as log:
            log.write(f"{service} {json.dumps(value, sort_keys=True)}\n")


def lookups(service_at: ServiceAt) -> list[Service]:
    at = partial(service_at, concurrency=8)
    customers = at("customer-data-service", description="Retrieves a customer's profile by id.")
    catalog = at(
        "product-catalog-service", description="Finds products relevant to a customer inquiry."
    )
    sellers = at("seller-data-service", description="Retrieves a seller's profile by seller id.")

    @customers.handler
    async def customer(request: models.CustomerIn) -> models.CustomerOut:
        note("customer-data-service", request.model_dump())
        return models.CustomerOut(customerProfile={"id": request.customerId, "name": "Jane Doe"})

    @catalog.handler
    async def products(request: models.CatalogIn) -> models.CatalogOut:
        note("product-catalog-service", request.model_dump())
        return models.CatalogOut(relevantProducts=[{"name": "Premium Analytics Suite"}])

    @sellers.handler
    async def seller(request: models.SellerIn) -> models.SellerOut:
        note("seller-data-service", request.model_dump())
        return models.SellerOut(sellerProfile={"id": request.sellerId, "name": "John Smith"})

    return [customers, catalog, sellers]


def assistant(service_at: ServiceAt) -> list[Service]:
    """The seed's assistant, working (with ``lookups``: the whole seed, every call noted)."""
    service = service_at("ai-assistant-service", description=ASSISTANT_ABOUT)

    @service.handler
    async def reply(request: models.AssistantIn) -> models.AssistantOut:
        note("ai-assistant-service", request.inquiry)
        name = request.customerProfile.get("name", "there")
        seller = request.sellerProfile.get("id", "")
        return models.AssistantOut(content=f"Hi {name}, from {seller}.", sentTimestamp="now")

    return [service]


def broken(service_at: ServiceAt) -> list[Service]:
    assistant = service_at("ai-assistant-service", description=ASSISTANT_ABOUT)

    @assistant.handler
    async def reply(request: models.AssistantIn) -> models.AssistantOut:
        note("ai-assistant-service", request.inquiry)
        raise RuntimeError("the model is down")

    return [assistant]


def backup(service_at: ServiceAt) -> list[Service]:
    about = "A fallback: turns a profile, products and a seller into text."
    assistant = service_at("backup-assistant-service", description=about)

    @assistant.handler
    async def reply(request: models.AssistantIn) -> models.AssistantOut:
        note("backup-assistant-service", request.inquiry)
        if os.environ.get("BACKUP_FAILS"):
            raise RuntimeError("the backup model is down too")
        name = request.customerProfile.get("name", "there")
        product = request.relevantProducts[0]["name"]
        return models.AssistantOut(content=f"Hi {name}, meet {product}.", sentTimestamp="now")

    return [assistant]


def quartet(service_at: ServiceAt) -> list[Service]:
    services = []
    for letter in "abcd":
        name = f"assistant-{letter}"
        service = service_at(name, description=ASSISTANT_ABOUT)

        async def reply(request: models.AssistantIn, name: str = name) -> models.AssistantOut:
            note(name, request.inquiry)
            if len(called() & QUARTET) < 4 or os.environ.get("QUARTET_FAILS"):
                raise RuntimeError(f"{name} is down")
            return models.AssistantOut(content=f"Hi from {name}.", sentTimestamp="now")

        service.handler(reply)
        services.append(service)
    return services


QUARTET = {f"assistant-{letter}" for letter in "abcd"}


def called() -> set[str]:
    """The services called so far (from ``CALL_LOG``)."""
    lines = Path(os.environ["CALL_LOG"]).read_text().splitlines()
    return {line.split()[0] for line in lines if line}


KINDS = {
    "lookups": lookups,
    "assistant": assistant,
    "broken": broken,
    "backup": backup,
    "quartet": quartet,
}


async def main(url: str, key: str, kinds: str) -> None:
    service_at = services_at(url, key)
    services = [s for kind in kinds.split(",") for s in KINDS[kind](service_at)]
    await asyncio.gather(*(s.run() for s in services))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
