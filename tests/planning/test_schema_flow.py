"""The offline planner on catalogs that are not in the eval: the five mistakes it used to make
(issue 18), refusals that name the nearest services, and its speed on large catalogs."""

from __future__ import annotations

import time
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from planning.eval_model import service, services_from

from orra_server.core.jsonschemas import normalise_schema
from orra_server.planning import PlanningRequest, ServiceSpec, indexes, relevance
from orra_server.planning.schema_flow import SchemaFlowPlanner


def _service(registration: dict[str, Any]) -> ServiceSpec:
    """A registration as the planner sees it: its schemas normalised."""
    schema = registration["schema"]
    return ServiceSpec(
        name=registration["name"],
        description=registration["description"],
        input_schema=normalise_schema(schema["input"], where="input"),
        output_schema=normalise_schema(schema["output"], where="output"),
    )


_TABLES = tomllib.loads((Path(__file__).parent / "schema_flow_catalogs.toml").read_text("utf-8"))
SHOP, READING, DESK = (
    [_service(r) for r in services_from(_TABLES[name])] for name in ("shop", "reading", "desk")
)


def plan(
    services: list[ServiceSpec], action: str, content: str, data: dict[str, Any] | None = None
):
    request = PlanningRequest(
        action={"type": action, "content": content}, data=data or {}, services=services
    )
    return SchemaFlowPlanner().plan_sync(request)


def components(outcome) -> list[str]:
    assert outcome.plan is not None, outcome.reason
    return [step.component for step in outcome.plan.steps]


def test_a_question_about_an_orders_contents_gets_no_tracking_step() -> None:
    outcome = plan(SHOP, "order-question", "Which items are in order 4471?", {"orderId": "4471"})
    assert components(outcome) == ["order-details"]


def test_where_is_my_parcel_chains_carrier_then_tracker() -> None:
    outcome = plan(SHOP, "parcel-status", "Where is my parcel?", {"orderId": "4471"})
    assert components(outcome) == ["carrier-lookup", "parcel-tracker"]


def test_a_knowledge_question_goes_to_the_search_service() -> None:
    outcome = plan(SHOP, "support", "How do I enable two-factor login?")
    assert components(outcome) == ["help-center"]
    assert outcome.plan.steps[0].input == {"question": "{{request.action.content}}"}


def test_send_an_invoice_is_not_a_password_reset() -> None:
    outcome = plan(SHOP, "invoice-copy", "Send me a copy of invoice INV-9", {"invoiceId": "INV-9"})
    assert components(outcome) == ["invoice-mailer"]


def test_fetch_then_summarise_is_a_chain_of_two() -> None:
    outcome = plan(
        READING,
        "read",
        "Fetch https://example.org/post and summarise it",
        {"url": "https://example.org/post"},
    )
    assert components(outcome) == ["url-fetcher", "text-summarizer"]
    assert outcome.plan.steps[1].dependencies == ["step1"]


def test_three_goals_in_one_action_are_all_planned_and_shared_steps_run_once() -> None:
    outcome = plan(
        DESK,
        "triage",
        "Classify this ticket, route it and give me the deadline",
        {"message": "The app crashes on start", "priority": "high"},
    )
    used = components(outcome)
    assert sorted(used) == ["sla-calculator", "ticket-classifier", "ticket-router"]
    assert len(used) == len(set(used))  # the classifier feeds the router: one step
    levels = outcome.plan.parallelExecutionGroups
    assert len(levels) == 2 and len(levels[0]) == 2  # classify ∥ deadline, then route


def test_a_part_nothing_serves_is_context_not_a_veto() -> None:
    """Issue 28: refuse only when no clause yields work; the part that matched nothing is
    named in the plan's provenance, so a preview shows what was not planned."""
    content = "Classify this ticket and book a meeting room for tomorrow"
    outcome = plan(DESK, "triage", content, {"message": "The app crashes", "priority": "low"})
    assert components(outcome) == ["ticket-classifier"]
    assert outcome.provenance["context"] == ["book a meeting room for tomorrow"]


def test_a_refusal_names_the_closest_service_and_why() -> None:
    outcome = plan(DESK, "event", "Plan my wedding reception")
    assert outcome.plan is None
    assert "no registered service does what the action 'event' asks" in outcome.reason
    assert "closest: " in outcome.reason and "shares no word" in outcome.reason
    near = plan(DESK, "party", "Please arrange a birthday cake with candles for our loyal customer")
    assert near.plan is None
    # nothing here arranges anything: the act asked for is named, and the closest service
    assert "no service here does 'arrange'; closest: customer-profile" in near.reason


@pytest.mark.parametrize("count", [10, 50, 200])
def test_the_right_service_is_found_among_many_that_share_words(count: int) -> None:
    """How long this takes is bench/plan_speed.py's to measure (a timed test fails on a busy
    machine, as one did on CI): here, that a large catalog changes nothing in the answer."""
    services = [
        _service(
            service(
                f"service-{i}",
                f"Handles task number {i} about topic{i % 17} and area{i % 11}.",
                {f"input{i}": "string"},
                {f"output{i}": "string"},
            )
        )
        for i in range(count)
    ] + DESK
    outcome = plan(services, "triage", "Classify this ticket", {"message": "crash"})
    assert components(outcome) == ["ticket-classifier"]


@pytest.mark.parametrize(
    "content",
    [
        "x" * 100_000,  # one word: it was matched against e-mail addresses from every letter
        "cancle " + "supercalifragilistic" * 4_999,
        "send me " + "a@" * 49_996,
        "I want a " + "b" * 99_000 + " please",
        "the machine that made " * 4_500,
    ],
    ids=["one-word", "misspelt-verb", "addresses", "wish", "pointers"],
)
def test_a_hostile_action_is_read_in_linear_time_and_quoted_short(content: str) -> None:
    """An action may be 100,000 characters: reading it must not be quadratic (a 100,000-letter
    word took 11 s before), and a refusal quotes it shortened."""
    started = time.monotonic()
    outcome = plan(DESK, "t", content)
    assert time.monotonic() - started < 3.0
    assert outcome.plan is None and len(outcome.reason) < 1_000


def test_hostile_words_are_not_remembered() -> None:
    """The planner's word caches (stems, spelling, Englishness, terms of short texts) are keyed
    by words: a client sending many long distinct words must not make them hold megabytes.
    Asserted on the caches themselves (memory traced across the process counted other threads'
    allocations too, and tracing the stemmer's took minutes)."""
    caches = [
        relevance._cached_stem,
        relevance._spelled,
        relevance._english_stem,
        relevance._cached_terms,
    ]
    plan(DESK, "t", "cancle a")  # the short words, remembered once
    before = [cache.cache_info().currsize for cache in caches]
    for letter in "abcdef":
        plan(DESK, "t", f"cancle {letter * 20_000}")  # 120,000 letters in six words
    assert [cache.cache_info().currsize for cache in caches] == before


def test_a_catalogs_index_is_built_once_and_a_changed_registration_is_a_new_catalog() -> None:
    """The index is kept by the services' names, descriptions and schemas: the same catalog
    planned again reuses it (what made a plan at 200 services slow), a changed description
    gets a new one, and no more than ``KEPT`` catalogs are kept."""
    first = indexes.index_for(SHOP)
    assert indexes.index_for(list(SHOP)) is first
    changed = [*SHOP[:-1], replace(SHOP[-1], description="Tracks a parcel by its carrier.")]
    assert indexes.index_for(changed) is not first
    for n in range(indexes.KEPT + 5):
        renamed = [replace(SHOP[0], name=f"shop-{n}"), *SHOP[1:]]
        indexes.index_for(renamed)
    assert len(indexes._kept) == indexes.KEPT
    assert indexes.index_for(SHOP) is not first  # the oldest went first
    # a plan's outcome is the same with a kept index as with a new one
    outcome = plan(SHOP, "order-question", "Which items are in order 4471?", {"orderId": "4471"})
    assert components(outcome) == ["order-details"]
