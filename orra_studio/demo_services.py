"""The four services of the seed example (customer inquiry), written with ``orra_sdk``.

Run them in their own process with ``python -m orra_studio.demo_services URL API_KEY``.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

from orra_sdk import Service, Task
from orra_sdk.running import say_what_happens

from .seed_models import (
    AssistantIn,
    AssistantOut,
    CatalogIn,
    CatalogOut,
    CustomerIn,
    CustomerOut,
    SellerIn,
    SellerOut,
)

__all__ = ["build_demo_services", "main"]


#: what the demo's customer and seller lookups find, whatever the id
CUSTOMER = {"name": "Jane Doe", "company": "TechCorp Inc.", "industry": "Software"}
SELLER = {"name": "John Smith", "department": "Enterprise Sales"}


def build_demo_services(url: str, api_key: str) -> list[Service]:
    customers = Service(
        "customer-data-service",
        description="Retrieves a customer's profile (name, company, industry) by customer id.",
        url=url,
        api_key=api_key,
    )
    catalog = Service(
        "product-catalog-service",
        description="Finds products in the catalog that are relevant to a customer inquiry, "
        "with their features.",
        url=url,
        api_key=api_key,
    )
    sellers = Service(
        "seller-data-service",
        description="Retrieves a seller's profile (name, department) by seller id.",
        url=url,
        api_key=api_key,
    )
    assistant = Service(
        "ai-assistant-service",
        description="Composes a reply to a customer inquiry from the customer's profile, the "
        "relevant products and the seller's profile.",
        url=url,
        api_key=api_key,
    )

    @customers.handler
    async def customer_profile(task: Task[CustomerIn]) -> CustomerOut:
        return CustomerOut(customerProfile={"id": task.input.customerId, **CUSTOMER})

    @catalog.handler
    def relevant_products(request: CatalogIn) -> CatalogOut:  # a sync handler, run in a thread
        return CatalogOut(
            relevantProducts=[
                {
                    "id": "prod001",
                    "name": "Premium Analytics Suite",
                    "features": ["Real-time processing", "AI-driven insights", "CRM integration"],
                }
            ]
        )

    @sellers.handler
    async def seller_profile(task: Task[SellerIn]) -> SellerOut:
        return SellerOut(sellerProfile={"id": task.input.sellerId, **SELLER})

    @assistant.handler
    async def compose(task: Task[AssistantIn]) -> AssistantOut:
        product = task.input.relevantProducts[0]
        features = ", ".join(f.lower() for f in product["features"])
        who = task.input.customerProfile.get("name", "there").split()[0]
        seller = task.input.sellerProfile.get("name", "our team")
        content = (
            f"Hi {who}, thank you for your interest! Based on your inquiry, I'd recommend our "
            f"{product['name']}, which offers {features}. {seller} would be happy to schedule "
            "a demo to show these features in action."
        )
        return AssistantOut(
            content=content, sentTimestamp=datetime.now(UTC).isoformat().replace("+00:00", "Z")
        )

    return [customers, catalog, sellers, assistant]


async def _serve(url: str, api_key: str, names: set[str] | None = None) -> None:
    services = [s for s in build_demo_services(url, api_key) if names is None or s.name in names]
    await asyncio.gather(*(s.run() for s in services))


USAGE = (
    "usage: python -m orra_studio.demo_services [URL API_KEY [NAME,NAME…]]\n"
    "(without URL and key: the server and key of orra's current project, as `orra run` uses)"
)


def main(argv: list[str] | None = None) -> None:
    """``python -m orra_studio.demo_services [URL API_KEY [NAME,NAME…]]`` (default: all four,
    for the current project of the ``orra`` CLI, so the README's commands run as written)."""
    args = argv if argv is not None else sys.argv[1:]
    if len(args) not in (0, 2, 3) or args[:1] in (["-h"], ["--help"]):
        sys.exit(USAGE)
    if not args:
        from .config import Config
        from .errors import ConfigError

        try:
            target = Config.load().target()
        except ConfigError as exc:
            sys.exit(f"{exc}\n{USAGE}")
        if not target.api_key:
            sys.exit(f"no current project with a key: run `orra projects add NAME` first\n{USAGE}")
        args = [target.url, target.api_key]
    names = set(args[2].split(",")) if len(args) == 3 else None
    say_what_happens()  # connected, or cannot reach the control plane and retrying: on stderr
    try:
        asyncio.run(_serve(args[0], args[1], names))
    except KeyboardInterrupt:  # Ctrl-C: stop quietly
        pass


if __name__ == "__main__":
    main()
