"""How long the offline schema-flow planner takes as the catalog grows.

    python bench/plan_speed.py [--repeat 200]

Catalogs of 10, 50 and 200 services: the seed's four services plus generated distractors whose
descriptions and fields share words with each other (so the index has real work); the seed's
request is planned ``--repeat`` times in this process (no HTTP, no cache). Prints p50 and p95.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from harness import machine, percentile  # noqa: E402

from helpers import SEED_REGISTRATIONS  # noqa: E402
from orra_server.core.jsonschemas import normalise_schema  # noqa: E402
from orra_server.planning import PlanningRequest, ServiceSpec  # noqa: E402
from orra_server.planning.schema_flow import SchemaFlowPlanner  # noqa: E402

TOPICS = ["invoice", "order", "ticket", "patient", "flight", "contract", "alert", "report"]
VERBS = ["Retrieves", "Checks", "Sends", "Computes", "Lists", "Updates", "Searches", "Writes"]


def _row(body: dict) -> ServiceSpec:
    return ServiceSpec(
        name=body["name"],
        description=body["description"],
        input_schema=normalise_schema(body["schema"]["input"], where="input"),
        output_schema=normalise_schema(body["schema"]["output"], where="output"),
    )


def catalog(size: int) -> list[ServiceSpec]:
    services = [_row(body) for body in SEED_REGISTRATIONS]
    for i in range(size - len(services)):
        topic, verb = TOPICS[i % len(TOPICS)], VERBS[(i // len(TOPICS)) % len(VERBS)]
        services.append(
            _row(
                {
                    "name": f"{topic}-tool-{i}",
                    "description": f"{verb} the {topic} records of a customer for team {i % 7}.",
                    "schema": {
                        "input": {
                            "type": "object",
                            "properties": {f"{topic}Id": {"type": "string"}},
                            "required": [f"{topic}Id"],
                        },
                        "output": {
                            "type": "object",
                            "properties": {f"{topic}Details{i % 5}": {"type": "object"}},
                        },
                    },
                }
            )
        )
    return services


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    options = parser.parse_args()
    planner = SchemaFlowPlanner()
    action = {
        "type": "customer-inquiry",
        "content": "Hi, I am interested in your product. Can you tell me more about its features?",
    }
    data = {"customerId": "cust12345", "sellerId": "sell98765"}
    for size in (10, 50, 200):
        services = catalog(size)
        request = PlanningRequest(action=action, data=data, services=services)
        outcome = planner.plan_sync(request)
        assert outcome.plan is not None and len(outcome.plan.steps) == 4, outcome.reason
        times = []
        for _ in range(options.repeat):
            started = time.perf_counter()
            planner.plan_sync(request)
            times.append((time.perf_counter() - started) * 1000)
        print(
            f"{size:>4} services: p50 {percentile(times, 0.5):6.2f} ms, "
            f"p95 {percentile(times, 0.95):6.2f} ms ({options.repeat} plans of the seed request)"
        )
    print(machine())


if __name__ == "__main__":
    main()
